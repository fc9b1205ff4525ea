using AutoSaveRollout.Core.Ports;

namespace AutoSaveRollout.Core.Pipeline;

/// <summary>
/// Stand-in for every outward port in <c>--dry-run</c>: the Reporter never calls it in dry-run, so a call is a bug and
/// throws <see cref="InvalidOperationException"/> rather than sending anything.
/// </summary>
public sealed class DisabledNotifiers : ISlackNotifier, IPagerDutyEvents, IRollbackFlagService, IPagerDutyIncidents
{
    /// <summary>The shared instance.</summary>
    public static readonly DisabledNotifiers Instance = new();

    /// <inheritdoc />
    public Task PostAsync(string channel, string text, CancellationToken cancellationToken = default) => Fail();

    /// <inheritdoc />
    public Task<string> SendAsync(PagerDutyEvent pagerDutyEvent, CancellationToken cancellationToken = default) => Fail<string>();

    /// <inheritdoc />
    public Task RollbackAsync(FlagRollbackRequest request, CancellationToken cancellationToken = default) => Fail();

    /// <inheritdoc />
    public Task SetPhaseAsync(FlagPhaseRequest request, CancellationToken cancellationToken = default) => Fail();

    /// <inheritdoc />
    public Task<PagerDutyIncident?> FindByIncidentKeyAsync(string incidentKey, CancellationToken cancellationToken = default) => Fail<PagerDutyIncident?>();

    /// <inheritdoc />
    public Task SetPriorityAsync(string incidentId, string priorityName, CancellationToken cancellationToken = default) => Fail();

    private static Task Fail() => throw new InvalidOperationException("dry-run: nothing may be sent outside");
    private static Task<T> Fail<T>() => throw new InvalidOperationException("dry-run: nothing may be sent outside");
}
