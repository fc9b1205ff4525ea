using AutoSaveRollout.Core.Pipeline;
using Microsoft.Azure.Functions.Worker;

namespace AutoSaveRollout.Functions;

/// <summary>
/// Queue trigger for the Analyzer stage on <c>autosave-analyze</c>. Retries and the <c>-poison</c> queue are the runtime's,
/// configured in host.json <c>extensions.queues</c> (batchSize 1: one window at a time, in order).
/// </summary>
public sealed class AnalyzerFunction(Analyzer analyzer)
{
    /// <summary>Analyzes the window named by the message (JSON <c>AnalyzeMessage</c>); an exception makes the runtime retry it.</summary>
    [Function("Analyzer")]
    public async Task Run([QueueTrigger(StorePaths.AnalyzeQueue, Connection = "AzureWebJobsStorage")] string message, CancellationToken ct)
    {
        await analyzer.HandleAsync(message, ct);
    }
}
