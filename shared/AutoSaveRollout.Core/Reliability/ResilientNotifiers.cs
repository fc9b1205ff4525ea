using AutoSaveRollout.Core.Ports;
using Polly;

namespace AutoSaveRollout.Core.Reliability;

/// <summary>
/// <see cref="ISlackNotifier"/> that retries the inner notifier under <see cref="RetryPolicy"/>'s Slack limits. The same
/// channel and text are posted on every attempt. Slack has no deduplication, so a post whose response was lost (timeout)
/// can appear twice; every other failure leaves nothing behind.
/// </summary>
public sealed class ResilientSlackNotifier(ISlackNotifier inner, ResiliencePipeline pipeline) : ISlackNotifier
{
    /// <summary>Wraps <paramref name="inner"/> with <paramref name="policy"/>'s Slack pipeline.</summary>
    public ResilientSlackNotifier(ISlackNotifier inner, RetryPolicy policy) : this(inner, policy.Slack()) { }

    /// <inheritdoc />
    public Task PostAsync(string channel, string text, CancellationToken cancellationToken = default) =>
        pipeline.ExecuteAsync(async ct => await inner.PostAsync(channel, text, ct).ConfigureAwait(false), cancellationToken).AsTask();
}

/// <summary>
/// <see cref="IPagerDutyEvents"/> that retries the inner client under <see cref="RetryPolicy"/>'s PagerDuty limits. Every
/// attempt sends the same event with the same <c>dedup_key</c>, so PagerDuty folds repeats into one alert.
/// </summary>
public sealed class ResilientPagerDutyEvents(IPagerDutyEvents inner, ResiliencePipeline pipeline) : IPagerDutyEvents
{
    /// <summary>Wraps <paramref name="inner"/> with <paramref name="policy"/>'s PagerDuty pipeline.</summary>
    public ResilientPagerDutyEvents(IPagerDutyEvents inner, RetryPolicy policy) : this(inner, policy.PagerDuty()) { }

    /// <inheritdoc />
    public Task<string> SendAsync(PagerDutyEvent pagerDutyEvent, CancellationToken cancellationToken = default) =>
        pipeline.ExecuteAsync(async ct => await inner.SendAsync(pagerDutyEvent, ct).ConfigureAwait(false), cancellationToken).AsTask();
}

/// <summary>
/// <see cref="IRollbackFlagService"/> that retries the inner client under <see cref="RetryPolicy"/>'s flag-service limits.
/// Every attempt carries the same decision id as <c>Idempotency-Key</c>, so the service applies the rollback once.
/// </summary>
public sealed class ResilientFlagService(IRollbackFlagService inner, ResiliencePipeline pipeline) : IRollbackFlagService
{
    /// <summary>Wraps <paramref name="inner"/> with <paramref name="policy"/>'s flag-service pipeline.</summary>
    public ResilientFlagService(IRollbackFlagService inner, RetryPolicy policy) : this(inner, policy.FlagService()) { }

    /// <inheritdoc />
    public Task RollbackAsync(FlagRollbackRequest request, CancellationToken cancellationToken = default) =>
        pipeline.ExecuteAsync(async ct => await inner.RollbackAsync(request, ct).ConfigureAwait(false), cancellationToken).AsTask();

    /// <inheritdoc />
    public Task SetPhaseAsync(FlagPhaseRequest request, CancellationToken cancellationToken = default) =>
        pipeline.ExecuteAsync(async ct => await inner.SetPhaseAsync(request, ct).ConfigureAwait(false), cancellationToken).AsTask();
}

/// <summary>
/// <see cref="IPagerDutyIncidents"/> that retries the inner client under <see cref="RetryPolicy"/>'s PagerDuty limits. The
/// lookups are reads and the priority change sets the same priority on every attempt, so a repeat changes nothing more.
/// </summary>
public sealed class ResilientPagerDutyIncidents(IPagerDutyIncidents inner, ResiliencePipeline pipeline) : IPagerDutyIncidents
{
    /// <summary>Wraps <paramref name="inner"/> with <paramref name="policy"/>'s PagerDuty pipeline.</summary>
    public ResilientPagerDutyIncidents(IPagerDutyIncidents inner, RetryPolicy policy) : this(inner, policy.PagerDuty()) { }

    /// <inheritdoc />
    public Task<PagerDutyIncident?> FindByIncidentKeyAsync(string incidentKey, CancellationToken cancellationToken = default) =>
        pipeline.ExecuteAsync(async ct => await inner.FindByIncidentKeyAsync(incidentKey, ct).ConfigureAwait(false), cancellationToken).AsTask();

    /// <inheritdoc />
    public Task SetPriorityAsync(string incidentId, string priorityName, CancellationToken cancellationToken = default) =>
        pipeline.ExecuteAsync(async ct => await inner.SetPriorityAsync(incidentId, priorityName, ct).ConfigureAwait(false), cancellationToken).AsTask();
}
