using AutoSaveRollout.Core.Policy;
using AutoSaveRollout.Core.Ports;
using AutoSaveRollout.Core.Windows;
using AutoSaveRollout.Core.Storage;
using AutoSaveRollout.Core.Gates;

namespace AutoSaveRollout.Core.Pipeline;

/// <summary>
/// Reads the counts a confidence-mode look-back pools (issue 11): the <see cref="GateEvidence.Counts"/> of the up to 23
/// windows before a window, most recent first. Windows without a decision are skipped (only windows that exist count);
/// the walk stops at a decision of another phase, one without counts (point mode) or one counted at other thresholds,
/// so a look-back never crosses a phase change or a policy change. Decisions are immutable once written, so the counts
/// read are cached per window (bounded).
/// </summary>
public sealed class LookBackReader(IBlobStore blobs)
{
    private const int CacheLimit = 4 * 24;
    private readonly Dictionary<DateTimeOffset, DecisionRecord> _cache = new();

    /// <summary>
    /// Counts of the earlier windows of <paramref name="window"/>'s phase segment, most recent first, counted at the
    /// thresholds <paramref name="slo"/> (the phase's, in force now).
    /// </summary>
    public async Task<IReadOnlyList<WindowCounts>> PreviousAsync(TimeWindow window, Phase phase, SloThresholds slo, CancellationToken ct)
    {
        var result = new List<WindowCounts>(ConfidenceGate.MaxWindows - 1);
        var w = window;
        for (var i = 1; i < ConfidenceGate.MaxWindows; i++)
        {
            w = w.Previous;
            var d = await ReadAsync(w, ct).ConfigureAwait(false);
            if (d is null) continue;
            if (d.Phase != phase.ToWire() || d.Gate?.Counts is not { } counts) break;
            if (counts.P95ThresholdS != slo.SaveP95Seconds || counts.ErrorRateThresholdPct != slo.ErrorRatePct) break;
            result.Add(counts);
        }
        return result;
    }

    private async Task<DecisionRecord?> ReadAsync(TimeWindow w, CancellationToken ct)
    {
        if (_cache.TryGetValue(w.Start, out var cached)) return cached;
        var blob = await blobs.TryGetAsync(StorePaths.Decision(w), ct).ConfigureAwait(false);
        var d = blob is null ? null : Json.FromBytes<DecisionRecord>(blob.Content);
        if (d is null) return null; // not decided yet: never cached
        if (_cache.Count >= CacheLimit) _cache.Clear();
        _cache[w.Start] = d;
        return d;
    }
}
