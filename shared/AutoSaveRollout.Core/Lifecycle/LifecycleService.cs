using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using AutoSaveRollout.Core.Pipeline;
using AutoSaveRollout.Core.Policy;
using AutoSaveRollout.Core.Ports;
using AutoSaveRollout.Core.Reporting;
using AutoSaveRollout.Core.State;
using AutoSaveRollout.Core.Windows;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using AutoSaveRollout.Core.Outboxes;
using AutoSaveRollout.Core.Storage;

namespace AutoSaveRollout.Core.Lifecycle;

/// <summary>Lifecycle settings. Durations default to the design (sections 6.1 and 9).</summary>
public sealed record LifecycleOptions
{
    /// <summary>Record everything, send nothing outside (actions are recorded as <c>dry_run</c>).</summary>
    public bool DryRun { get; init; }
    /// <summary>An incident must be acknowledged within this time of PagerDuty opening it (evidence check): 15 min.</summary>
    public TimeSpan AcknowledgeWithin { get; init; } = TimeSpan.FromMinutes(15);
    /// <summary>Unacknowledged this long after the trigger → escalate: 30 min.</summary>
    public TimeSpan EscalateAfter { get; init; } = TimeSpan.FromMinutes(30);
    /// <summary>An RCA is due this long after the trigger; later the phase steps back: 24 h.</summary>
    public TimeSpan RcaDue { get; init; } = TimeSpan.FromHours(24);
    /// <summary>PagerDuty priority name an escalation raises the incident to: <c>P1</c>.</summary>
    public string EscalationPriority { get; init; } = "P1";
    /// <summary>Largest relative difference between the dashboard and a recomputation from the batches: 0.05 (±5%, a ratio).</summary>
    public double DashboardTolerance { get; init; } = 0.05;
    /// <summary>How many days after an incident's day an RCA file may be dated (<c>reports/rca/&lt;date&gt;.md</c>): 31.</summary>
    public int RcaSearchDays { get; init; } = 31;
    /// <summary>Incidents are polled for acknowledgement for at most this long after the trigger: 14 days.</summary>
    public TimeSpan PollFor { get; init; } = TimeSpan.FromDays(14);
    /// <summary><c>initiated_by</c> of runbook lines the lifecycle writes.</summary>
    public string Initiator { get; init; } = "autosave-rollout-monitor";
    /// <summary>CLI name in printed commands.</summary>
    public string CliName { get; init; } = RollbackPlan.DefaultCliName;
}

/// <summary>A request the lifecycle refuses (bad approval, unknown window or incident). The message says what to do instead.</summary>
public sealed class LifecycleException(string message) : Exception(message);

/// <summary>An approval as given on the command line.</summary>
/// <param name="Target">The move approved: B, C or <c>complete</c>.</param>
/// <param name="Role">sre, dev_lead or governance.</param>
/// <param name="Approver">Who approves (name or e-mail), 1–100 characters, no control characters.</param>
/// <param name="Evidence">Optional absolute http(s) link to the evidence (PR comment, checklist), without credentials.</param>
public sealed record ApprovalRequest(string Target, string Role, string Approver, string? Evidence);

/// <summary>Where the next move stands.</summary>
public enum MoveOutcome
{
    /// <summary>No move possible: phase off, rollout complete, no state yet, or another tick holds the lifecycle lock.</summary>
    None,
    /// <summary>The phase is not (yet) eligible.</summary>
    NotEligible,
    /// <summary>Eligible, but required roles have not approved in this phase.</summary>
    AwaitingApprovals,
    /// <summary>Eligible and approved, but evidence checks failed (<see cref="MoveAttempt.Reasons"/>).</summary>
    Blocked,
    /// <summary>The phase moved (or the rollout completed).</summary>
    Moved,
    /// <summary>Everything holds: the next tick moves the phase (only from <see cref="LifecycleService.PreviewMoveAsync"/>).</summary>
    Ready,
}

/// <summary>Result of one attempt at the next move.</summary>
/// <param name="Outcome">Where it stands.</param>
/// <param name="Phase">Phase in effect before the attempt.</param>
/// <param name="Target">B, C or complete; null when none.</param>
/// <param name="MissingRoles">Required roles without an approval in this phase.</param>
/// <param name="Reasons">Failed evidence checks (Blocked).</param>
/// <param name="MoveId">The move's id (Moved).</param>
public sealed record MoveAttempt(MoveOutcome Outcome, string? Phase, string? Target, IReadOnlyList<string> MissingRoles, IReadOnlyList<string> Reasons,
    string? MoveId = null);

/// <summary>
/// The phase lifecycle (issue "Phase lifecycle"; design sections 1, 6, 6.1 and 9) around the Analyzer's decisions:
/// approvals into the append-only audit log, the one-step phase move when the phase is eligible and every required role
/// approved in this phase (after the evidence checks), voiding approvals on a violation, PagerDuty escalation of
/// unacknowledged incidents, the RCA deadline that steps the phase back, and the phase C daily report.
/// <para>
/// <see cref="TickAsync"/> does the time-driven work; the Reporter calls it after every report, the standalone host every
/// minute and the Functions app every 5 minutes. A tick holds the distributed lock <c>lifecycle</c> (another tick in
/// progress makes it return at once). Every outward action goes through an outbox (<see cref="OutboxRunner"/>), so a
/// failed or interrupted action is completed by a later tick and never repeated; phase moves and step backs are written
/// to the rollout state (compare-and-swap) before their flag-service call, like the Analyzer's rollbacks.
/// Every move changes the phase by exactly one step, forward or back.
/// </para>
/// </summary>
public sealed class LifecycleService
{
    /// <summary>Name of the distributed lock a tick holds.</summary>
    public const string LockName = "lifecycle";

    private readonly IBlobStore _blobs;
    private readonly IDistributedLock _locks;
    private readonly RolloutPolicy _policy;
    private readonly TemplateRenderer _templates;
    private readonly ISlackNotifier _slack;
    private readonly IRollbackFlagService _flags;
    private readonly IPagerDutyIncidents? _pagerDuty;
    private readonly TimeProvider _time;
    private readonly LifecycleOptions _options;
    private readonly ILogger _log;
    private readonly AuditLog _audit;
    private readonly OutboxRunner _outboxes;
    private readonly JsonRecordStore<RolloutState> _state;
    private readonly JsonRecordStore<IncidentLedger> _ledger;
    private readonly JsonRecordStore<LifecycleProgress> _progress;
    private readonly JsonRecordStore<Dashboard> _dashboard;

    /// <summary>Creates the service. <paramref name="pagerDuty"/> null: no escalation, and the acknowledgement check fails for real incidents.</summary>
    public LifecycleService(IBlobStore blobs, IDistributedLock locks, RolloutPolicy policy, TemplateRenderer templates, ISlackNotifier slack,
        IRollbackFlagService flags, IPagerDutyIncidents? pagerDuty, TimeProvider time, LifecycleOptions? options = null, ILogger? log = null)
    {
        _blobs = blobs;
        _locks = locks;
        _policy = policy;
        _templates = templates;
        _slack = slack;
        _flags = flags;
        _pagerDuty = pagerDuty;
        _time = time;
        _options = options ?? new LifecycleOptions();
        _log = log ?? NullLogger.Instance;
        _audit = new AuditLog(blobs, _log);
        _outboxes = new OutboxRunner(blobs, time, _options.DryRun, _log);
        _state = new JsonRecordStore<RolloutState>(blobs, StorePaths.RolloutState);
        _ledger = new JsonRecordStore<IncidentLedger>(blobs, StorePaths.Incidents);
        _progress = new JsonRecordStore<LifecycleProgress>(blobs, StorePaths.Lifecycle);
        _dashboard = new JsonRecordStore<Dashboard>(blobs, StorePaths.Dashboard);
    }

    /// <summary>The options in force.</summary>
    public LifecycleOptions Options => _options;

    // ---------------------------------------------------------------- inputs from the Reporter and from people

    /// <summary>Adds a triggered incident to the ledger (once per id).</summary>
    public Task RecordIncidentAsync(IncidentRecord incident, CancellationToken ct = default) =>
        _ledger.UpdateAsync(l => (l ??= new IncidentLedger()).Incidents.Any(x => x.Id == incident.Id) ? l : l with { Incidents = [.. l.Incidents, incident] }, ct);

    /// <summary>
    /// Voids every pending approval given in <paramref name="phase"/> (a violation there, or a step back from it) with one
    /// <c>approvals_voided</c> audit entry naming <paramref name="cause"/>. Returns the voided approval ids (none: nothing written).
    /// </summary>
    public async Task<IReadOnlyList<string>> VoidApprovalsAsync(string phase, string cause, CancellationToken ct = default)
    {
        var pending = AuditLog.PendingApprovals(await _audit.ReadAsync(ct).ConfigureAwait(false), phase);
        if (pending.Count == 0) return [];
        var ids = pending.Select(a => a.Id).ToList();
        await _audit.AppendOnceAsync(new AuditEntry
        {
            Id = $"void-{cause}-{phase}", Type = AuditTypes.ApprovalsVoided, At = _time.GetUtcNow(), Flag = _policy.Flag, Phase = phase,
            PolicySha256 = _policy.Sha256, Approvals = ids, Cause = cause,
        }, ct).ConfigureAwait(false);
        _log.LogInformation("phase {Phase}: {Count} pending approval(s) voided by {Cause}", phase, ids.Count, cause);
        return ids;
    }

    /// <summary>
    /// Records an approval of the next move in the audit log (who, role, when, evidence, phase segment, policy hash) and
    /// returns it; the same approver approving again in the same phase gets the existing entry back. The move itself happens
    /// in <see cref="TickAsync"/>. Throws <see cref="LifecycleException"/> when the rollout is off, complete or not started,
    /// the target is not the next move, the role is not one the move needs, or an argument is malformed.
    /// </summary>
    public async Task<AuditEntry> ApproveAsync(ApprovalRequest request, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        var actor = RequireText(request.Approver, "--approver", 100);
        var evidence = request.Evidence is null ? null : RequireEvidenceUrl(request.Evidence);
        var (state, phase) = await RequireActivePhaseAsync(ct).ConfigureAwait(false);
        var target = PromotionEligibility.TargetOf(phase)!;
        if (!string.Equals(request.Target, target, StringComparison.Ordinal))
            throw new LifecycleException($"the rollout is in phase {state.Phase}; the next move is to {target}, not '{request.Target}'");
        var roles = ApproverRoleNames.Names(_policy.For(phase).Promotion.Approvers);
        if (!roles.Contains(request.Role, StringComparer.Ordinal))
            throw new LifecycleException($"{state.Phase} → {target} is approved by {string.Join(", ", roles)}; '{request.Role}' is not one of them");

        var entries = await _audit.ReadAsync(ct).ConfigureAwait(false);
        if (AuditLog.PendingApprovals(entries, state.Phase)
                .FirstOrDefault(a => a.PhaseSince == state.PhaseSince && a.Role == request.Role && a.Actor == actor) is { } same)
            return same;
        var now = _time.GetUtcNow();
        // Another approval (another approver of the role, or a voided one) may hold the id of this instant: number this one.
        var baseId = $"apr-{now.UtcDateTime.ToString("yyyyMMdd'T'HHmmssfff'Z'", CultureInfo.InvariantCulture)}-{request.Role}";
        var id = baseId;
        for (var n = 2; entries.Any(e => e.Id == id); n++) id = $"{baseId}-{n.ToString(CultureInfo.InvariantCulture)}";
        return await _audit.AppendOnceAsync(new AuditEntry
        {
            Id = id, Type = AuditTypes.Approval,
            At = now, Flag = _policy.Flag, Phase = state.Phase, Target = target, Role = request.Role, Actor = actor, Evidence = evidence,
            PhaseSince = state.PhaseSince, PolicySha256 = _policy.Sha256,
        }, ct).ConfigureAwait(false);
    }

    /// <summary>
    /// Records that the retry failure of the window starting at <paramref name="windowStart"/> was reviewed (design section
    /// 9: cause identified, prevention task filed). Returns the existing review when there is one. Throws
    /// <see cref="LifecycleException"/> when no retry failure of that window is recorded or an argument is empty.
    /// </summary>
    public async Task<AuditEntry> ReviewRetryFailureAsync(DateTimeOffset windowStart, string reviewer, string cause, string task, CancellationToken ct = default)
    {
        var actor = RequireText(reviewer, "--reviewer", 100);
        var note = RequireText(cause, "--cause", 2000);
        var link = RequireText(task, "--task", 2000);
        var window = TimeWindow.StartingAt(windowStart);
        if (!(await ReadRetryFailuresAsync(ct).ConfigureAwait(false)).Any(f => f.WindowStart == window.Start))
            throw new LifecycleException($"no retry failure is recorded for window {window} (see {StorePaths.RetryFailures})");
        var (state, _) = await _state.ReadAsync(ct).ConfigureAwait(false);
        return await _audit.AppendOnceAsync(new AuditEntry
        {
            Id = $"rev-{window.Id}", Type = AuditTypes.RetryFailureReviewed, At = _time.GetUtcNow(), Flag = _policy.Flag, Phase = state?.Phase,
            Actor = actor, WindowStart = window.Start, Note = note, Link = link, PolicySha256 = _policy.Sha256,
        }, ct).ConfigureAwait(false);
    }

    /// <summary>
    /// Governance waives the acknowledgement check (<c>pagerduty_ack</c>) of incident <paramref name="incidentId"/>, with a
    /// reason: the only way past an acknowledgement that came too late, since it cannot be fixed afterwards. Throws
    /// <see cref="LifecycleException"/> for an unknown incident or an empty argument.
    /// </summary>
    public async Task<AuditEntry> WaiveAcknowledgementAsync(string incidentId, string approver, string reason, CancellationToken ct = default)
    {
        var actor = RequireText(approver, "--approver", 100);
        var note = RequireText(reason, "--reason", 2000);
        var (ledger, _) = await _ledger.ReadAsync(ct).ConfigureAwait(false);
        var incident = ledger?.Incidents.FirstOrDefault(i => i.Names().Contains(incidentId, StringComparer.Ordinal))
            ?? throw new LifecycleException($"no incident '{incidentId}' in the ledger ({StorePaths.Incidents})");
        var (state, _) = await _state.ReadAsync(ct).ConfigureAwait(false);
        return await _audit.AppendOnceAsync(new AuditEntry
        {
            Id = $"waive-{incident.Id}-{EvidenceChecks.AcknowledgementCheck}", Type = AuditTypes.EvidenceWaived, At = _time.GetUtcNow(), Flag = _policy.Flag,
            Phase = state?.Phase, Role = "governance", Actor = actor, Incidents = [incident.Id], Check = EvidenceChecks.AcknowledgementCheck, Note = note,
            PolicySha256 = _policy.Sha256,
        }, ct).ConfigureAwait(false);
    }

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
            _log.LogInformation("lifecycle: another tick is in progress; skipping");
            return new MoveAttempt(MoveOutcome.None, null, null, [], []);
        }
        await ResumeOutboxesAsync(ct).ConfigureAwait(false);
        await CheckIncidentsAsync(ct).ConfigureAwait(false);
        await EnforceRcaDeadlinesAsync(ct).ConfigureAwait(false);
        var attempt = await TryMoveAsync(ct).ConfigureAwait(false);
        await SendDailyReportAsync(ct).ConfigureAwait(false);
        await RefreshDashboardAsync(ct).ConfigureAwait(false);
        return attempt;
    }

    /// <summary>The lifecycle as <c>status</c> shows it; null before any rollout state exists.</summary>
    public async Task<LifecycleView?> GetViewAsync(CancellationToken ct = default)
    {
        var (state, _) = await _state.ReadAsync(ct).ConfigureAwait(false);
        return state is null ? null : await ViewOfAsync(state, ct).ConfigureAwait(false);
    }

    private async Task<LifecycleView> ViewOfAsync(RolloutState state, CancellationToken ct)
    {
        var entries = await _audit.ReadAsync(ct).ConfigureAwait(false);
        var (ledger, _) = await _ledger.ReadAsync(ct).ConfigureAwait(false);
        var (progress, _) = await _progress.ReadAsync(ct).ConfigureAwait(false);
        var active = PhaseExtensions.TryParse(state.Phase, out var phase) && phase != Phase.Off && state.CompletedAt is null;
        var roles = active ? ApproverRoleNames.Names(_policy.For(phase).Promotion.Approvers) : [];
        var approvals = active ? SegmentApprovals(entries, state) : [];
        var now = _time.GetUtcNow();
        return new LifecycleView
        {
            Phase = state.Phase,
            PhaseSince = state.PhaseSince,
            Target = active ? PromotionEligibility.TargetOf(phase) : null,
            CompletedAt = state.CompletedAt,
            RequiredRoles = roles,
            Approvals = approvals.Select(a => new ApprovalView(a.Id, a.Role!, a.Actor!, a.At, a.Evidence)).ToList(),
            MissingRoles = roles.Where(r => approvals.All(a => a.Role != r)).ToList(),
            BlockedReasons = progress?.LastBlockKey is { } key && key.StartsWith(BlockKeyPrefix(state), StringComparison.Ordinal) ? progress.LastBlockReasons : null,
            OpenIncidents = (ledger?.Incidents ?? []).Where(i => i.RcaFoundAt is null).Select(i => new IncidentView(i.Id, i.Phase, i.TriggeredAt,
                i.PagerDutyId is null ? null : $"{i.PagerDutyId}{(i.PagerDutyNumber is { } n ? $" #{n}" : "")}", i.RespondedAt, i.EscalatedAt, i.RcaPath,
                i.TriggeredAt + _options.RcaDue, i.RcaOverdueAt is not null, i.DryRun)).ToList(),
            FastCollectionUntil = state.LastRollbackAt is { } rb && rb + CollectionAfterRollback > now ? rb + CollectionAfterRollback : null,
        };
    }

    /// <summary>How long the Collector runs every 5 minutes after a rollback (design section 6, step 5): 30 min.</summary>
    public static readonly TimeSpan CollectionAfterRollback = TimeSpan.FromMinutes(30);

    /// <summary>Runs the evidence checks for the next move now and returns the failures (empty: all pass). Read-only apart from the ledger.</summary>
    public async Task<IReadOnlyList<string>> CheckEvidenceAsync(CancellationToken ct = default)
    {
        var (state, _) = await _state.ReadAsync(ct).ConfigureAwait(false);
        return state is null ? ["no rollout state yet"] : await Evidence().RunAsync(state, ct).ConfigureAwait(false);
    }

    private EvidenceChecks Evidence() => new(_blobs, _audit, _ledger, _pagerDuty, _time, _options, _log);

    // ---------------------------------------------------------------- moves

    /// <summary>
    /// Where the next move stands, without doing it or announcing a block (<c>approve --dry-run</c>): <see cref="MoveOutcome.Ready"/>
    /// when the next tick would move the phase.
    /// </summary>
    public Task<MoveAttempt> PreviewMoveAsync(CancellationToken ct = default) => TryMoveAsync(ct, execute: false);

    private async Task<MoveAttempt> TryMoveAsync(CancellationToken ct, bool execute = true)
    {
        var (state, _) = await _state.ReadAsync(ct).ConfigureAwait(false);
        if (state is null || !PhaseExtensions.TryParse(state.Phase, out var phase) || phase == Phase.Off || state.CompletedAt is not null)
            return new MoveAttempt(MoveOutcome.None, state?.Phase, null, [], []);
        var target = PromotionEligibility.TargetOf(phase)!;
        var roles = ApproverRoleNames.Names(_policy.For(phase).Promotion.Approvers);
        var approvals = SegmentApprovals(await _audit.ReadAsync(ct).ConfigureAwait(false), state);
        var missing = roles.Where(r => approvals.All(a => a.Role != r)).ToList();

        // Eligible as of the latest decided window, in this phase (a decided-but-unreported window may change it).
        var p = state.Promotion;
        var eligible = p is { Eligible: true } && p.Phase == state.Phase && p.AsOfWindowStart is { } asOf
                       && (state.LastDecidedWindowStart is null || state.LastDecidedWindowStart <= asOf);
        if (!eligible) return new MoveAttempt(MoveOutcome.NotEligible, state.Phase, target, missing, []);
        if (missing.Count > 0) return new MoveAttempt(MoveOutcome.AwaitingApprovals, state.Phase, target, missing, []);

        var reasons = await Evidence().RunAsync(state, ct).ConfigureAwait(false);
        if (reasons.Count > 0)
        {
            if (execute) await AnnounceBlockAsync(state, target, approvals, reasons, ct).ConfigureAwait(false);
            return new MoveAttempt(MoveOutcome.Blocked, state.Phase, target, [], reasons);
        }
        if (!execute) return new MoveAttempt(MoveOutcome.Ready, state.Phase, target, [], []);
        var moveId = await MoveAsync(state, phase, target, approvals, ct).ConfigureAwait(false);
        return moveId is null
            ? new MoveAttempt(MoveOutcome.None, state.Phase, target, [], [])
            : new MoveAttempt(MoveOutcome.Moved, state.Phase, target, [], [], moveId);
    }

    private static List<AuditEntry> SegmentApprovals(IReadOnlyList<AuditEntry> entries, RolloutState state) =>
        AuditLog.PendingApprovals(entries, state.Phase).Where(a => a.PhaseSince == state.PhaseSince).ToList();

    private async Task AnnounceBlockAsync(RolloutState state, string target, IReadOnlyList<AuditEntry> approvals, IReadOnlyList<string> reasons, CancellationToken ct)
    {
        var key = BlockKeyPrefix(state) + string.Join("\n", reasons);
        var (progress, _) = await _progress.ReadAsync(ct).ConfigureAwait(false);
        if (progress?.LastBlockKey == key) return;
        var id = "blocked-" + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(key)))[..12];
        await _audit.AppendOnceAsync(new AuditEntry
        {
            Id = id, Type = AuditTypes.MoveBlocked, At = _time.GetUtcNow(), Flag = _policy.Flag, Phase = state.Phase, Target = target,
            PhaseSince = state.PhaseSince, Approvals = approvals.Select(a => a.Id).ToList(), Reasons = reasons, PolicySha256 = _policy.Sha256,
        }, ct).ConfigureAwait(false);
        var values = new Dictionary<string, string?> { ["phase"] = state.Phase, ["target"] = target, ["reasons"] = string.Join("; ", reasons) };
        var pending = new PendingOutbox(id, [SlackAction(_policy.Channels.Ok, TemplateIds.MoveBlocked, values)]);
        await _progress.UpdateAsync(pr => (pr ?? new LifecycleProgress()) with
        {
            LastBlockKey = key, LastBlockReasons = reasons, PendingOutboxes = [.. (pr?.PendingOutboxes ?? []).Where(x => x.Id != id), pending],
        }, ct).ConfigureAwait(false);
        await RunPendingAsync(pending, ct).ConfigureAwait(false);
        _log.LogWarning("move {Phase} → {Target} blocked: {Reasons}", state.Phase, target, string.Join("; ", reasons));
    }

    private async Task<string?> MoveAsync(RolloutState seen, Phase phase, string target, IReadOnlyList<AuditEntry> approvals, CancellationToken ct)
    {
        var moveId = $"move-{_policy.Flag}-{seen.Phase}-{target}-{Stamp(seen.PhaseSince)}";
        var now = _time.GetUtcNow();
        var complete = target == "complete";
        var approvedBy = string.Join(",", approvals.Select(a => $"{a.Role}={a.Actor}"));
        var exposure = complete ? _policy.For(Phase.C).ExposurePct : _policy.For(PhaseExtensions.TryParse(target, out var t) ? t : phase).ExposurePct;
        var values = new Dictionary<string, string?>
        {
            ["phase"] = seen.Phase, ["target"] = target, ["exposure"] = exposure.ToString("0.##", CultureInfo.InvariantCulture),
            ["approvals"] = approvedBy, ["move_id"] = moveId,
        };
        var transition = new PendingOutbox(moveId,
        [
            new OutboxAction
            {
                Id = $"{ActionKinds.FlagPhase}:{seen.Phase}->{target}", Kind = ActionKinds.FlagPhase, Target = "flag-service", Template = TemplateIds.Promoted,
                Text = $"POST /flags/{_policy.Flag}/phase {seen.Phase}->{target}", Status = ActionStatus.Pending,
            },
            SlackAction(_policy.Channels.Ok, TemplateIds.Promoted, values),
        ]);
        var conflict = false;
        await ParkTransitionAsync(moveId, ct).ConfigureAwait(false);
        await _state.UpdateAsync(s =>
        {
            if (s is null || s.Phase != seen.Phase || s.PhaseSince != seen.PhaseSince || s.CompletedAt is not null)
            {
                conflict = true;
                return s!;
            }
            if (complete) return s with { CompletedAt = now, LastMoveAt = now, UpdatedAt = now, Transition = transition };
            PhaseExtensions.TryParse(target, out var next);
            return s with
            {
                Phase = target, PhaseSince = now, LastMoveAt = now, UpdatedAt = now, Transition = transition,
                Promotion = PromotionEligibility.Evaluate(next, _policy.For(next).Promotion, []),
            };
        }, ct).ConfigureAwait(false);
        if (conflict)
        {
            _log.LogInformation("move {Phase} → {Target}: the rollout state changed meanwhile; trying again at the next tick", seen.Phase, target);
            return null;
        }

        await _audit.AppendOnceAsync(new AuditEntry
        {
            Id = moveId, Type = AuditTypes.PhaseMoved, At = now, Flag = _policy.Flag, Phase = seen.Phase, Target = target, PhaseSince = seen.PhaseSince,
            Approvals = approvals.Select(a => a.Id).ToList(), PolicySha256 = _policy.Sha256,
        }, ct).ConfigureAwait(false);
        await _progress.UpdateAsync(pr => (pr ?? new LifecycleProgress()) with { LastBlockKey = null, LastBlockReasons = null }, ct).ConfigureAwait(false);
        await RunTransitionAsync(transition, ct).ConfigureAwait(false);
        _log.LogInformation("phase {Phase} → {Target} ({MoveId}), approved by {Approvals}", seen.Phase, target, moveId, approvedBy);
        return moveId;
    }

    // ---------------------------------------------------------------- incidents: escalation and RCA

    private async Task CheckIncidentsAsync(CancellationToken ct)
    {
        var (ledger, _) = await _ledger.ReadAsync(ct).ConfigureAwait(false);
        if (ledger is null) return;
        var now = _time.GetUtcNow();
        var evidence = Evidence();
        foreach (var incident in ledger.Incidents)
        {
            var current = incident;
            if (!current.DryRun && _pagerDuty is not null && current.RespondedAt is null && now - current.TriggeredAt <= _options.PollFor)
            {
                PagerDutyIncident? found = null;
                var lookedUp = false;
                try
                {
                    found = await _pagerDuty.FindByIncidentKeyAsync(current.DedupKey, ct).ConfigureAwait(false);
                    lookedUp = true;
                    current = (found is null ? current with { PagerDutyStatus = null, RespondedAt = null } : current.Observed(found)) with { LastCheckError = null };
                }
                catch (DeliveryException ex)
                {
                    _log.LogWarning("incident {Id}: PagerDuty lookup failed: {Error}", current.Id, ex.Message);
                    current = current with { LastCheckError = $"{ex.Target}: {ex.Message}" };
                }
                if (lookedUp && current.RespondedAt is null && current.EscalatedAt is null && now - current.TriggeredAt >= _options.EscalateAfter)
                {
                    var escalation = PlanEscalation(current, found, now);
                    await AddPendingAsync(escalation, ct).ConfigureAwait(false);
                    current = current with { EscalatedAt = now };
                    await SaveIncidentAsync(current, ct).ConfigureAwait(false);
                    await RunPendingAsync(escalation, ct).ConfigureAwait(false);
                    _log.LogWarning("incident {Id} unacknowledged after {Minutes:0} min: escalated", current.Id, (now - current.TriggeredAt).TotalMinutes);
                }
            }
            if (current.RcaFoundAt is null && await evidence.FindRcaAsync(current, ct).ConfigureAwait(false) is { } rca)
                current = current with { RcaPath = rca, RcaFoundAt = now };
            if (current != incident) await SaveIncidentAsync(current, ct).ConfigureAwait(false);
        }
    }

    private Task SaveIncidentAsync(IncidentRecord incident, CancellationToken ct) =>
        _ledger.UpdateAsync(l => l!.Replace(incident), ct);

    private PendingOutbox PlanEscalation(IncidentRecord incident, PagerDutyIncident? found, DateTimeOffset now)
    {
        var values = new Dictionary<string, string?>
        {
            ["phase"] = incident.Phase,
            ["minutes"] = ((int)(now - incident.TriggeredAt).TotalMinutes).ToString(CultureInfo.InvariantCulture),
            ["priority"] = found is null ? "unchanged (not found in PagerDuty)" : _options.EscalationPriority,
            ["incident"] = (incident with { PagerDutyNumber = found?.IncidentNumber ?? incident.PagerDutyNumber }).Label(),
            ["metric"] = incident.Metric,
            ["window"] = TimeWindow.StartingAt(incident.WindowStart).ToString(),
            ["cmd"] = incident.Command,
        };
        var actions = new List<OutboxAction>();
        if (found is not null)
            actions.Add(new OutboxAction
            {
                Id = $"{ActionKinds.PagerDutyPriority}:{_options.EscalationPriority}", Kind = ActionKinds.PagerDutyPriority, Target = found.Id,
                Template = TemplateIds.Escalation, Text = _options.EscalationPriority, Status = ActionStatus.Pending,
            });
        actions.Add(SlackAction(_policy.Channels.Escalation, TemplateIds.Escalation, values));
        return new PendingOutbox($"esc-{incident.Id}", actions);
    }

    private async Task EnforceRcaDeadlinesAsync(CancellationToken ct)
    {
        var (ledger, _) = await _ledger.ReadAsync(ct).ConfigureAwait(false);
        var now = _time.GetUtcNow();
        var overdue = (ledger?.Incidents ?? []).Where(i => i.RcaFoundAt is null && i.RcaOverdueAt is null && now >= i.TriggeredAt + _options.RcaDue).ToList();
        if (overdue.Count == 0) return;

        // All incidents overdue at once are answered by one step back: never more than one phase per step.
        var stepId = $"rca-{overdue[0].Id}";
        var ids = overdue.Select(i => i.Id).ToList();
        string from = "off", to = "off";
        PendingOutbox? transition = null;
        await ParkTransitionAsync(stepId, ct).ConfigureAwait(false);
        await _state.UpdateAsync(s =>
        {
            s ??= new RolloutState { Phase = "off", PhaseSince = now, UpdatedAt = now };
            from = s.Phase;
            if (!PhaseExtensions.TryParse(s.Phase, out var phase) || phase == Phase.Off)
            {
                to = from;
                transition = PlanStepBack(stepId, overdue, from, to);
                return s with { Transition = transition, UpdatedAt = now };
            }
            var back = phase.StepBack();
            to = back.ToWire();
            transition = PlanStepBack(stepId, overdue, from, to);
            return s with
            {
                Phase = to, PhaseSince = now, RollbackActive = true, RollbackDecisionId = stepId, RollbackWindowStart = s.LastDecidedWindowStart,
                LastRollbackAt = now, CompletedAt = null, UpdatedAt = now, Transition = transition,
                Promotion = back == Phase.Off ? null : PromotionEligibility.Evaluate(back, _policy.For(back).Promotion, []),
            };
        }, ct).ConfigureAwait(false);
        var stepped = from != to;
        await _ledger.UpdateAsync(l => l! with
        {
            Incidents = l.Incidents.Select(i => ids.Contains(i.Id) ? i with { RcaOverdueAt = now, StepBackId = stepId } : i).ToList(),
        }, ct).ConfigureAwait(false);
        if (stepped) await VoidApprovalsAsync(from, stepId, ct).ConfigureAwait(false);
        await _audit.AppendOnceAsync(new AuditEntry
        {
            Id = stepId, Type = AuditTypes.PhaseSteppedBack, At = now, Flag = _policy.Flag, Phase = from, Target = to, Incidents = ids,
            Note = "rca_overdue" + (stepped ? "" : " (phase already off: nothing to step back)"), PolicySha256 = _policy.Sha256,
        }, ct).ConfigureAwait(false);
        await RunTransitionAsync(transition!, ct).ConfigureAwait(false);
        _log.LogWarning("RCA overdue for {Incidents}: phase {From} → {To}", string.Join(", ", ids), from, to);
    }

    private PendingOutbox PlanStepBack(string stepId, IReadOnlyList<IncidentRecord> overdue, string from, string to)
    {
        var stepped = from != to;
        var values = new Dictionary<string, string?>
        {
            ["incident"] = string.Join(", ", overdue.Select(i => i.Label())),
            ["raised"] = Telemetry.Rfc3339.FormatMinutes(overdue[0].TriggeredAt),
            ["phase"] = from, ["target"] = stepped ? to : $"{to} (nothing to step back)",
        };
        var actions = new List<OutboxAction>();
        if (stepped)
            actions.Add(new OutboxAction
            {
                Id = $"{ActionKinds.Flag}:{from}->{to}", Kind = ActionKinds.Flag, Target = "flag-service", Template = TemplateIds.RcaOverdue,
                Text = $"POST /flags/{_policy.Flag}/rollback {from}->{to}", Status = ActionStatus.Pending,
            });
        actions.Add(SlackAction(_policy.Channels.Incident, TemplateIds.RcaOverdue, values));
        if (stepped)
        {
            var runbookValues = new Dictionary<string, string?>
            {
                ["cmd"] = RollbackPlan.CommandFor(_options.CliName, _policy.Flag, from, to, "rca_overdue", stepId),
                ["initiator"] = _options.Initiator, ["metric"] = "rca_overdue",
            };
            actions.Add(new OutboxAction
            {
                Id = $"{ActionKinds.Runbook}:{TemplateIds.Rollback}", Kind = ActionKinds.Runbook, Target = "runbook", Template = TemplateIds.Rollback,
                Text = _templates.Render(TemplateIds.Rollback, runbookValues), Status = ActionStatus.Pending,
            });
        }
        return new PendingOutbox(stepId, actions);
    }

    // ---------------------------------------------------------------- daily report (phase C)

    // Once per closed UTC day in which phase C was in effect: reports/daily/<date>.json and autosave-daily to channels.ok.
    private async Task SendDailyReportAsync(CancellationToken ct)
    {
        var (state, _) = await _state.ReadAsync(ct).ConfigureAwait(false);
        var (progress, _) = await _progress.ReadAsync(ct).ConfigureAwait(false);
        if (DailyReport.DueDay(_time.GetUtcNow(), progress?.LastDailyReport, state?.LastDecidedWindowStart) is not { } day) return;
        var (ledger, _) = await _ledger.ReadAsync(ct).ConfigureAwait(false);
        var incidents = (ledger?.Incidents ?? []).Where(i => DateOnly.FromDateTime(i.TriggeredAt.UtcDateTime) == day).Select(i => i.Id).ToList();
        var report = await DailyReport.LoadAsync(_blobs, day, _policy.Flag, incidents, ct).ConfigureAwait(false);
        PendingOutbox? pending = null;
        if (report.PhaseCInEffect(state))
        {
            await _blobs.PutAsync(StorePaths.DailyReport(day), Json.ToBytes(report), WriteCondition.None, ct).ConfigureAwait(false);
            pending = new PendingOutbox($"daily-{day.ToString("yyyyMMdd", CultureInfo.InvariantCulture)}",
                [SlackAction(_policy.Channels.Ok, TemplateIds.Daily, DailyReport.TemplateValues(report))]);
        }
        await _progress.UpdateAsync(pr => (pr ?? new LifecycleProgress()) with
        {
            LastDailyReport = day,
            PendingOutboxes = pending is null || (pr?.PendingOutboxes ?? []).Any(p => p.Id == pending.Id)
                ? pr?.PendingOutboxes ?? []
                : [.. (pr?.PendingOutboxes ?? []), pending],
        }, ct).ConfigureAwait(false);
        if (pending is not null) await RunPendingAsync(pending, ct).ConfigureAwait(false);
    }

    // ---------------------------------------------------------------- outboxes and dashboard

    private OutboxAction SlackAction(string channel, string template, IReadOnlyDictionary<string, string?> values) => new()
    {
        Id = $"{ActionKinds.Slack}:{channel}:{template}", Kind = ActionKinds.Slack, Target = channel, Template = template,
        Text = _templates.Render(template, values, SlackText.Escape), Status = ActionStatus.Pending,
    };

    private Task AddPendingAsync(PendingOutbox pending, CancellationToken ct) =>
        _progress.UpdateAsync(pr => (pr ??= new LifecycleProgress()).PendingOutboxes.Any(p => p.Id == pending.Id)
            ? pr
            : pr with { PendingOutboxes = [.. pr.PendingOutboxes, pending] }, ct);

    private async Task<bool> RunOutboxAsync(PendingOutbox pending, CancellationToken ct)
    {
        var (outbox, _) = await _outboxes.RunAsync(StorePaths.LifecycleOutbox(pending.Id), pending.Id, _time.GetUtcNow(), () => pending.Plan,
            (a, c) => ExecuteAsync(pending.Id, a, c), ct).ConfigureAwait(false);
        return OutboxRunner.IsComplete(outbox);
    }

    // Runs a pending outbox of the progress record; removes it from there once every action is done.
    private async Task RunPendingAsync(PendingOutbox pending, CancellationToken ct)
    {
        if (await RunOutboxAsync(pending, ct).ConfigureAwait(false))
            await _progress.UpdateAsync(pr => (pr ?? new LifecycleProgress()) with
            {
                PendingOutboxes = (pr?.PendingOutboxes ?? []).Where(x => x.Id != pending.Id).ToList(),
            }, ct).ConfigureAwait(false);
    }

    // Runs the rollout state's transition outbox; clears it from the state once every action is done.
    private async Task RunTransitionAsync(PendingOutbox transition, CancellationToken ct)
    {
        if (await RunOutboxAsync(transition, ct).ConfigureAwait(false))
            await _state.UpdateAsync(s => s!.Transition?.Id == transition.Id ? s with { Transition = null } : s, ct).ConfigureAwait(false);
    }

    // A new transition is about to replace the rollout state's one: an unfinished one (e.g. a promotion post that failed)
    // first joins the pending outboxes, which every tick resumes, so its remaining actions are still completed.
    private async Task ParkTransitionAsync(string replacingId, CancellationToken ct)
    {
        var (state, _) = await _state.ReadAsync(ct).ConfigureAwait(false);
        if (state?.Transition is { } old && old.Id != replacingId) await AddPendingAsync(old, ct).ConfigureAwait(false);
    }

    private async Task ResumeOutboxesAsync(CancellationToken ct)
    {
        var (state, _) = await _state.ReadAsync(ct).ConfigureAwait(false);
        if (state?.Transition is { } transition) await RunTransitionAsync(transition, ct).ConfigureAwait(false);
        var (progress, _) = await _progress.ReadAsync(ct).ConfigureAwait(false);
        foreach (var pending in progress?.PendingOutboxes ?? []) await RunPendingAsync(pending, ct).ConfigureAwait(false);
    }

    // Every action is rebuilt from the outbox alone (subject id + action), so a later tick can finish it after a crash.
    private async Task ExecuteAsync(string subjectId, OutboxAction a, CancellationToken ct)
    {
        switch (a.Kind)
        {
            case ActionKinds.Slack:
                await _slack.PostAsync(a.Target, a.Text, ct).ConfigureAwait(false);
                break;
            case ActionKinds.FlagPhase:
            {
                var (from, to) = FromTo(a.Id);
                await _flags.SetPhaseAsync(new FlagPhaseRequest(_policy.Flag, from, to, "promotion_approved", subjectId), ct).ConfigureAwait(false);
                break;
            }
            case ActionKinds.Flag:
            {
                var (from, to) = FromTo(a.Id);
                await _flags.RollbackAsync(new FlagRollbackRequest(_policy.Flag, from, to, "rca_overdue", subjectId), ct).ConfigureAwait(false);
                break;
            }
            case ActionKinds.PagerDutyPriority:
                if (_pagerDuty is null) throw new DeliveryException("pagerduty-api", null, false, "PagerDuty REST API is not configured (PagerDuty:ApiToken)");
                await _pagerDuty.SetPriorityAsync(a.Target, a.Text, ct).ConfigureAwait(false);
                break;
            case ActionKinds.Runbook:
                await Runbook.AppendOnceAsync(_blobs, _time.GetUtcNow(), subjectId, _options.DryRun, a.Text, _log, ct).ConfigureAwait(false);
                break;
            default:
                throw new InvalidOperationException($"unknown lifecycle action kind {a.Kind}");
        }
    }

    private static (string From, string To) FromTo(string actionId)
    {
        var arrow = actionId[(actionId.IndexOf(':') + 1)..].Split("->");
        return (arrow[0], arrow[1]);
    }

    private async Task RefreshDashboardAsync(CancellationToken ct)
    {
        var (dashboard, _) = await _dashboard.ReadAsync(ct).ConfigureAwait(false);
        if (dashboard is null) return;
        var (state, _) = await _state.ReadAsync(ct).ConfigureAwait(false);
        var view = state is null ? null : await ViewOfAsync(state, ct).ConfigureAwait(false);
        await _dashboard.UpdateAsync(db => db! with
        {
            Phase = state?.Phase ?? db.Phase,
            RollbackActive = state?.RollbackActive ?? db.RollbackActive,
            Promotion = state?.Promotion is { } p && (db.Promotion is null || db.Promotion.Phase != p.Phase || p.AsOfWindowStart >= db.Promotion.AsOfWindowStart) ? p : db.Promotion,
            Lifecycle = view,
            UpdatedAt = _time.GetUtcNow(),
        }, ct).ConfigureAwait(false);
    }

    // ---------------------------------------------------------------- helpers

    private async Task<(RolloutState State, Phase Phase)> RequireActivePhaseAsync(CancellationToken ct)
    {
        var (state, _) = await _state.ReadAsync(ct).ConfigureAwait(false);
        if (state is null) throw new LifecycleException("no rollout state yet: the pipeline has not judged any window");
        if (!PhaseExtensions.TryParse(state.Phase, out var phase) || phase == Phase.Off)
            throw new LifecycleException($"the rollout is {state.Phase}: there is no move to approve (a rollback past A turned the feature off)");
        if (state.CompletedAt is { } done)
            throw new LifecycleException($"the rollout is already complete (signed off {done.UtcDateTime:yyyy-MM-dd'T'HH:mm'Z'})");
        return (state, phase);
    }

    // A blocked move's key starts with its phase segment; its reasons are shown only while that segment lasts.
    private static string BlockKeyPrefix(RolloutState s) => $"{s.Phase}|{Stamp(s.PhaseSince)}|";

    private static string Stamp(DateTimeOffset? t) =>
        t is { } v ? v.UtcDateTime.ToString("yyyyMMdd'T'HHmmss'Z'", CultureInfo.InvariantCulture) : "start";

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

    private async Task<IReadOnlyList<CollectorFailure>> ReadRetryFailuresAsync(CancellationToken ct) =>
        await EvidenceChecks.ReadRetryFailuresAsync(_blobs, _log, ct).ConfigureAwait(false);
}
