using System.Text.Json;
using AutoSaveRollout.Core.Ports;

namespace AutoSaveRollout.Core.Pipeline;

/// <summary>JSON conveniences over the storage and queue ports, shared by the stages.</summary>
public static class PortExtensions
{
    /// <summary>Appends <paramref name="record"/> as one compact JSON line (snake_case, <c>\n</c>-terminated) to the append blob at <paramref name="path"/>.</summary>
    public static Task AppendJsonLineAsync<T>(this IBlobStore blobs, string path, T record, CancellationToken ct = default)
    {
        var bytes = JsonSerializer.SerializeToUtf8Bytes(record, Json.Compact);
        return blobs.AppendAsync(path, (byte[])[.. bytes, (byte)'\n'], ct);
    }

    /// <summary>Creates the queue when missing and enqueues <paramref name="message"/> as compact JSON.</summary>
    public static async Task SendJsonAsync<T>(this IMessageQueue queue, T message, CancellationToken ct = default)
    {
        await queue.CreateIfNotExistsAsync(ct).ConfigureAwait(false);
        await queue.SendAsync(JsonSerializer.Serialize(message, Json.Compact), null, ct).ConfigureAwait(false);
    }

    /// <summary>
    /// Creates the queue when missing and deletes every visible message (each is received with a <paramref name="hold"/>
    /// visibility timeout, then deleted). Returns how many were deleted.
    /// </summary>
    public static async Task<int> DeleteAllVisibleAsync(this IMessageQueue queue, TimeSpan hold, CancellationToken ct = default)
    {
        await queue.CreateIfNotExistsAsync(ct).ConfigureAwait(false);
        var deleted = 0;
        IReadOnlyList<QueueMessage> batch;
        while ((batch = await queue.ReceiveAsync(32, hold, ct).ConfigureAwait(false)).Count > 0)
        {
            foreach (var m in batch) await queue.DeleteAsync(m, ct).ConfigureAwait(false);
            deleted += batch.Count;
        }
        return deleted;
    }
}
