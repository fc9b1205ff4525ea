using System.Text.Json.Serialization;
using AutoSaveRollout.Core.Values;
namespace AutoSaveRollout.Core.Outboxes;

/// <summary>The kind of an outward action (string-backed, like the Azure SDK's <c>BlobErrorCode</c>).</summary>
[JsonConverter(typeof(StringValueJsonConverter<ActionKind>))]
public readonly record struct ActionKind : IStringValue<ActionKind>
{
    private ActionKind(string? value) => Value = value;

    /// <inheritdoc/>
    public string? Value { get; }

    /// <summary>Slack incoming-webhook post: <c>slack</c>.</summary>
    public static ActionKind Slack { get; } = new("slack");
    /// <summary>PagerDuty Events API v2 trigger: <c>pagerduty</c>.</summary>
    public static ActionKind PagerDuty { get; } = new("pagerduty");
    /// <summary>Rollback flag-service call: <c>flag_rollback</c>.</summary>
    public static ActionKind Flag { get; } = new("flag_rollback");
    /// <summary>Runbook log line: <c>runbook</c>.</summary>
    public static ActionKind Runbook { get; } = new("runbook");
    /// <summary>Phase move (promotion) flag-service call: <c>flag_phase</c>.</summary>
    public static ActionKind FlagPhase { get; } = new("flag_phase");
    /// <summary>PagerDuty REST priority change (escalation): <c>pagerduty_priority</c>.</summary>
    public static ActionKind PagerDutyPriority { get; } = new("pagerduty_priority");

    /// <inheritdoc/>
    public static ActionKind From(string? value) => new(value);

    /// <summary>Any string is a kind (an unknown one fails when executed).</summary>
    public static implicit operator ActionKind(string? value) => new(value);

    /// <inheritdoc/>
    public override string ToString() => Value ?? "";
}

/// <summary>The status of an outbox action (string-backed).</summary>
[JsonConverter(typeof(StringValueJsonConverter<ActionStatus>))]
public readonly record struct ActionStatus : IStringValue<ActionStatus>
{
    private ActionStatus(string? value) => Value = value;

    /// <inheritdoc/>
    public string? Value { get; }

    /// <summary>Recorded, not yet confirmed: <c>pending</c>.</summary>
    public static ActionStatus Pending { get; } = new("pending");
    /// <summary>Delivered: <c>done</c>.</summary>
    public static ActionStatus Done { get; } = new("done");
    /// <summary>Rendered and recorded only (<c>--dry-run</c>): <c>dry_run</c>.</summary>
    public static ActionStatus DryRun { get; } = new("dry_run");
    /// <summary>Last attempt failed; retried with the message: <c>failed</c>.</summary>
    public static ActionStatus Failed { get; } = new("failed");

    /// <summary>True for <see cref="Done"/> and <see cref="DryRun"/>: nothing is left to do.</summary>
    public bool IsFinished => this == Done || this == DryRun;

    /// <inheritdoc/>
    public static ActionStatus From(string? value) => new(value);

    /// <summary>Any string is a status.</summary>
    public static implicit operator ActionStatus(string? value) => new(value);

    /// <inheritdoc/>
    public override string ToString() => Value ?? "";
}

/// <summary>One outward action of a decision's report.</summary>
public sealed record OutboxAction
{
    /// <summary>Stable id within the decision, e.g. <c>slack:#incident-autosave:autosave-incident</c>.</summary>
    public required string Id { get; init; }
    /// <summary>What the action does.</summary>
    public required ActionKind Kind { get; init; }
    /// <summary>Channel, <c>pagerduty</c>, <c>flag-service</c> or <c>runbook</c> (never a URL).</summary>
    public required string Target { get; init; }
    /// <summary>Template id rendered.</summary>
    public required string Template { get; init; }
    /// <summary>Rendered text (Slack text is mrkdwn-escaped).</summary>
    public required string Text { get; init; }
    /// <summary>Where it stands.</summary>
    public required ActionStatus Status { get; init; }
    /// <summary>Attempts made.</summary>
    public int Attempts { get; init; }
    /// <summary>Last error (secret-free), if any.</summary>
    public string? LastError { get; init; }
    /// <summary>When it completed.</summary>
    public DateTimeOffset? CompletedAt { get; init; }
    /// <summary>Phase the flag moves from, for flag-service actions (<see cref="ActionKind.Flag"/>, <see cref="ActionKind.FlagPhase"/>); omitted otherwise.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? FromPhase { get; init; }
    /// <summary>Phase the flag moves to, for flag-service actions; omitted otherwise.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? ToPhase { get; init; }

    /// <summary>
    /// The flag-service move of this action: <see cref="FromPhase"/> → <see cref="ToPhase"/>. Actions stored before these
    /// fields existed carry the move only in their id (<c>kind:FROM-&gt;TO</c>), which is read then. Throws
    /// <see cref="InvalidOperationException"/> for an action that is not a flag-service move.
    /// </summary>
    public (string From, string To) Phases()
    {
        if (FromPhase is { } from && ToPhase is { } to) return (from, to);
        var colon = Id.IndexOf(':');
        var arrow = colon < 0 ? [] : Id[(colon + 1)..].Split("->");
        return arrow.Length == 2 ? (arrow[0], arrow[1]) : throw new InvalidOperationException($"outbox action {Id} names no phase move");
    }
}

/// <summary>Outbox of one decision (<c>reports/outbox/…</c>): the planned outward actions and their progress.</summary>
public sealed record Outbox
{
    /// <summary>Decision id.</summary>
    public required string DecisionId { get; init; }
    /// <summary>Whether the plan was made in dry-run mode.</summary>
    public required bool DryRun { get; init; }
    /// <summary>Actions in execution order.</summary>
    public required IReadOnlyList<OutboxAction> Actions { get; init; }
}

/// <summary>
/// A lifecycle outbox recorded with its plan before it runs, so a tick after a crash can create and finish it even if the
/// outbox blob was never written.
/// </summary>
/// <param name="Id">Outbox (subject) id, e.g. <c>move-autosave-A-B-…</c>, <c>rca-…</c>, <c>esc-…</c>, <c>daily-20261121</c>.</param>
/// <param name="Plan">The planned actions.</param>
public sealed record PendingOutbox(string Id, IReadOnlyList<OutboxAction> Plan);
