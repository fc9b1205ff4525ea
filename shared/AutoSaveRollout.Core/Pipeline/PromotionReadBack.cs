using System.Text.Json;
using AutoSaveRollout.Core.Gates;
using AutoSaveRollout.Core.Policy;
using AutoSaveRollout.Core.Ports;
using AutoSaveRollout.Core.State;
using AutoSaveRollout.Core.Windows;
using Microsoft.Extensions.Logging;
using AutoSaveRollout.Core.Storage;

namespace AutoSaveRollout.Core.Pipeline;

/// <summary>Promotion eligibility after a reported window, read back from the stored decisions (design section 6).</summary>
/// <param name="blobs">The store holding the decisions.</param>
/// <param name="policy">Promotion rules per phase.</param>
/// <param name="log">Where unreadable decisions are reported.</param>
public sealed class PromotionReadBack(IBlobStore blobs, RolloutPolicy policy, ILogger log)
{
    /// <summary>
    /// Promotion eligibility of the phase in effect after <paramref name="d"/> (its <c>next_phase</c>), from the stored
    /// decisions read back window by window from <paramref name="d"/>'s: at most
    /// <see cref="PromotionEligibility.LookbackLimit"/> windows, stopping at the first missing or unreadable decision, a
    /// window of another phase, a violation or off window, or one compliant window more than the rule requires. Null in off.
    /// </summary>
    public async Task<PromotionStatus?> EvaluatePromotionAsync(DecisionRecord d, CancellationToken ct = default)
    {
        if (!PhaseExtensions.TryParse(d.NextPhase, out var phase) || phase == Phase.Off) return null;
        var rule = policy.For(phase).Promotion;
        var wire = phase.ToWire();
        var newestFirst = new List<WindowOutcome> { new(d.WindowStart, d.Phase, d.Status) };
        var compliant = d.Status.IsClean ? 1 : 0;
        var limit = PromotionEligibility.LookbackLimit(rule.RequiredWindows);
        var start = d.WindowStart;
        while (d.Phase == wire && newestFirst.Count < limit && compliant <= rule.RequiredWindows
               && newestFirst[^1] is { } last && (last.Status.IsClean || last.Status == DecisionStatus.Inconclusive) && last.Phase == wire)
        {
            start -= PromotionEligibility.Window;
            var blob = await blobs.TryGetAsync(StorePaths.Decision(TimeWindow.StartingAt(start)), ct).ConfigureAwait(false);
            if (blob is null) break;
            DecisionRecord earlier;
            try
            {
                earlier = Json.FromBytes<DecisionRecord>(blob.Content);
            }
            catch (JsonException ex)
            {
                log.LogWarning("promotion: decision of window {Window} is unreadable ({Error}); counted as missing", start, ex.Message);
                break;
            }
            newestFirst.Add(new WindowOutcome(earlier.WindowStart, earlier.Phase, earlier.Status));
            if (earlier.Status.IsClean) compliant++;
        }
        newestFirst.Reverse();
        return PromotionEligibility.Evaluate(phase, rule, newestFirst);
    }
}
