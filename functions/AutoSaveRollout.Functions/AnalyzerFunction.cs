using AutoSaveRollout.Core.Pipeline;
using Microsoft.Azure.Functions.Worker;
using AutoSaveRollout.Core.Storage;

namespace AutoSaveRollout.Functions;

/// <summary>
/// Queue trigger for the Analyzer stage on <c>autosave-analyze</c>. Retries and the <c>-poison</c> queue are the runtime's,
/// configured in host.json <c>extensions.queues</c> (batchSize 1: one window at a time, in order).
/// </summary>
public sealed class AnalyzerFunction(Analyzer analyzer, LastDelivery lastDelivery)
{
    /// <summary>Analyzes the window named by the message (JSON <c>AnalyzeMessage</c>); an exception makes the runtime retry it; on the last
    /// delivery <see cref="LastDelivery"/> writes our dead-letter record first.</summary>
    [Function("Analyzer")]
    public async Task Run([QueueTrigger(StorePaths.AnalyzeQueue, Connection = "AzureWebJobsStorage")] string message, FunctionContext context,
        CancellationToken ct)
    {
        await lastDelivery.RunAsync(StorePaths.AnalyzeQueue, message, context, (m, c) => analyzer.HandleAsync(m, c), ct);
    }
}
