using System.Text.Json;
using AutoSaveRollout.Core.Ports;

namespace AutoSaveRollout.Core.Storage;

/// <summary>JSON conveniences over the storage and queue ports, shared by the stages.</summary>
public static class PortExtensions
{
    /// <summary>Appends <paramref name="record"/> as one compact JSON line (snake_case, <c>\n</c>-terminated) to the append blob at <paramref name="path"/>.</summary>
    public static Task AppendJsonLineAsync<T>(this IBlobStore blobs, string path, T record, CancellationToken ct = default)
    {
        var bytes = JsonSerializer.SerializeToUtf8Bytes(record, Json.Compact);
        return blobs.AppendAsync(path, (byte[])[.. bytes, (byte)'\n'], ct);
    }

    /// <summary>
    /// Appends <paramref name="record"/> as one compact JSON line like <see cref="AppendJsonLineAsync{T}"/>, but with
    /// characters outside the Basic Multilingual Plane (emoji such as 🚨 and 🚀) written as UTF-8 instead of the
    /// <c>\uD83D\uDEA8</c> surrogate escapes System.Text.Json's encoders always produce. For logs people read
    /// (<c>notifications.jsonl</c>); the records the pipeline hashes or compares (decisions) keep <see cref="Json.Compact"/>.
    /// The line parses to the same value either way.
    /// </summary>
    public static Task AppendReadableJsonLineAsync<T>(this IBlobStore blobs, string path, T record, CancellationToken ct = default)
    {
        var json = Json.UnescapeSupplementary(JsonSerializer.Serialize(record, Json.Compact));
        return blobs.AppendAsync(path, System.Text.Encoding.UTF8.GetBytes(json + "\n"), ct);
    }

    /// <summary>
    /// Reads the JSONL blob at <paramref name="path"/> (as written by <see cref="AppendJsonLineAsync{T}"/>): every line that
    /// deserialises to a non-null <typeparamref name="T"/>, in order; an empty list when the blob is missing. A line that is
    /// not valid JSON for <typeparamref name="T"/> is skipped and reported to <paramref name="onUnreadable"/> with its
    /// 1-based line number; it never throws for bad content.
    /// </summary>
    public static async Task<IReadOnlyList<T>> ReadJsonLinesAsync<T>(this IBlobStore blobs, string path, Action<int, JsonException>? onUnreadable = null,
        CancellationToken ct = default) where T : class
    {
        var blob = await blobs.TryGetAsync(path, ct).ConfigureAwait(false);
        if (blob is null) return [];
        var records = new List<T>();
        var lineNumber = 0;
        foreach (var line in System.Text.Encoding.UTF8.GetString(blob.Content).Split('\n'))
        {
            lineNumber++;
            if (string.IsNullOrWhiteSpace(line)) continue;
            try
            {
                if (JsonSerializer.Deserialize<T>(line, Json.Compact) is { } record) records.Add(record);
            }
            catch (JsonException ex)
            {
                onUnreadable?.Invoke(lineNumber, ex);
            }
        }
        return records;
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
