using System.Text.Json.Serialization;
using AutoSaveRollout.Core.Values;

namespace AutoSaveRollout.Core.Gates;

/// <summary>
/// A window's (or a metric's) status as decisions, the dashboard and messages carry it: <c>ok</c>, <c>warn</c>,
/// <c>violation</c>, <c>inconclusive</c> or <c>off</c> (the wire names of <see cref="GateStatus"/>). A string-backed value, so a
/// hand-edited record with another status is still read (and counted as "other").
/// </summary>
[JsonConverter(typeof(StringValueJsonConverter<DecisionStatus>))]
public readonly record struct DecisionStatus : IStringValue<DecisionStatus>
{
    private DecisionStatus(string? value) => Value = value;

    /// <inheritdoc/>
    public string? Value { get; }

    /// <summary><c>ok</c>: within the SLO.</summary>
    public static DecisionStatus Ok { get; } = new("ok");
    /// <summary><c>warn</c>: in the warn band.</summary>
    public static DecisionStatus Warn { get; } = new("warn");
    /// <summary><c>violation</c>: rollback required.</summary>
    public static DecisionStatus Violation { get; } = new("violation");
    /// <summary><c>inconclusive</c>: too few samples.</summary>
    public static DecisionStatus Inconclusive { get; } = new("inconclusive");
    /// <summary><c>off</c>: recorded, not gated.</summary>
    public static DecisionStatus Off { get; } = new("off");

    /// <summary>True for <c>ok</c> and <c>warn</c>: a window that counts toward promotion and clears <c>rollback_active</c>.</summary>
    public bool IsClean => this == Ok || this == Warn;

    /// <inheritdoc/>
    public static DecisionStatus From(string? value) => new(value);

    /// <summary>The status of a gate outcome.</summary>
    public static DecisionStatus Of(GateStatus status) => new(status.ToWire());

    /// <summary>The gate outcome of this status; throws <see cref="FormatException"/> for an unknown one.</summary>
    public GateStatus ToGate() => GateStatusNames.Parse(Value ?? "");

    /// <summary>Any string is a status (unknown ones are kept as they are).</summary>
    public static implicit operator DecisionStatus(string? value) => new(value);

    /// <inheritdoc/>
    public override string ToString() => Value ?? "";
}
