using AutoSaveRollout.Core.Outboxes;
using AutoSaveRollout.Core.Pipeline;
using AutoSaveRollout.Core.Policy;
using AutoSaveRollout.Core.Ports;
using AutoSaveRollout.Core.Reporting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace AutoSaveRollout.Core.Lifecycle;

/// <summary>
/// The phase lifecycle (issue "Phase lifecycle"; design sections 1, 6, 6.1 and 9) around the Analyzer's decisions:
/// approvals into the append-only audit log, the one-step phase move when the phase is eligible and every required role
/// approved in this phase (after the evidence checks), voiding approvals on a violation, PagerDuty escalation of
/// unacknowledged incidents, the RCA deadline that steps the phase back, and the phase C daily report.
/// <para>
/// This type composes the jobs, each in its own file: <see cref="Approvals"/> (what people record),
/// <see cref="PhaseMoves"/> with <see cref="EvidenceChecks"/> (the next move), <see cref="IncidentWatch"/> (escalation and the
/// RCA deadline), <see cref="DailyReportJob"/>, <see cref="LifecycleOutboxes"/> (every outward action) and
/// <see cref="LifecycleDashboard"/> (what <c>status</c> and the dashboard show). It is the Reporter's
/// <see cref="IReportFollowUp"/>.
/// </para>
/// <para>
/// <see cref="TickAsync"/> does the time-driven work; the Reporter calls it after every report, the standalone host every
/// minute and the Functions app every 5 minutes. A tick holds the distributed lock <c>lifecycle</c> (another tick in
/// progress makes it return at once). Every outward action goes through an outbox (<see cref="OutboxRunner"/>), so a
/// failed or interrupted action is completed by a later tick and never repeated; phase moves and step backs are written
/// to the rollout state (compare-and-swap) before their flag-service call, like the Analyzer's rollbacks.
/// Every move changes the phase by exactly one step, forward or back.
/// </para>
/// </summary>
public sealed class LifecycleService : IReportFollowUp
{
    /// <summary>Name of the distributed lock a tick holds.</summary>
    public const string LockName = "lifecycle";

    private readonly IDistributedLock _locks;
    private readonly IPagerDutyIncidents? _pagerDuty;
    private readonly LifecycleContext _context;
    private readonly Approvals _approvals;
    private readonly PhaseMoves _moves;
    private readonly IncidentWatch _incidents;
    private readonly DailyReportJob _daily;
    private readonly LifecycleOutboxes _outboxes;
    private readonly LifecycleDashboard _dashboard;

    /// <summary>Creates the service. <paramref name="pagerDuty"/> null: no escalation, and the acknowledgement check fails for real incidents.</summary>
    public LifecycleService(IBlobStore blobs, IDistributedLock locks, RolloutPolicy policy, TemplateRenderer templates, ISlackNotifier slack,
        IRollbackFlagService flags, IPagerDutyIncidents? pagerDuty, TimeProvider time, LifecycleOptions? options = null, ILogger? log = null)
    {
        _locks = locks;
        _pagerDuty = pagerDuty;
        _context = new LifecycleContext(blobs, policy, templates, time, options ?? new LifecycleOptions(), log ?? NullLogger.Instance);
        _outboxes = new LifecycleOutboxes(_context, slack, flags, pagerDuty);
        _approvals = new Approvals(_context);
        _moves = new PhaseMoves(_context, _outboxes, Evidence);
        _incidents = new IncidentWatch(_context, _outboxes, _approvals, pagerDuty, Evidence);
        _daily = new DailyReportJob(_context, _outboxes);
        _dashboard = new LifecycleDashboard(_context);
    }

    /// <summary>The options in force.</summary>
    public LifecycleOptions Options => _context.Options;

    // ---------------------------------------------------------------- inputs from the Reporter and from people

    /// <summary>Adds a triggered incident to the ledger (once per id).</summary>
    public Task RecordIncidentAsync(IncidentRecord incident, CancellationToken ct = default) => _incidents.RecordAsync(incident, ct);

    /// <summary>
    /// Voids every pending approval given in <paramref name="phase"/> (a violation there, or a step back from it) with one
    /// <c>approvals_voided</c> audit entry naming <paramref name="cause"/>. Returns the voided approval ids (none: nothing written).
    /// </summary>
    public Task<IReadOnlyList<string>> VoidApprovalsAsync(string phase, string cause, CancellationToken ct = default) => _approvals.VoidAsync(phase, cause, ct);

    /// <summary>
    /// Records an approval of the next move in the audit log (who, role, when, evidence, phase segment, policy hash) and
    /// returns it; the same approver approving again in the same phase gets the existing entry back. The move itself happens
    /// in <see cref="TickAsync"/>. Throws <see cref="LifecycleException"/> when the rollout is off, complete or not started,
    /// the target is not the next move, the role is not one the move needs, or an argument is malformed.
    /// </summary>
    public Task<AuditEntry> ApproveAsync(ApprovalRequest request, CancellationToken ct = default) => _approvals.ApproveAsync(request, ct);

    /// <summary>
    /// Records that the retry failure of the window starting at <paramref name="windowStart"/> was reviewed (design section
    /// 9: cause identified, prevention task filed). Returns the existing review when there is one. Throws
    /// <see cref="LifecycleException"/> when no retry failure of that window is recorded or an argument is empty.
    /// </summary>
    public Task<AuditEntry> ReviewRetryFailureAsync(DateTimeOffset windowStart, string reviewer, string cause, string task, CancellationToken ct = default) =>
        _approvals.ReviewRetryFailureAsync(windowStart, reviewer, cause, task, ct);

    /// <summary>
    /// Governance waives the acknowledgement check (<c>pagerduty_ack</c>) of incident <paramref name="incidentId"/>, with a
    /// reason: the only way past an acknowledgement that came too late, since it cannot be fixed afterwards. Throws
    /// <see cref="LifecycleException"/> for an unknown incident or an empty argument.
    /// </summary>
    public Task<AuditEntry> WaiveAcknowledgementAsync(string incidentId, string approver, string reason, CancellationToken ct = default) =>
        _approvals.WaiveAcknowledgementAsync(incidentId, approver, reason, ct);

    /// <inheritdoc/>
    public async Task DecisionReportedAsync(DecisionRecord decision, Outbox outbox, CancellationToken ct = default)
    {
        if (Triggered(outbox) is { } at)
            await RecordIncidentAsync(new IncidentRecord
            {
                Id = decision.DecisionId, DedupKey = PagerDutyTriggers.DedupKey(decision), Kind = IncidentKinds.SloViolation, Phase = decision.Phase,
                WindowStart = decision.WindowStart, TriggeredAt = at, Metric = string.Join(",", decision.Violations),
                Command = decision.Rollback?.Command ?? "", DryRun = outbox.DryRun,
            }, ct).ConfigureAwait(false);
        if (decision.RollbackRequired) await VoidApprovalsAsync(decision.Phase, decision.DecisionId, ct).ConfigureAwait(false);
    }

    /// <inheritdoc/>
    public async Task CollectorIncidentReportedAsync(CollectorIncident incident, Outbox outbox, CancellationToken ct = default)
    {
        if (Triggered(outbox) is { } at)
            await RecordIncidentAsync(new IncidentRecord
            {
                Id = incident.IncidentId, DedupKey = PagerDutyTriggers.DedupKey(incident), Kind = IncidentKinds.CollectorRetryExhausted, Phase = incident.Phase,
                WindowStart = incident.WindowStart, TriggeredAt = at, Metric = incident.Metric, Command = ReportPlanner.NoRollbackCommand, DryRun = outbox.DryRun,
            }, ct).ConfigureAwait(false);
    }

    // When the PagerDuty trigger of an outbox went out (or was recorded in dry-run); null while it has not.
    private DateTimeOffset? Triggered(Outbox outbox) =>
        outbox.Actions.FirstOrDefault(a => a.Kind == ActionKind.PagerDuty && a.Status.IsFinished) is { } t
            ? t.CompletedAt ?? _context.Now
            : null;

    // ---------------------------------------------------------------- the tick

    /// <summary>
    /// One lifecycle pass: resume unfinished lifecycle outboxes; poll PagerDuty for unacknowledged incidents and escalate
    /// those unacknowledged after <see cref="LifecycleOptions.EscalateAfter"/>; look for RCAs and step the phase back for
    /// overdue ones; attempt the next move; send a due phase C daily report; refresh the dashboard's lifecycle section.
    /// Returns the move attempt (<see cref="MoveOutcome.None"/> when another tick holds the lock). Storage errors propagate.
    /// </summary>
    public async Task<MoveAttempt> TickAsync(CancellationToken ct = default)
    {
        await using var handle = await _locks.TryAcquireAsync(LockName, TimeSpan.FromSeconds(60), ct).ConfigureAwait(false);
        if (handle is null)
        {
            _context.Log.LogInformation("lifecycle: another tick is in progress; skipping");
            return new MoveAttempt(MoveOutcome.None, null, null, [], []);
        }
        await _outboxes.ResumeAllAsync(ct).ConfigureAwait(false);
        await _incidents.CheckAsync(ct).ConfigureAwait(false);
        await _incidents.EnforceRcaDeadlinesAsync(ct).ConfigureAwait(false);
        var attempt = await _moves.TryAsync(execute: true, ct).ConfigureAwait(false);
        await _daily.SendDueAsync(ct).ConfigureAwait(false);
        await _dashboard.RefreshAsync(ct).ConfigureAwait(false);
        return attempt;
    }

    Task IReportFollowUp.TickAsync(CancellationToken ct) => TickAsync(ct);

    /// <summary>
    /// Where the next move stands, without doing it or announcing a block (<c>approve --dry-run</c>): <see cref="MoveOutcome.Ready"/>
    /// when the next tick would move the phase.
    /// </summary>
    public Task<MoveAttempt> PreviewMoveAsync(CancellationToken ct = default) => _moves.TryAsync(execute: false, ct);

    /// <summary>
    /// <c>approve --dry-run</c>: checks <paramref name="request"/> as <see cref="ApproveAsync"/> does (same
    /// <see cref="LifecycleException"/>s) and previews the next move as if it were recorded, writing nothing: the returned
    /// entry is not in the audit log, so a dry-run approval never counts towards a move.
    /// </summary>
    public async Task<(AuditEntry Approval, MoveAttempt Preview)> PreviewApprovalAsync(ApprovalRequest request, CancellationToken ct = default)
    {
        var entry = await _approvals.ApproveAsync(request, ct, record: false).ConfigureAwait(false);
        return (entry, await _moves.TryAsync(execute: false, ct, [entry]).ConfigureAwait(false));
    }

    /// <summary>The lifecycle as <c>status</c> shows it; null before any rollout state exists.</summary>
    public async Task<LifecycleView?> GetViewAsync(CancellationToken ct = default)
    {
        var (state, _) = await _context.State.ReadAsync(ct).ConfigureAwait(false);
        return state is null ? null : await _dashboard.ViewOfAsync(state, ct).ConfigureAwait(false);
    }

    /// <summary>Runs the evidence checks for the next move now and returns the failures (empty: all pass). Read-only apart from the ledger.</summary>
    public async Task<IReadOnlyList<string>> CheckEvidenceAsync(CancellationToken ct = default)
    {
        var (state, _) = await _context.State.ReadAsync(ct).ConfigureAwait(false);
        return state is null ? ["no rollout state yet"] : await Evidence().RunAsync(state, ct).ConfigureAwait(false);
    }

    private EvidenceChecks Evidence() =>
        new(_context.Blobs, _context.Audit, _context.Ledger, _pagerDuty, _context.Time, _context.Options, _context.Log);
}
