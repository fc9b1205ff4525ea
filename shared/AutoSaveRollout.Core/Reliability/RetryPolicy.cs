using Polly;
using Polly.Retry;
using AutoSaveRollout.Core.Ports;

namespace AutoSaveRollout.Core.Reliability;

/// <summary>One retry that is about to happen (raised before its wait), for logs and metrics.</summary>
/// <param name="Target">The <see cref="RetryLimits.Target"/>, e.g. <c>slack</c>, <c>collector-source</c>.</param>
/// <param name="FailedAttempt">Number of the attempt that just failed, 1-based (1 = the first call).</param>
/// <param name="Delay">Wait before the next attempt (jittered, or the server's <c>Retry-After</c>).</param>
/// <param name="Error">The failure, <c>{Type}: {Message}</c> (secret-free, at most 500 characters).</param>
/// <param name="StatusCode">HTTP status of the failure, when there was a response.</param>
/// <param name="RetryAfter">The server's <c>Retry-After</c>, when it sent one.</param>
/// <param name="At">When the failure was seen (the policy's clock).</param>
public sealed record RetryAttempt(string Target, int FailedAttempt, TimeSpan Delay, string Error, int? StatusCode, TimeSpan? RetryAfter, DateTimeOffset At);

/// <summary>Settings of a <see cref="RetryPolicy"/>: the limits per target, the clock and the random source.</summary>
public sealed record RetryOptions
{
    /// <summary>Slack webhook posts (default <see cref="RetryLimits.Slack"/>).</summary>
    public RetryLimits Slack { get; init; } = RetryLimits.Slack;

    /// <summary>PagerDuty events (default <see cref="RetryLimits.PagerDuty"/>).</summary>
    public RetryLimits PagerDuty { get; init; } = RetryLimits.PagerDuty;

    /// <summary>Rollback flag-service calls (default <see cref="RetryLimits.FlagService"/>).</summary>
    public RetryLimits FlagService { get; init; } = RetryLimits.FlagService;

    /// <summary>The Collector's read of a window (default <see cref="RetryLimits.CollectorSource"/>: 30, 60, 120, 240 s).</summary>
    public RetryLimits CollectorSource { get; init; } = RetryLimits.CollectorSource;

    /// <summary>Clock the waits run on (Polly's <see cref="ResiliencePipelineBuilderBase.TimeProvider"/>). Default: the system clock.</summary>
    public TimeProvider Time { get; init; } = TimeProvider.System;

    /// <summary>
    /// Uniform random numbers in [0, 1) for the jitter; must be thread-safe. Default <see cref="Random.Shared"/>; tests pass
    /// <see cref="Seeded"/>.
    /// </summary>
    public Func<double> Random { get; init; } = System.Random.Shared.NextDouble;

    /// <summary>A thread-safe random source seeded with <paramref name="seed"/> (same seed, same jitter sequence).</summary>
    public static Func<double> Seeded(int seed)
    {
        var random = new Random(seed);
        var gate = new object();
        return () => { lock (gate) return random.NextDouble(); };
    }
}

/// <summary>
/// The one retry policy of the pipeline, on Polly.Core 8 (<see cref="ResiliencePipelineBuilder"/> with a
/// <see cref="RetryStrategyOptions"/>): only <see cref="TransientFailures.IsTransient"/> failures are retried, with
/// exponential backoff (or an explicit schedule) and ±20 % jitter, honouring <c>Retry-After</c> up to
/// <see cref="RetryLimits.MaxRetryAfter"/>. The waits run on <see cref="RetryOptions.Time"/>, so tests can use a fake
/// clock or zero delays. Each retry raises <see cref="Retrying"/> (for metrics). The retried call is the same call: the
/// caller's arguments (Slack text, PagerDuty <c>dedup_key</c>, flag-service <c>Idempotency-Key</c>) do not change between
/// attempts, so retries stay invisible to deduplication and idempotency. Thread-safe.
/// </summary>
public sealed class RetryPolicy
{
    private readonly Func<double> _random;

    /// <summary>Creates the policy with <paramref name="options"/> (defaults: production limits, system clock, shared random).</summary>
    public RetryPolicy(RetryOptions? options = null)
    {
        Options = options ?? new RetryOptions();
        foreach (var l in new[] { Options.Slack, Options.PagerDuty, Options.FlagService, Options.CollectorSource }) l.Validate();
        _random = Options.Random;
    }

    /// <summary>The settings.</summary>
    public RetryOptions Options { get; }

    /// <summary>
    /// Raised before every retry's wait (not for the first attempt, not when giving up). An exception from a handler is
    /// swallowed: counting retries must never break the call.
    /// </summary>
    public event Action<RetryAttempt>? Retrying;

    private void Raise(RetryAttempt attempt)
    {
        if (Retrying is not { } handlers) return;
        foreach (var handler in handlers.GetInvocationList().Cast<Action<RetryAttempt>>())
        {
            try { handler(attempt); }
            catch (Exception) { /* a metrics hook must not turn a retry into a failure */ }
        }
    }

    /// <summary>
    /// A Polly pipeline that retries a call under <paramref name="limits"/>. Execute the call through it with
    /// <c>ExecuteAsync(ct => …, cancellationToken)</c>; the last failure (or the first permanent one) is rethrown unchanged.
    /// Throws <see cref="ArgumentException"/> when <paramref name="limits"/> is invalid.
    /// </summary>
    public ResiliencePipeline Create(RetryLimits limits)
    {
        ArgumentNullException.ThrowIfNull(limits);
        limits.Validate();
        if (limits.Retries == 0) return ResiliencePipeline.Empty;
        return new ResiliencePipelineBuilder { Name = limits.Target, TimeProvider = Options.Time }
            .AddRetry(new RetryStrategyOptions
            {
                MaxRetryAttempts = limits.Retries,
                // DelayGenerator computes every delay; Polly's own backoff (and its MaxDelay) is not used.
                BackoffType = DelayBackoffType.Constant,
                Delay = TimeSpan.Zero,
                UseJitter = false,
                ShouldHandle = args => ValueTask.FromResult(
                    args.Outcome.Exception is { } ex && ShouldRetry(limits, ex, args.Context.CancellationToken)),
                DelayGenerator = args => ValueTask.FromResult<TimeSpan?>(
                    DelayFor(limits, args.AttemptNumber, args.Outcome.Exception!, _random())),
                OnRetry = args =>
                {
                    var ex = args.Outcome.Exception!;
                    Raise(new RetryAttempt(limits.Target, args.AttemptNumber + 1, args.RetryDelay, TransientFailures.Describe(ex),
                        TransientFailures.StatusCode(ex), TransientFailures.RetryAfter(ex), Options.Time.GetUtcNow()));
                    return default;
                },
            })
            .Build();
    }

    /// <summary>The pipeline for Slack posts.</summary>
    public ResiliencePipeline Slack() => Create(Options.Slack);

    /// <summary>The pipeline for PagerDuty events.</summary>
    public ResiliencePipeline PagerDuty() => Create(Options.PagerDuty);

    /// <summary>The pipeline for flag-service calls.</summary>
    public ResiliencePipeline FlagService() => Create(Options.FlagService);

    /// <summary>The pipeline for the Collector's window reads.</summary>
    public ResiliencePipeline CollectorSource() => Create(Options.CollectorSource);

    /// <summary>
    /// Whether a failure is retried under <paramref name="limits"/>: it must be transient
    /// (<see cref="TransientFailures.IsTransient"/>), and a <c>Retry-After</c>, if any, must not exceed
    /// <see cref="RetryLimits.MaxRetryAfter"/> (a longer wait is left to the queue's redelivery rather than sending early).
    /// A <see cref="StorageException"/> whose client already retried in-process (<see cref="StorageException.RetriedByClient"/>)
    /// is not retried again here: retries are decided once, by the storage client.
    /// </summary>
    public static bool ShouldRetry(RetryLimits limits, Exception exception, CancellationToken callerToken = default) =>
        TransientFailures.IsTransient(exception, callerToken)
        && exception is not StorageException { RetriedByClient: true }
        && !(TransientFailures.RetryAfter(exception) is { } wait && wait > limits.MaxRetryAfter);

    /// <summary>
    /// The wait before retry <paramref name="retryIndex"/> (0 = first retry) after <paramref name="exception"/>: the
    /// server's <c>Retry-After</c> when present, exactly; otherwise <see cref="RetryLimits.NominalDelay"/> × (1 − j + 2j·r)
    /// for jitter j and <paramref name="random01"/> r in [0, 1), truncated to whole milliseconds (timers wait in
    /// milliseconds, so the reported delay is the wait).
    /// </summary>
    public static TimeSpan DelayFor(RetryLimits limits, int retryIndex, Exception exception, double random01)
    {
        if (TransientFailures.RetryAfter(exception) is { } wait) return wait < TimeSpan.Zero ? TimeSpan.Zero : wait;
        var factor = 1 - limits.Jitter + 2 * limits.Jitter * Math.Clamp(random01, 0, 1);
        var ticks = (long)(limits.NominalDelay(retryIndex).Ticks * factor);
        return TimeSpan.FromTicks(ticks - ticks % TimeSpan.TicksPerMillisecond);
    }
}
