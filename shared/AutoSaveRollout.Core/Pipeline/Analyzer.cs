using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using AutoSaveRollout.Core.Gates;
using AutoSaveRollout.Core.Metrics;
using AutoSaveRollout.Core.Policy;
using AutoSaveRollout.Core.Ports;
using AutoSaveRollout.Core.State;
using AutoSaveRollout.Core.Telemetry;
using AutoSaveRollout.Core.Windows;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using AutoSaveRollout.Core.Storage;

namespace AutoSaveRollout.Core.Pipeline;

/// <summary>Analyzer settings.</summary>
public sealed record AnalyzerOptions
{
    /// <summary>Phase assumed when no rollout state exists yet (the first window ever).</summary>
    public Phase InitialPhase { get; init; } = Phase.A;

    /// <summary>How humans invoke the CLI in the rollback command written into decisions.</summary>
    public string CliName { get; init; } = RollbackPlan.DefaultCliName;
}

/// <summary>
/// Analyzer stage: for a collected window, streams its batch, computes the SLIs (P95 save latency, error rate, history
/// drift moving average, collector latency), applies the SLO gates of the phase in effect (<see cref="SloGate"/>), writes
/// the decision record, steps the phase back one after a violation, and enqueues a <see cref="ReportMessage"/>.
/// Idempotent by window: a redelivered message re-announces the existing decision.
/// <para>
/// A <see cref="Collector.RetryExhaustedEvent"/> message (the Collector gave up on a window) takes another path: a
/// <see cref="CollectorIncident"/> is written once per window and announced to the Reporter, which pages. It makes no
/// decision and changes no phase: missing data is not a violation.
/// </para>
/// </summary>
public sealed class Analyzer
{
    private readonly IBlobStore _blobs;
    private readonly IQueueFactory _queues;
    private readonly RolloutPolicy _policy;
    private readonly TimeProvider _time;
    private readonly AnalyzerOptions _options;
    private readonly ILogger _log;
    private readonly JsonRecordStore<RolloutState> _state;
    private readonly LookBackReader _lookBack; // gates (issue 11)

    /// <summary>Creates the stage.</summary>
    public Analyzer(IBlobStore blobs, IQueueFactory queues, RolloutPolicy policy, TimeProvider time,
        AnalyzerOptions? options = null, ILogger<Analyzer>? log = null)
    {
        _blobs = blobs;
        _queues = queues;
        _policy = policy;
        _time = time;
        _options = options ?? new AnalyzerOptions();
        _log = log ?? (ILogger)NullLogger.Instance;
        _state = new JsonRecordStore<RolloutState>(blobs, StorePaths.RolloutState);
        _lookBack = new LookBackReader(blobs); // gates (issue 11)
    }

    /// <summary>
    /// Handles an analyze-queue message (JSON <see cref="AnalyzeMessage"/>): <c>batch.collected</c> → the window's decision;
    /// <c>collector.retry_exhausted</c> → a collector incident, and null is returned. Throws <see cref="JsonException"/> on
    /// a malformed message or an unknown type.
    /// </summary>
    public async Task<DecisionRecord?> HandleAsync(string messageText, CancellationToken ct = default)
    {
        var message = JsonSerializer.Deserialize<AnalyzeMessage>(messageText, Json.Compact)
            ?? throw new JsonException("empty analyze message");
        switch (message.Type)
        {
            case BatchCollected:
                return await AnalyzeWindowAsync(TimeWindow.StartingAt(message.WindowStart), ct).ConfigureAwait(false);
            case Collector.RetryExhaustedEvent:
                await RaiseCollectorIncidentAsync(TimeWindow.StartingAt(message.WindowStart),
                    message.Failure ?? throw new JsonException($"{message.Type} message without a failure"), ct).ConfigureAwait(false);
                return null;
            default:
                throw new JsonException($"unknown analyze message type '{message.Type}'");
        }
    }

    /// <summary>Type of the analyze message announcing a collected batch.</summary>
    public const string BatchCollected = "batch.collected";

    /// <summary>
    /// Records that the Collector gave up on <paramref name="window"/> (once per window: a later give-up re-announces the
    /// first record) and enqueues its report. The phase is the one in effect (rollout state); nothing else changes.
    /// </summary>
    public async Task<CollectorIncident> RaiseCollectorIncidentAsync(TimeWindow window, CollectorFailure failure, CancellationToken ct = default)
    {
        var path = StorePaths.CollectorIncident(window);
        var (incident, created) = await new JsonRecordStore<CollectorIncident>(_blobs, path).GetOrCreateAsync(async c =>
        {
            var (state, _) = await _state.ReadAsync(c).ConfigureAwait(false);
            var phase = state?.Phase ?? _options.InitialPhase.ToWire();
            return new CollectorIncident
            {
                IncidentId = $"inc-{window.Id}-{phase}-{Collector.RetryExhaustedEvent}",
                Metric = Collector.RetryExhaustedEvent,
                Flag = _policy.Flag,
                Phase = phase,
                WindowStart = window.Start,
                WindowEnd = window.End,
                Failure = failure,
                RaisedAt = _time.GetUtcNow(),
            };
        }, ct).ConfigureAwait(false);
        if (!created) _log.LogInformation("window {Window}: collector incident {Id} already raised; re-announcing", window, incident.IncidentId);
        await _queues.GetQueue(StorePaths.ReportQueue)
            .SendJsonAsync(new ReportMessage(Collector.RetryExhaustedEvent, window.Start, path, incident.IncidentId), ct).ConfigureAwait(false);
        return incident;
    }

    /// <summary>Analyzes a collected window (or returns its existing decision) and enqueues the report message.</summary>
    public async Task<DecisionRecord> AnalyzeWindowAsync(TimeWindow window, CancellationToken ct = default)
    {
        var decisionPath = StorePaths.Decision(window);
        var (decision, created) = await new JsonRecordStore<DecisionRecord>(_blobs, decisionPath)
            .GetOrCreateAsync(c => DecideAsync(window, c), ct).ConfigureAwait(false);
        if (!created) _log.LogInformation("window {Window} already decided ({DecisionId}); re-announcing", window, decision.DecisionId);

        await ApplyToStateAsync(decision, ct).ConfigureAwait(false);
        await _queues.GetQueue(StorePaths.ReportQueue)
            .SendJsonAsync(new ReportMessage("decision.made", window.Start, decisionPath, decision.DecisionId), ct).ConfigureAwait(false);
        return decision;
    }

    private async Task<DecisionRecord> DecideAsync(TimeWindow window, CancellationToken ct)
    {
        var manifestBlob = await _blobs.TryGetAsync(StorePaths.Manifest(window), ct).ConfigureAwait(false)
            ?? throw new InvalidOperationException($"window {window} has no manifest: not collected");
        var manifest = Json.FromBytes<BatchManifest>(manifestBlob.Content);
        var (state, _) = await _state.ReadAsync(ct).ConfigureAwait(false);
        var phase = state is null ? _options.InitialPhase
            : PhaseExtensions.TryParse(state.Phase, out var p) ? p
            : throw new InvalidDataException($"state: unknown phase '{state.Phase}'");

        using var acc = new BatchAccumulator();
        await using (var batch = await _blobs.TryOpenReadAsync(manifest.BatchPath, ct).ConfigureAwait(false)
                     ?? throw new InvalidOperationException($"batch {manifest.BatchPath} is missing"))
        {
            await AccumulateAsync(batch, acc, ct).ConfigureAwait(false);
        }

        var previous = await PreviousDriftCountsAsync(window, phase, ct).ConfigureAwait(false);
        var (drift, driftWindows) = HistoryDrift.MovingAverage(acc.DriftEvents, previous);
        var measurements = new Measurements(acc.Completed, acc.Errors, acc.P95Seconds(), acc.ErrorRatePct(), drift, manifest.CollectorLatencyS);
        // gates: confidence mode pools the counts of earlier windows of the phase segment (issue 11)
        var lookBack = _policy.Gate.Mode == GateMode.Confidence && phase != Phase.Off
            ? await _lookBack.PreviousAsync(window, phase, _policy.For(phase).Slo, ct).ConfigureAwait(false)
            : null;
        return BuildDecision(window, phase, measurements, acc, driftWindows, manifest, _policy, _options.CliName, _time.GetUtcNow(), lookBack);
    }

    /// <summary>Streams a normalised batch into <paramref name="acc"/>. Lines that are not batch events are skipped.</summary>
    public static Task<long> AccumulateAsync(Stream batch, BatchAccumulator acc, CancellationToken ct = default) =>
        JsonLines.ForEachLineAsync(batch, line => AddLine(line, acc), ct);

    private static void AddLine(ReadOnlySpan<byte> line, BatchAccumulator acc)
    {
        var reader = new Utf8JsonReader(line);
        TelemetryEventKind? kind = null;
        double duration = 0;
        var retryable = false;
        if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject) return;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            if (reader.ValueTextEquals("event"u8))
            {
                reader.Read();
                kind = reader.ValueTextEquals(EventNames.SaveCompleted) ? TelemetryEventKind.SaveCompleted
                    : reader.ValueTextEquals(EventNames.SaveError) ? TelemetryEventKind.SaveError
                    : reader.ValueTextEquals(EventNames.HistoryDrift) ? TelemetryEventKind.HistoryDrift
                    : TelemetryEventKind.Other;
            }
            else if (reader.ValueTextEquals("duration_ms"u8))
            {
                reader.Read();
                duration = reader.GetDouble();
            }
            else if (reader.ValueTextEquals("retryable"u8))
            {
                reader.Read();
                retryable = reader.TokenType == JsonTokenType.True;
            }
            else
            {
                reader.Read();
                reader.Skip();
            }
        }
        switch (kind)
        {
            case TelemetryEventKind.SaveCompleted: acc.AddCompleted(duration); break;
            case TelemetryEventKind.SaveError: acc.AddError(retryable); break;
            case TelemetryEventKind.HistoryDrift: acc.AddDrift(); break;
        }
    }

    // Drift counts of the up-to-3 preceding windows, most recent first, stopping at a phase change or the first window.
    private async Task<List<long>> PreviousDriftCountsAsync(TimeWindow window, Phase phase, CancellationToken ct)
    {
        var counts = new List<long>(HistoryDrift.WindowCount - 1);
        var w = window;
        for (var i = 1; i < HistoryDrift.WindowCount; i++)
        {
            w = w.Previous;
            var blob = await _blobs.TryGetAsync(StorePaths.Decision(w), ct).ConfigureAwait(false);
            if (blob is null) break;
            var d = Json.FromBytes<DecisionRecord>(blob.Content);
            if (d.Phase != phase.ToWire()) break;
            counts.Add(d.Samples.DriftEvents);
        }
        return counts;
    }

    /// <summary>
    /// Builds the decision record for a window from its measurements (pure; used by the stage and by tests). In confidence
    /// mode (<see cref="RolloutPolicy.Gate"/>) <paramref name="lookBack"/> holds the counts of the earlier windows of the
    /// phase segment, most recent first (null or empty: the window alone).
    /// </summary>
    public static DecisionRecord BuildDecision(TimeWindow window, Phase phase, Measurements m, BatchAccumulator acc, int driftWindows,
        BatchManifest manifest, RolloutPolicy policy, string cliName, DateTimeOffset now, IReadOnlyList<WindowCounts>? lookBack = null)
    {
        // gates: point mode is SloGate exactly; confidence mode adds the binomial tests and their evidence (issue 11)
        var (gate, evidence) = GateEvaluation.Evaluate(m, acc, phase, policy, lookBack);
        var id = DecisionId(policy.Flag, window, phase, manifest.BatchSha256, policy.Sha256);
        var next = gate.RollbackRequired ? phase.StepBack() : phase;
        RollbackPlan? rollback = null;
        if (gate.RollbackRequired)
        {
            var reason = string.Join(",", gate.Violations) + " violation";
            var cmd = RollbackPlan.CommandFor(cliName, policy.Flag, phase.ToWire(), next.ToWire(), reason, id);
            rollback = new RollbackPlan(phase.ToWire(), next.ToWire(), reason, cmd);
        }
        return new DecisionRecord
        {
            DecisionId = id,
            Flag = policy.Flag,
            WindowStart = window.Start,
            WindowEnd = window.End,
            Phase = phase.ToWire(),
            Status = DecisionStatus.Of(gate.Status),
            RollbackRequired = gate.RollbackRequired,
            Metrics = gate.Metrics.ToDictionary(x => x.Name, x => new DecisionMetric(x.Value, x.Threshold, x.WarnAt, x.Status is { } st ? DecisionStatus.Of(st) : null)),
            Violations = gate.Violations,
            Samples = new DecisionSamples(acc.Completed, acc.Errors, acc.RetryableErrors, acc.DriftEvents, driftWindows),
            Rollback = rollback,
            NextPhase = next.ToWire(),
            CollectorDelayed = manifest.Events.Contains(Collector.DelayedEvent),
            PolicySha256 = policy.Sha256,
            BatchSha256 = manifest.BatchSha256,
            BatchPath = manifest.BatchPath,
            DecidedAt = now,
            Gate = evidence, // gates (issue 11)
        };
    }

    /// <summary>
    /// Deterministic decision id: <c>dec-{yyyyMMddTHHmmZ}-{phase}-{first 12 hex of SHA-256("flag|windowStart|phase|batchSha|policySha")}</c>.
    /// </summary>
    public static string DecisionId(string flag, TimeWindow window, Phase phase, string batchSha256, string policySha256)
    {
        var material = $"{flag}|{Rfc3339.Format(window.Start)}|{phase.ToWire()}|{batchSha256}|{policySha256}";
        var hash = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(material)));
        return $"dec-{window.Id}-{phase.ToWire()}-{hash[..12]}";
    }

    // Moves the phase in effect one step back after a violation, exactly once per decision (idempotent by window).
    private Task ApplyToStateAsync(DecisionRecord d, CancellationToken ct) =>
        _state.UpdateAsync(s => RolloutState.ApplyDecision(s, d.WindowStart, d.Phase, d.RollbackRequired ? d.NextPhase : null, _time.GetUtcNow()), ct);
}
