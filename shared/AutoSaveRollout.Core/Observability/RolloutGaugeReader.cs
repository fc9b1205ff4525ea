using AutoSaveRollout.Core.Gates;
using AutoSaveRollout.Core.Lifecycle;
using AutoSaveRollout.Core.Pipeline;
using AutoSaveRollout.Core.Ports;
using AutoSaveRollout.Core.State;
using AutoSaveRollout.Core.Storage;
using AutoSaveRollout.Core.Windows;
using Microsoft.Extensions.Logging;

namespace AutoSaveRollout.Core.Observability;

/// <summary>
/// What the status gauges of <see cref="PipelineMetrics"/> show: the latest decided window's values and the rollout's state.
/// </summary>
public sealed record RolloutGauges
{
    /// <summary>Start of the latest decided window (UTC); null before the first decision.</summary>
    public DateTimeOffset? WindowStart { get; init; }
    /// <summary>P95 save latency of that window, seconds (null without completed saves).</summary>
    public double? P95Seconds { get; init; }
    /// <summary>Error rate of that window, percent.</summary>
    public double? ErrorRatePercent { get; init; }
    /// <summary>History drift of that window (1-hour moving average of drift events per window).</summary>
    public double? HistoryDrift { get; init; }
    /// <summary>Collector latency of that window, seconds.</summary>
    public double? CollectorLatencySeconds { get; init; }
    /// <summary>Phase in effect (<c>off</c>, <c>A</c>, <c>B</c>, <c>C</c>); null while no rollout state exists.</summary>
    public string? Phase { get; init; }
    /// <summary><see cref="RolloutState.RollbackActive"/>.</summary>
    public bool RollbackActive { get; init; }
    /// <summary>A flag change is requested and not yet confirmed (<see cref="RolloutState.PendingFlagChange"/> is set).</summary>
    public bool FlagChangePending { get; init; }
    /// <summary>Incident ledger entries without an RCA.</summary>
    public int OpenIncidents { get; init; }
    /// <summary>Messages waiting in each pipeline queue's poison queue, by source queue name.</summary>
    public IReadOnlyDictionary<string, int> DeadLettersWaiting { get; init; } = new Dictionary<string, int>();
}

/// <summary>
/// Reads the status gauges' values through the ports (rollout state, the latest decision, the incident ledger, the poison
/// queues) and hands them to <see cref="PipelineMetrics.SetStatus"/>. Dead letters are counted the way
/// <see cref="DeadLetterService.ListAsync"/> lists them (received with a short hold, released at once), so a count does
/// not move a message. A failed read (storage unreachable, unreadable record) is logged and keeps the previous values:
/// metrics never fail a stage.
/// </summary>
public sealed class RolloutGaugeReader
{
    private readonly IBlobStore _blobs;
    private readonly DeadLetterService? _deadLetters;
    private readonly PipelineMetrics _metrics;
    private readonly ILogger? _log;
    private readonly SemaphoreSlim _gate = new(1, 1);

    /// <summary>
    /// Reads from <paramref name="blobs"/> and the poison queues of <paramref name="queues"/> (none when null) into
    /// <paramref name="metrics"/>; failures are logged to <paramref name="log"/>.
    /// </summary>
    public RolloutGaugeReader(IBlobStore blobs, IQueueFactory? queues, TimeProvider time, PipelineMetrics metrics, ILogger? log = null)
    {
        ArgumentNullException.ThrowIfNull(blobs);
        ArgumentNullException.ThrowIfNull(metrics);
        _blobs = blobs;
        _deadLetters = queues is null ? null : new DeadLetterService(queues, blobs, time) { HoldFor = TimeSpan.FromSeconds(5) };
        _metrics = metrics;
        _log = log;
    }

    /// <summary>
    /// Reads the current values and sets them on the metrics; returns them, or null when a read failed (logged; the
    /// previous values stay). Concurrent calls run one after the other. Cancellation is thrown.
    /// </summary>
    public async Task<RolloutGauges?> RefreshAsync(CancellationToken ct = default)
    {
        await _gate.WaitAsync(ct).ConfigureAwait(false);
        try
        {
            var gauges = await ReadAsync(ct).ConfigureAwait(false);
            _metrics.SetStatus(gauges);
            return gauges;
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !ct.IsCancellationRequested)
        {
            _log?.LogWarning("status gauges not refreshed: {Error}", ex.GetType().Name + ": " + ex.Message);
            return null;
        }
        finally
        {
            _gate.Release();
        }
    }

    private async Task<RolloutGauges> ReadAsync(CancellationToken ct)
    {
        var (state, _) = await new JsonRecordStore<RolloutState>(_blobs, StorePaths.RolloutState).ReadAsync(ct).ConfigureAwait(false);
        DecisionRecord? decision = null;
        if (state?.LastDecidedWindowStart is { } start
            && await _blobs.TryGetAsync(StorePaths.Decision(TimeWindow.StartingAt(start)), ct).ConfigureAwait(false) is { } blob)
            decision = Json.FromBytes<DecisionRecord>(blob.Content);
        var (ledger, _) = await new JsonRecordStore<IncidentLedger>(_blobs, StorePaths.Incidents).ReadAsync(ct).ConfigureAwait(false);
        var waiting = new Dictionary<string, int>(StringComparer.Ordinal);
        if (_deadLetters is not null)
        {
            foreach (var queue in DeadLetterService.PipelineQueues) waiting[queue] = 0;
            foreach (var letter in await _deadLetters.ListAsync(null, ct).ConfigureAwait(false))
                waiting[letter.Queue] = waiting.GetValueOrDefault(letter.Queue) + 1;
        }
        double? Metric(string name) => decision?.Metrics.TryGetValue(name, out var m) == true ? m.Value : null;
        return new RolloutGauges
        {
            WindowStart = decision?.WindowStart,
            P95Seconds = Metric(MetricNames.P95),
            ErrorRatePercent = Metric(MetricNames.ErrorRate),
            HistoryDrift = Metric(MetricNames.HistoryDrift),
            CollectorLatencySeconds = Metric(MetricNames.CollectorLatency),
            Phase = state?.Phase,
            RollbackActive = state?.RollbackActive ?? false,
            FlagChangePending = state?.PendingFlagChange is not null,
            OpenIncidents = ledger?.Incidents.Count(i => i.RcaPath is null) ?? 0,
            DeadLettersWaiting = waiting,
        };
    }
}
