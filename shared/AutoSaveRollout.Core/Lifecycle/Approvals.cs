using System.Globalization;
using AutoSaveRollout.Core.Policy;
using AutoSaveRollout.Core.State;
using AutoSaveRollout.Core.Storage;
using AutoSaveRollout.Core.Windows;
using Microsoft.Extensions.Logging;

namespace AutoSaveRollout.Core.Lifecycle;

/// <summary>
/// What people record in the audit log (design section 9): approvals of the next move, retry-failure reviews and
/// acknowledgement waivers, and the voiding of pending approvals when their phase segment ends.
/// </summary>
internal sealed class Approvals(LifecycleContext context)
{
    /// <summary>The pending approvals of <paramref name="state"/>'s phase segment (same phase, same <c>phase_since</c>).</summary>
    public static List<AuditEntry> OfSegment(IReadOnlyList<AuditEntry> entries, RolloutState state) =>
        AuditLog.PendingApprovals(entries, state.Phase).Where(a => a.PhaseSince == state.PhaseSince).ToList();

    /// <summary>See <see cref="LifecycleService.VoidApprovalsAsync"/>.</summary>
    public async Task<IReadOnlyList<string>> VoidAsync(string phase, string cause, CancellationToken ct)
    {
        var pending = AuditLog.PendingApprovals(await context.Audit.ReadAsync(ct).ConfigureAwait(false), phase);
        if (pending.Count == 0) return [];
        var ids = pending.Select(a => a.Id).ToList();
        await context.Audit.AppendOnceAsync(new AuditEntry
        {
            Id = $"void-{cause}-{phase}", Type = AuditEntryType.ApprovalsVoided, At = context.Now, Flag = context.Policy.Flag, Phase = phase,
            PolicySha256 = context.Policy.Sha256, Approvals = ids, Cause = cause,
        }, ct).ConfigureAwait(false);
        context.Log.LogInformation("phase {Phase}: {Count} pending approval(s) voided by {Cause}", phase, ids.Count, cause);
        return ids;
    }

    /// <summary>
    /// See <see cref="LifecycleService.ApproveAsync"/>. <paramref name="record"/> false (<c>approve --dry-run</c>) checks the
    /// request the same way and returns the entry it would append, writing nothing: a dry-run approval never counts.
    /// </summary>
    public async Task<AuditEntry> ApproveAsync(ApprovalRequest request, CancellationToken ct, bool record = true)
    {
        ArgumentNullException.ThrowIfNull(request);
        var actor = RequireText(request.Approver, "--approver", 100);
        var evidence = request.Evidence is null ? null : RequireEvidenceUrl(request.Evidence);
        var (state, phase) = await RequireActivePhaseAsync(ct).ConfigureAwait(false);
        var target = PromotionEligibility.TargetOf(phase)!;
        if (!string.Equals(request.Target, target, StringComparison.Ordinal))
            throw new LifecycleException($"the rollout is in phase {state.Phase}; the next move is to {target}, not '{request.Target}'");
        var roles = ApproverRoleNames.Names(context.Policy.For(phase).Promotion.Approvers);
        if (!roles.Contains(request.Role, StringComparer.Ordinal))
            throw new LifecycleException($"{state.Phase} → {target} is approved by {string.Join(", ", roles)}; '{request.Role}' is not one of them");

        var entries = await context.Audit.ReadAsync(ct).ConfigureAwait(false);
        if (AuditLog.PendingApprovals(entries, state.Phase)
                .FirstOrDefault(a => a.PhaseSince == state.PhaseSince && a.Role == request.Role && a.Actor == actor) is { } same)
            return same;
        var now = context.Now;
        // Another approval (another approver of the role, or a voided one) may hold the id of this instant: number this one.
        var baseId = $"apr-{now.UtcDateTime.ToString("yyyyMMdd'T'HHmmssfff'Z'", CultureInfo.InvariantCulture)}-{request.Role}";
        var id = baseId;
        for (var n = 2; entries.Any(e => e.Id == id); n++) id = $"{baseId}-{n.ToString(CultureInfo.InvariantCulture)}";
        var entry = new AuditEntry
        {
            Id = id, Type = AuditEntryType.Approval,
            At = now, Flag = context.Policy.Flag, Phase = state.Phase, Target = target, Role = request.Role, Actor = actor, Evidence = evidence,
            PhaseSince = state.PhaseSince, PolicySha256 = context.Policy.Sha256,
        };
        return record ? await context.Audit.AppendOnceAsync(entry, ct).ConfigureAwait(false) : entry;
    }

    /// <summary>See <see cref="LifecycleService.ReviewRetryFailureAsync"/>.</summary>
    public async Task<AuditEntry> ReviewRetryFailureAsync(DateTimeOffset windowStart, string reviewer, string cause, string task, CancellationToken ct)
    {
        var actor = RequireText(reviewer, "--reviewer", 100);
        var note = RequireText(cause, "--cause", 2000);
        var link = RequireText(task, "--task", 2000);
        var window = TimeWindow.StartingAt(windowStart);
        if (!(await EvidenceChecks.ReadRetryFailuresAsync(context.Blobs, context.Log, ct).ConfigureAwait(false)).Any(f => f.WindowStart == window.Start))
            throw new LifecycleException($"no retry failure is recorded for window {window} (see {StorePaths.RetryFailures})");
        var (state, _) = await context.State.ReadAsync(ct).ConfigureAwait(false);
        return await context.Audit.AppendOnceAsync(new AuditEntry
        {
            Id = $"rev-{window.Id}", Type = AuditEntryType.RetryFailureReviewed, At = context.Now, Flag = context.Policy.Flag, Phase = state?.Phase,
            Actor = actor, WindowStart = window.Start, Note = note, Link = link, PolicySha256 = context.Policy.Sha256,
        }, ct).ConfigureAwait(false);
    }

    /// <summary>See <see cref="LifecycleService.WaiveAcknowledgementAsync"/>.</summary>
    public async Task<AuditEntry> WaiveAcknowledgementAsync(string incidentId, string approver, string reason, CancellationToken ct)
    {
        var actor = RequireText(approver, "--approver", 100);
        var note = RequireText(reason, "--reason", 2000);
        var (ledger, _) = await context.Ledger.ReadAsync(ct).ConfigureAwait(false);
        var incident = ledger?.Incidents.FirstOrDefault(i => i.Names().Contains(incidentId, StringComparer.Ordinal))
            ?? throw new LifecycleException($"no incident '{incidentId}' in the ledger ({StorePaths.Incidents})");
        var (state, _) = await context.State.ReadAsync(ct).ConfigureAwait(false);
        return await context.Audit.AppendOnceAsync(new AuditEntry
        {
            Id = $"waive-{incident.Id}-{EvidenceChecks.AcknowledgementCheck}", Type = AuditEntryType.EvidenceWaived, At = context.Now, Flag = context.Policy.Flag,
            Phase = state?.Phase, Role = "governance", Actor = actor, Incidents = [incident.Id], Check = EvidenceChecks.AcknowledgementCheck, Note = note,
            PolicySha256 = context.Policy.Sha256,
        }, ct).ConfigureAwait(false);
    }

    private async Task<(RolloutState State, Phase Phase)> RequireActivePhaseAsync(CancellationToken ct)
    {
        var (state, _) = await context.State.ReadAsync(ct).ConfigureAwait(false);
        if (state is null) throw new LifecycleException("no rollout state yet: the pipeline has not judged any window");
        if (!PhaseExtensions.TryParse(state.Phase, out var phase) || phase == Phase.Off)
            throw new LifecycleException($"the rollout is {state.Phase}: there is no move to approve (a rollback past A turned the feature off)");
        if (state.CompletedAt is { } done)
            throw new LifecycleException($"the rollout is already complete (signed off {done.UtcDateTime:yyyy-MM-dd'T'HH:mm'Z'})");
        return (state, phase);
    }

    private static string RequireText(string? value, string option, int max)
    {
        var v = value?.Trim();
        if (string.IsNullOrEmpty(v)) throw new LifecycleException($"{option} is required");
        if (v.Length > max) throw new LifecycleException($"{option} is {v.Length} characters; at most {max}");
        if (v.Any(char.IsControl)) throw new LifecycleException($"{option} must not contain control characters");
        return v;
    }

    private static string RequireEvidenceUrl(string value)
    {
        var v = RequireText(value, "--evidence", 2000);
        if (!Uri.TryCreate(v, UriKind.Absolute, out var uri) || uri.Scheme is not ("https" or "http"))
            throw new LifecycleException("--evidence must be an absolute http(s) URL");
        if (!string.IsNullOrEmpty(uri.UserInfo)) throw new LifecycleException("--evidence must not embed credentials");
        return v;
    }
}
