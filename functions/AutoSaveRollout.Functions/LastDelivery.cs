using AutoSaveRollout.Core.Pipeline;
using AutoSaveRollout.Core.Ports;
using AutoSaveRollout.Hosting;
using Microsoft.Azure.Functions.Worker;
using Microsoft.Extensions.Logging;
using AutoSaveRollout.Core.Storage;

namespace AutoSaveRollout.Functions;

/// <summary>
/// Runs a queue function's handler and, when its last delivery fails (the trigger metadata's <c>DequeueCount</c> has
/// reached host.json <c>extensions.queues.maxDequeueCount</c>), appends our <see cref="DeadLetterRecord"/> to
/// <see cref="QueueProcessor.DeadLetterLog"/> before rethrowing, as the standalone host's <see cref="QueueProcessor"/>
/// does. The runtime then moves the message to <c>&lt;queue&gt;-poison</c>; <c>dlq list</c> joins the copy to the record by
/// queue and text (<see cref="DeadLetterService"/>). A failure to write the record is logged and does not hide the
/// handler's exception.
/// </summary>
public sealed class LastDelivery(PipelinePorts ports, FunctionsPipelineSettings settings, TimeProvider time, ILogger<LastDelivery> log)
{
    /// <summary>Trigger metadata key of the delivery count (Azure WebJobs Storage Queues extension; the host sends it as JSON, e.g. <c>5</c>).</summary>
    public const string DequeueCountKey = "DequeueCount";

    /// <summary>Trigger metadata key of the queue message id.</summary>
    public const string IdKey = "Id";

    /// <summary>Runs <paramref name="handler"/> on <paramref name="message"/> from <paramref name="queue"/>; rethrows its exception.</summary>
    public async Task RunAsync(string queue, string message, FunctionContext context, Func<string, CancellationToken, Task> handler, CancellationToken ct)
    {
        try
        {
            await handler(message, ct);
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !ct.IsCancellationRequested)
        {
            var data = context.BindingContext.BindingData;
            var dequeueCount = ReadInt(data.GetValueOrDefault(DequeueCountKey));
            if (dequeueCount is { } count && count >= settings.HostJson.Queues.MaxDequeueCount)
            {
                var id = data.GetValueOrDefault(IdKey) as string ?? "";
                try
                {
                    var record = DeadLetterRecord.ForLastDelivery(time.GetUtcNow(), queue, id, null, count, message, ex);
                    await ports.Blobs.AppendJsonLineAsync(QueueProcessor.DeadLetterLog, record, CancellationToken.None);
                    log.LogError("{Queue} message {Id} failed its last delivery ({Count}/{Max}); the runtime moves it to {Poison}: {Error}",
                        queue, id, count, settings.HostJson.Queues.MaxDequeueCount, record.PoisonQueue, record.Error);
                }
                catch (Exception writeFailure) when (writeFailure is StorageException or IOException or HttpRequestException)
                {
                    log.LogError("{Queue} message {Id}: the dead-letter record could not be written: {Error}", queue, id, writeFailure.Message);
                }
            }
            throw;
        }
    }

    // The host serialises the long as JSON ("5"); accept a number too.
    private static int? ReadInt(object? value) => value switch
    {
        int i => i,
        long l => (int)Math.Min(l, int.MaxValue),
        string s when int.TryParse(s.Trim().Trim('"'), out var n) => n,
        _ => null,
    };
}
