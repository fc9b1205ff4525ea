namespace AutoSaveRollout.Core.Reliability;

/// <summary>
/// How one call target is retried by <see cref="RetryPolicy"/>: how many retries, and the nominal delay before each.
/// The delay before retry <c>n</c> (0-based) is <see cref="Schedule"/>[n] when a schedule is given, else
/// min(<see cref="BaseDelay"/> × 2ⁿ, <see cref="MaxDelay"/>) (exponential backoff); either is then multiplied by a random
/// factor in [1 − <see cref="Jitter"/>, 1 + <see cref="Jitter"/>) (±20 % by default, so that many callers failing together
/// do not retry together). A server's <c>Retry-After</c> replaces the computed delay when it is at most
/// <see cref="MaxRetryAfter"/>; a longer one ends the retries (the call fails and the queue redelivers it later).
/// </summary>
public sealed record RetryLimits
{
    /// <summary>Name of the target, e.g. <c>slack</c>; reported in <see cref="RetryAttempt.Target"/>.</summary>
    public required string Target { get; init; }

    /// <summary>Retries after the first attempt, ≥ 0 (ignored when <see cref="Schedule"/> is set). Default 3.</summary>
    public int MaxRetries { get; init; } = 3;

    /// <summary>Nominal delay before the first retry; doubled for each further retry. Default 1 s.</summary>
    public TimeSpan BaseDelay { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>Cap on the nominal exponential delay, before jitter. Default 30 s.</summary>
    public TimeSpan MaxDelay { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>Explicit nominal delays, one per retry (so the retry count is its length); null for exponential backoff.</summary>
    public IReadOnlyList<TimeSpan>? Schedule { get; init; }

    /// <summary>Relative jitter, 0 ≤ j &lt; 1: each delay is multiplied by a factor in [1 − j, 1 + j). Default 0.2 (±20 %).</summary>
    public double Jitter { get; init; } = 0.2;

    /// <summary>Longest server-requested wait (<c>Retry-After</c>) honoured in-process. Default 30 s.</summary>
    public TimeSpan MaxRetryAfter { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>Number of retries: the schedule's length, else <see cref="MaxRetries"/>.</summary>
    public int Retries => Schedule?.Count ?? MaxRetries;

    /// <summary>The nominal (un-jittered) delay before retry <paramref name="retryIndex"/> (0 = first retry).</summary>
    public TimeSpan NominalDelay(int retryIndex)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(retryIndex);
        if (Schedule is { } schedule) return schedule[Math.Min(retryIndex, schedule.Count - 1)];
        var ticks = BaseDelay.Ticks * Math.Pow(2, Math.Min(retryIndex, 62));
        return ticks >= MaxDelay.Ticks ? MaxDelay : TimeSpan.FromTicks((long)ticks);
    }

    /// <summary>Throws <see cref="ArgumentException"/> when a value is out of range (negative counts or delays, jitter outside [0, 1)).</summary>
    public void Validate()
    {
        if (string.IsNullOrWhiteSpace(Target)) throw new ArgumentException("retry target name is required");
        if (Schedule is null && MaxRetries < 0) throw new ArgumentException($"{Target}: MaxRetries must be ≥ 0");
        if (BaseDelay < TimeSpan.Zero || MaxDelay < TimeSpan.Zero || MaxRetryAfter < TimeSpan.Zero)
            throw new ArgumentException($"{Target}: delays must be ≥ 0");
        if (Schedule is { } s && s.Any(d => d < TimeSpan.Zero)) throw new ArgumentException($"{Target}: schedule delays must be ≥ 0");
        if (!(Jitter >= 0 && Jitter < 1)) throw new ArgumentException($"{Target}: Jitter must be in [0, 1)");
    }

    /// <summary>
    /// Slack incoming webhooks: 3 retries from 1 s (1, 2, 4 s). Slack allows about one message per second and answers
    /// 429 with <c>Retry-After</c> in seconds (api.slack.com/docs/rate-limits); waits up to 30 s are honoured.
    /// </summary>
    public static RetryLimits Slack => new() { Target = "slack", MaxRetries = 3, BaseDelay = TimeSpan.FromSeconds(1), MaxDelay = TimeSpan.FromSeconds(8) };

    /// <summary>
    /// PagerDuty Events API v2: 3 retries from 2 s (2, 4, 8 s). The docs say to retry 429 and 5xx after a wait and not to
    /// retry 400; waits up to 30 s from <c>Retry-After</c> are honoured.
    /// </summary>
    public static RetryLimits PagerDuty => new() { Target = "pagerduty", MaxRetries = 3, BaseDelay = TimeSpan.FromSeconds(2), MaxDelay = TimeSpan.FromSeconds(16) };

    /// <summary>Rollback flag service: 3 retries from 1 s (1, 2, 4 s); the <c>Idempotency-Key</c> makes repeats safe.</summary>
    public static RetryLimits FlagService => new() { Target = "flag-service", MaxRetries = 3, BaseDelay = TimeSpan.FromSeconds(1), MaxDelay = TimeSpan.FromSeconds(8) };

    /// <summary>
    /// The Collector's read of one window from the telemetry source: 4 retries at 30, 60, 120 and 240 s (±20 %), from
    /// the issue "Reliability". About 7.5 minutes of waiting before the window is given up for this run.
    /// </summary>
    public static RetryLimits CollectorSource => new()
    {
        Target = "collector-source",
        Schedule = [TimeSpan.FromSeconds(30), TimeSpan.FromSeconds(60), TimeSpan.FromSeconds(120), TimeSpan.FromSeconds(240)],
    };

    /// <summary>No retry at all for <paramref name="target"/>: the first failure is final.</summary>
    public static RetryLimits None(string target) => new() { Target = target, MaxRetries = 0 };
}
