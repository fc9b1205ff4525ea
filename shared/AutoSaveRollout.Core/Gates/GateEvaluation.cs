using AutoSaveRollout.Core.Metrics;
using AutoSaveRollout.Core.Policy;

namespace AutoSaveRollout.Core.Gates;

/// <summary>Chooses the gate of the policy's <c>rollout.gate.mode</c> for a window (issue 11).</summary>
public static class GateEvaluation
{
    /// <summary>
    /// Point mode: <see cref="SloGate.Evaluate"/> and no evidence. Confidence mode: <see cref="ConfidenceGate.Evaluate"/>
    /// with the window's counts from <paramref name="acc"/> at the phase's thresholds and the earlier windows'
    /// <paramref name="lookBack"/> counts (most recent first).
    /// </summary>
    public static (GateResult Result, GateEvidence? Evidence) Evaluate(Measurements m, BatchAccumulator acc, Phase phase,
        RolloutPolicy policy, IReadOnlyList<WindowCounts>? lookBack)
    {
        if (policy.Gate.Mode == GateMode.Point || phase == Phase.Off) return (SloGate.Evaluate(m, phase, policy), null);
        var slo = policy.For(phase).Slo;
        var current = new WindowCounts(m.Completed + m.Errors, m.Errors, m.Completed, acc.CountAboveSeconds(slo.SaveP95Seconds),
            slo.SaveP95Seconds, slo.ErrorRatePct);
        return ConfidenceGate.Evaluate(m, current, lookBack ?? [], phase, policy);
    }
}
