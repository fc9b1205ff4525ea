using System.Text.Json;
using System.Text.Json.Nodes;
using AutoSaveRollout.Core.State;
using AutoSaveRollout.Core.Storage;

namespace AutoSaveRollout.Tests.Support;

/// <summary>
/// Rollout states as a store may hold them, for test set-up: built from their JSON (the stored form), since production
/// code changes a state only through its transitions. <see cref="Edit"/> changes fields of an existing state the same way.
/// </summary>
public static class StoredStates
{
    /// <summary>A state with the given fields (snake_case JSON names, e.g. <c>phase_since</c>); omitted fields take their defaults.</summary>
    public static RolloutState Make(string phase, DateTimeOffset? phaseSince = null, DateTimeOffset? updatedAt = null, bool rollbackActive = false,
        DateTimeOffset? lastRollbackAt = null, DateTimeOffset? lastMoveAt = null, DateTimeOffset? completedAt = null,
        DateTimeOffset? lastDecidedWindowStart = null, PromotionStatus? promotion = null)
    {
        var o = new JsonObject { ["phase"] = phase, ["rollback_active"] = rollbackActive };
        if (phaseSince is { } s) o["phase_since"] = s;
        if (updatedAt is { } u) o["updated_at"] = u;
        if (lastRollbackAt is { } r) o["last_rollback_at"] = r;
        if (lastMoveAt is { } m) o["last_move_at"] = m;
        if (completedAt is { } c) o["completed_at"] = c;
        if (lastDecidedWindowStart is { } d) o["last_decided_window_start"] = d;
        if (promotion is not null) o["promotion"] = JsonSerializer.SerializeToNode(promotion, Json.Pretty);
        return o.Deserialize<RolloutState>(Json.Pretty)!;
    }

    /// <summary><paramref name="state"/> with the JSON fields set by <paramref name="edit"/> (e.g. <c>o["phase_since"] = t</c>).</summary>
    public static RolloutState Edit(this RolloutState state, Action<JsonObject> edit)
    {
        var o = JsonSerializer.SerializeToNode(state, Json.Pretty)!.AsObject();
        edit(o);
        return o.Deserialize<RolloutState>(Json.Pretty)!;
    }
}
