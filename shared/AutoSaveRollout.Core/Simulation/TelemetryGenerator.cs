using System.Globalization;
using System.Text;

namespace AutoSaveRollout.Core.Simulation;

/// <summary>
/// A stretch of time in which AutoSave misbehaves, relative to <see cref="TelemetryGeneratorOptions.Start"/>.
/// </summary>
/// <param name="StartOffset">Offset of the incident start from the generation start.</param>
/// <param name="Length">Incident length (&gt; 0); the incident covers <c>[Start + StartOffset, Start + StartOffset + Length)</c>.</param>
/// <param name="LatencyMultiplier">Factor applied to every save duration in the incident (&gt; 0; 1 = unchanged).</param>
/// <param name="ErrorRatio">Replaces <see cref="TelemetryGeneratorOptions.ErrorRatio"/> in the incident (ratio 0–1); null keeps it.</param>
/// <param name="ExtraDriftEvents">Number of additional <c>autosave.history.drift</c> events placed uniformly in the incident (≥ 0).</param>
public sealed record TelemetryIncident(
    TimeSpan StartOffset,
    TimeSpan Length,
    double LatencyMultiplier = 1.0,
    double? ErrorRatio = null,
    int ExtraDriftEvents = 0);

/// <summary>
/// Settings for <see cref="TelemetryGenerator"/>. Every property has a default giving ~2 h of healthy phase-A-like
/// traffic: 0.25 saves/s (~225 per 15-minute window), median 600 ms with σ 0.5 (P95 ≈ 1.37 s), 0.2 % errors, no drift.
/// </summary>
public sealed record TelemetryGeneratorOptions
{
    /// <summary>First instant that may carry an event (normalised to UTC). Default 2026-11-20T08:00:00Z.</summary>
    public DateTimeOffset Start { get; init; } = new(2026, 11, 20, 8, 0, 0, TimeSpan.Zero);

    /// <summary>Length of the generated stretch (&gt; 0); events lie in <c>[Start, Start + Duration)</c>. Default 2 h.</summary>
    public TimeSpan Duration { get; init; } = TimeSpan.FromHours(2);

    /// <summary>Seed of the single <see cref="Random"/>; same options and seed give byte-identical output. Also part of event ids.</summary>
    public int Seed { get; init; } = 1;

    /// <summary>Mean save attempts (completed + error) per second before diurnal modulation (≥ 0). Default 0.25.</summary>
    public double SavesPerSecond { get; init; } = 0.25;

    /// <summary>Diurnal modulation depth 0–1: rate(t) = rate × (1 + amplitude × cos(2π (hourUtc − peak) / 24)). Default 0.</summary>
    public double DiurnalAmplitude { get; init; }

    /// <summary>UTC hour of day (0–24, fractional allowed) at which the diurnal rate peaks. Default 14.</summary>
    public double PeakHourUtc { get; init; } = 14;

    /// <summary>Median save duration in milliseconds (&gt; 0) of the log-normal latency. Default 600.</summary>
    public double MedianMs { get; init; } = 600;

    /// <summary>σ of ln(duration) (≥ 0); P95 = median × e^(1.645 σ). Default 0.5.</summary>
    public double Sigma { get; init; } = 0.5;

    /// <summary>Probability (0–1) that a save attempt ends in <c>autosave.save.error</c> instead of completing. Default 0.002.</summary>
    public double ErrorRatio { get; init; } = 0.002;

    /// <summary>Probability (0–1) that an error is <c>retryable</c> (codes ETIMEDOUT/EIO; otherwise CONFLICT/QUOTA). Default 0.7.</summary>
    public double RetryableShare { get; init; } = 0.7;

    /// <summary>Mean <c>autosave.history.drift</c> events per hour (Poisson, ≥ 0). Default 0.</summary>
    public double DriftPerHour { get; init; }

    /// <summary>Incidents that raise latency, change the error ratio or add drift in chosen stretches. Default none.</summary>
    public IReadOnlyList<TelemetryIncident> Incidents { get; init; } = [];
}

/// <summary>Counts of what <see cref="TelemetryGenerator.Write"/> produced.</summary>
/// <param name="Completed"><c>autosave.save.completed</c> lines.</param>
/// <param name="Errors"><c>autosave.save.error</c> lines.</param>
/// <param name="Drift"><c>autosave.history.drift</c> lines.</param>
public sealed record TelemetryGenerationSummary(int Completed, int Errors, int Drift)
{
    /// <summary>All lines written.</summary>
    public int Total => Completed + Errors + Drift;
}

/// <summary>
/// Writes synthetic AutoSave telemetry as JSONL (one JSON object per line, <c>\n</c> endings, sorted by <c>ts</c>),
/// in the pipeline's input format: <c>event_id</c> (<c>evt-&lt;seed&gt;-&lt;8-digit counter&gt;</c> in output order),
/// <c>ts</c> (UTC, millisecond precision, e.g. <c>2026-11-20T10:00:03.123Z</c>), <c>event</c>
/// (<c>autosave.save.completed</c> with <c>duration_ms</c>, 3 decimals; <c>autosave.save.error</c> with
/// <c>retryable</c> and usually <c>error_code</c>; <c>autosave.history.drift</c>).
/// Save attempts are a Poisson process (diurnal rate by thinning), durations log-normal (Box–Muller normals),
/// drift a separate Poisson process; all randomness comes from one <c>new Random(seed)</c>, so output is
/// deterministic for given options.
/// </summary>
public static class TelemetryGenerator
{
    /// <summary>Event name of a successful save.</summary>
    public const string SaveCompleted = "autosave.save.completed";

    /// <summary>Event name of a failed save.</summary>
    public const string SaveError = "autosave.save.error";

    /// <summary>Event name of a version-history divergence.</summary>
    public const string HistoryDrift = "autosave.history.drift";

    private static readonly string[] RetryableCodes = ["ETIMEDOUT", "EIO"];
    private static readonly string[] FatalCodes = ["CONFLICT", "QUOTA"];

    private readonly record struct Pending(long TicksUtc, int Order, string Event, double DurationMs, bool Retryable, string? ErrorCode);

    /// <summary>
    /// Generates the events described by <paramref name="options"/> and writes them to <paramref name="writer"/>
    /// (the caller chooses the encoding; use UTF-8 without BOM for files). Throws <see cref="ArgumentOutOfRangeException"/>
    /// for out-of-range options (see each property).
    /// </summary>
    public static TelemetryGenerationSummary Write(TelemetryGeneratorOptions options, TextWriter writer)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(writer);
        Validate(options);

        var rng = new Random(options.Seed);
        var normals = new NormalSource(rng);
        var start = options.Start.ToUniversalTime();
        var startTicks = start.UtcTicks - start.UtcTicks % TimeSpan.TicksPerMillisecond;
        if (startTicks < start.UtcTicks) startTicks += TimeSpan.TicksPerMillisecond;
        var endTicks = start.UtcTicks + options.Duration.Ticks;
        var events = new List<Pending>();

        // Save attempts: homogeneous Poisson at the peak rate, thinned to rate(t).
        var peakRate = options.SavesPerSecond * (1 + options.DiurnalAmplitude);
        if (peakRate > 0)
        {
            var t = (double)start.UtcTicks;
            while (true)
            {
                t += Exponential(rng, peakRate) * TimeSpan.TicksPerSecond;
                if (t >= endTicks) break;
                var ticks = (long)t;
                var rate = RateAt(options, ticks);
                if (rng.NextDouble() * peakRate >= rate) continue;

                var incident = IncidentAt(options, start.UtcTicks, ticks);
                var errorRatio = incident?.ErrorRatio ?? options.ErrorRatio;
                if (rng.NextDouble() < errorRatio)
                {
                    var retryable = rng.NextDouble() < options.RetryableShare;
                    var codes = retryable ? RetryableCodes : FatalCodes;
                    var code = codes[rng.Next(codes.Length)];
                    var omitCode = rng.NextDouble() < 0.1;
                    events.Add(new Pending(Truncate(ticks), events.Count, SaveError, 0, retryable, omitCode ? null : code));
                }
                else
                {
                    var ms = options.MedianMs * Math.Exp(options.Sigma * normals.Next()) * (incident?.LatencyMultiplier ?? 1.0);
                    events.Add(new Pending(Truncate(ticks), events.Count, SaveCompleted, ms, false, null));
                }
            }
        }

        // Background drift: its own Poisson process.
        if (options.DriftPerHour > 0)
        {
            var t = (double)start.UtcTicks;
            while (true)
            {
                t += Exponential(rng, options.DriftPerHour / 3600.0) * TimeSpan.TicksPerSecond;
                if (t >= endTicks) break;
                events.Add(new Pending(Truncate((long)t), events.Count, HistoryDrift, 0, false, null));
            }
        }

        // Incident drift: uniformly inside each incident (clipped to the generated stretch).
        foreach (var incident in options.Incidents)
        {
            var from = Math.Max(start.UtcTicks + incident.StartOffset.Ticks, start.UtcTicks);
            var to = Math.Min(from + incident.Length.Ticks, endTicks);
            for (var i = 0; i < incident.ExtraDriftEvents && to > from; i++)
                events.Add(new Pending(Truncate(from + (long)(rng.NextDouble() * (to - from))), events.Count, HistoryDrift, 0, false, null));
        }

        // Stable order: by millisecond timestamp, then generation order.
        events.Sort((a, b) => a.TicksUtc != b.TicksUtc ? a.TicksUtc.CompareTo(b.TicksUtc) : a.Order.CompareTo(b.Order));

        // Truncation to whole milliseconds can move an event just before a non-millisecond Start; it is clamped below.
        int completed = 0, errors = 0, drift = 0, counter = 0;
        var line = new StringBuilder(160);
        foreach (var e in events)
        {
            counter++;
            line.Clear();
            line.Append("{\"event_id\":\"evt-").Append(options.Seed.ToString(CultureInfo.InvariantCulture)).Append('-')
                .Append(counter.ToString("D8", CultureInfo.InvariantCulture)).Append("\",\"ts\":\"")
                .Append(new DateTime(Math.Max(e.TicksUtc, startTicks), DateTimeKind.Utc).ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture))
                .Append("\",\"event\":\"").Append(e.Event).Append('"');
            switch (e.Event)
            {
                case SaveCompleted:
                    completed++;
                    line.Append(",\"duration_ms\":").Append(e.DurationMs.ToString("0.000", CultureInfo.InvariantCulture));
                    break;
                case SaveError:
                    errors++;
                    line.Append(",\"retryable\":").Append(e.Retryable ? "true" : "false");
                    if (e.ErrorCode is not null) line.Append(",\"error_code\":\"").Append(e.ErrorCode).Append('"');
                    break;
                default:
                    drift++;
                    break;
            }

            line.Append("}\n");
            writer.Write(line);
        }

        writer.Flush();
        return new TelemetryGenerationSummary(completed, errors, drift);
    }

    /// <summary>Convenience: the JSONL text that <see cref="Write"/> would produce.</summary>
    public static string WriteToString(TelemetryGeneratorOptions options)
    {
        using var sw = new StringWriter(CultureInfo.InvariantCulture);
        Write(options, sw);
        return sw.ToString();
    }

    /// <summary>Save attempts per second at <paramref name="utcTicks"/> including diurnal modulation.</summary>
    public static double RateAt(TelemetryGeneratorOptions options, long utcTicks)
    {
        var hour = (double)(utcTicks % TimeSpan.TicksPerDay) / TimeSpan.TicksPerHour;
        return options.SavesPerSecond * (1 + options.DiurnalAmplitude * Math.Cos(2 * Math.PI * (hour - options.PeakHourUtc) / 24));
    }

    private static TelemetryIncident? IncidentAt(TelemetryGeneratorOptions options, long startTicks, long ticks)
    {
        // Later incidents win where they overlap.
        TelemetryIncident? hit = null;
        foreach (var i in options.Incidents)
        {
            var from = startTicks + i.StartOffset.Ticks;
            if (ticks >= from && ticks < from + i.Length.Ticks) hit = i;
        }

        return hit;
    }

    private static long Truncate(long ticks) => ticks - ticks % TimeSpan.TicksPerMillisecond;

    /// <summary>Exponential inter-arrival time in seconds for <paramref name="ratePerSecond"/>.</summary>
    private static double Exponential(Random rng, double ratePerSecond) => -Math.Log(1.0 - rng.NextDouble()) / ratePerSecond;

    /// <summary>
    /// Checks <paramref name="o"/> without generating anything; throws <see cref="ArgumentOutOfRangeException"/>
    /// (ParamName = the property, e.g. <c>ErrorRatio</c> or <c>Incident.Length</c>) for the first out-of-range value.
    /// </summary>
    public static void Validate(TelemetryGeneratorOptions o)
    {
        ArgumentNullException.ThrowIfNull(o);
        static void Check(bool ok, string name, object value, string rule)
        {
            if (!ok) throw new ArgumentOutOfRangeException(name, value, $"{name} must be {rule}");
        }

        Check(o.Duration > TimeSpan.Zero, nameof(o.Duration), o.Duration, "> 0");
        Check(double.IsFinite(o.SavesPerSecond) && o.SavesPerSecond >= 0, nameof(o.SavesPerSecond), o.SavesPerSecond, ">= 0");
        Check(o.DiurnalAmplitude is >= 0 and <= 1, nameof(o.DiurnalAmplitude), o.DiurnalAmplitude, "in [0, 1]");
        Check(double.IsFinite(o.PeakHourUtc) && o.PeakHourUtc is >= 0 and <= 24, nameof(o.PeakHourUtc), o.PeakHourUtc, "in [0, 24]");
        Check(double.IsFinite(o.MedianMs) && o.MedianMs > 0, nameof(o.MedianMs), o.MedianMs, "> 0");
        Check(double.IsFinite(o.Sigma) && o.Sigma >= 0, nameof(o.Sigma), o.Sigma, ">= 0");
        Check(o.ErrorRatio is >= 0 and <= 1, nameof(o.ErrorRatio), o.ErrorRatio, "in [0, 1]");
        Check(o.RetryableShare is >= 0 and <= 1, nameof(o.RetryableShare), o.RetryableShare, "in [0, 1]");
        Check(double.IsFinite(o.DriftPerHour) && o.DriftPerHour >= 0, nameof(o.DriftPerHour), o.DriftPerHour, ">= 0");
        ArgumentNullException.ThrowIfNull(o.Incidents, nameof(o.Incidents));
        foreach (var i in o.Incidents)
        {
            Check(i.StartOffset >= TimeSpan.Zero, "Incident.StartOffset", i.StartOffset, ">= 0");
            Check(i.Length > TimeSpan.Zero, "Incident.Length", i.Length, "> 0");
            Check(double.IsFinite(i.LatencyMultiplier) && i.LatencyMultiplier > 0, "Incident.LatencyMultiplier", i.LatencyMultiplier, "> 0");
            Check(i.ErrorRatio is null or (>= 0 and <= 1), "Incident.ErrorRatio", i.ErrorRatio!, "in [0, 1]");
            Check(i.ExtraDriftEvents >= 0, "Incident.ExtraDriftEvents", i.ExtraDriftEvents, ">= 0");
        }
    }

    /// <summary>Standard normal deviates by the Box–Muller transform, using both values of each pair.</summary>
    private sealed class NormalSource(Random rng)
    {
        private double? _spare;

        public double Next()
        {
            if (_spare is { } s)
            {
                _spare = null;
                return s;
            }

            var u1 = 1.0 - rng.NextDouble(); // (0, 1], so Log is finite
            var u2 = rng.NextDouble();
            var r = Math.Sqrt(-2.0 * Math.Log(u1));
            _spare = r * Math.Sin(2 * Math.PI * u2);
            return r * Math.Cos(2 * Math.PI * u2);
        }
    }
}
