using AutoSaveRollout.Core.Pipeline;
using Microsoft.Azure.Functions.Worker;

namespace AutoSaveRollout.Functions;

/// <summary>
/// Queue trigger for the Reporter stage on <c>autosave-report</c>. Retries and the <c>-poison</c> queue are the runtime's,
/// configured in host.json <c>extensions.queues</c>; the Reporter's outbox keeps a retried message from repeating actions.
/// </summary>
public sealed class ReporterFunction(Reporter reporter)
{
    /// <summary>Reports the decision named by the message (JSON <c>ReportMessage</c>); a failed action makes the runtime retry it.</summary>
    [Function("Reporter")]
    public async Task Run([QueueTrigger(StorePaths.ReportQueue, Connection = "AzureWebJobsStorage")] string message, CancellationToken ct)
    {
        await reporter.HandleAsync(message, ct);
    }
}
