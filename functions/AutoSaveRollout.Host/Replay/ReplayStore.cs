using AutoSaveRollout.Core.Pipeline;
using AutoSaveRollout.Hosting;
using AutoSaveRollout.Core.Storage;

namespace AutoSaveRollout.Host.Replay;

/// <summary>
/// Replay needs an empty store (windows are collected and decided once). The embedded replay folder is scratch space and is
/// simply recreated; on Azure the pipeline's containers and queues are only emptied when the operator asks (<c>--reset</c>).
/// </summary>
public static class ReplayStore
{
    /// <summary>Containers the pipeline writes.</summary>
    public static readonly IReadOnlyList<string> Containers = ["autosave", "decisions", "reports", "state"];

    /// <summary>Queues the pipeline uses, poison queues included.</summary>
    public static readonly IReadOnlyList<string> Queues =
    [
        StorePaths.AnalyzeQueue, StorePaths.ReportQueue,
        QueueProcessor.PoisonQueueName(StorePaths.AnalyzeQueue), QueueProcessor.PoisonQueueName(StorePaths.ReportQueue),
    ];

    /// <summary>True when no pipeline blob exists.</summary>
    public static async Task<bool> IsEmptyAsync(PipelinePorts ports, CancellationToken ct = default)
    {
        foreach (var c in Containers)
            await foreach (var _ in ports.Blobs.ListAsync(c + "/", ct).ConfigureAwait(false))
                return false;
        return true;
    }

    /// <summary>Deletes every pipeline blob and message. Returns the number of blobs deleted.</summary>
    public static async Task<int> ResetAsync(PipelinePorts ports, CancellationToken ct = default)
    {
        var deleted = 0;
        foreach (var c in Containers)
        {
            var paths = new List<string>();
            await foreach (var p in ports.Blobs.ListAsync(c + "/", ct).ConfigureAwait(false)) paths.Add(p);
            foreach (var p in paths)
                if (await ports.Blobs.DeleteAsync(p, ct).ConfigureAwait(false)) deleted++;
        }
        foreach (var name in Queues)
            await ports.Queues.GetQueue(name).ClearAsync(ct).ConfigureAwait(false); // invisible (in-flight) messages too
        return deleted;
    }
}
