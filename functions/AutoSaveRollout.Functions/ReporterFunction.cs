using AutoSaveRollout.Core.Pipeline;
using Microsoft.Azure.Functions.Worker;
using AutoSaveRollout.Core.Storage;

namespace AutoSaveRollout.Functions;

/// <summary>
/// Queue trigger for the Reporter stage on <c>autosave-report</c>. Retries and the <c>-poison</c> queue are the runtime's,
/// configured in host.json <c>extensions.queues</c>; the Reporter's outbox keeps a retried message from repeating actions.
/// </summary>
public sealed class ReporterFunction(Reporter reporter, LastDelivery lastDelivery)
{
    /// <summary>Reports the decision named by the message (JSON <c>ReportMessage</c>); a failed action makes the runtime retry it; on the last
    /// delivery <see cref="LastDelivery"/> writes our dead-letter record first.</summary>
    [Function("Reporter")]
    public async Task Run([QueueTrigger(StorePaths.ReportQueue, Connection = "AzureWebJobsStorage")] string message, FunctionContext context,
        CancellationToken ct)
    {
        await lastDelivery.RunAsync(StorePaths.ReportQueue, message, context, (m, c) => reporter.HandleAsync(m, c), ct);
    }
}
