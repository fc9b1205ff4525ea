using AutoSaveRollout.Core.Metrics;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using AutoSaveRollout.Core.Pipeline;
using AutoSaveRollout.Core.Ports;
using AutoSaveRollout.Core.Reporting;
using AutoSaveRollout.Core.State;
using AutoSaveRollout.Core.Windows;
using Microsoft.Extensions.Logging;
using AutoSaveRollout.Core.Storage;

namespace AutoSaveRollout.Core.Lifecycle;

/// <summary>
/// The evidence checks that must pass before a phase move (design section 9, "incident checklist and dashboard approval
/// criteria"). Each failed check gives one reason sentence:
/// <list type="number">
/// <item><b>PagerDuty acknowledgement</b> (<see cref="AcknowledgementCheck"/>): every incident triggered since the last
/// move (or the rollout's start) was acknowledged within <see cref="LifecycleOptions.AcknowledgeWithin"/> (15 min) of
/// PagerDuty opening it, per the REST API; resolving without acknowledging counts as the response. Governance can waive
/// one incident's check (<c>waive</c>). Dry-run incidents are not checked (nothing was sent).</item>
/// <item><b>Retry failures reviewed</b>: every line of <c>retry_failures.jsonl</c> since the last move has a
/// <c>retry_failure_reviewed</c> audit entry for its window.</item>
/// <item><b>RCA</b>: every incident (whatever its phase) triggered more than <see cref="LifecycleOptions.RcaDue"/> (24 h) ago
/// is named (by our id, dedup key, PagerDuty id or <c>#number</c>) in some <c>reports/rca/&lt;yyyy-MM-dd&gt;.md</c> dated
/// from the incident's day on.</item>
/// <item><b>Dashboard</b>: the P95 (s) and error rate (%) of the dashboard's SLO card and recent decisions are each within
/// ±<see cref="LifecycleOptions.DashboardTolerance"/> (5%) of a recomputation from the stored JSONL batch
/// (|shown − recomputed| ≤ 0.05 × |recomputed|; both undefined also agrees), and each batch still has the SHA-256 its
/// decision recorded.</item>
/// </list>
/// </summary>
public sealed class EvidenceChecks(IBlobStore blobs, AuditLog audit, JsonRecordStore<IncidentLedger> ledger, IPagerDutyIncidents? pagerDuty,
    TimeProvider time, LifecycleOptions options, ILogger log)
{
    /// <summary>Name of the acknowledgement check (as waived).</summary>
    public const string AcknowledgementCheck = "pagerduty_ack";

    /// <summary>Runs every check for a move from <paramref name="state"/>; returns the reasons of the failed ones (empty: all pass).</summary>
    public async Task<IReadOnlyList<string>> RunAsync(RolloutState state, CancellationToken ct)
    {
        var reasons = new List<string>();
        var since = state.LastMoveAt ?? DateTimeOffset.MinValue;
        var entries = await audit.ReadAsync(ct).ConfigureAwait(false);
        reasons.AddRange(await AcknowledgementsAsync(since, entries, ct).ConfigureAwait(false));
        reasons.AddRange(await RetryFailuresAsync(since, entries, ct).ConfigureAwait(false));
        reasons.AddRange(await RcasAsync(ct).ConfigureAwait(false));
        reasons.AddRange(await DashboardAsync(ct).ConfigureAwait(false));
        return reasons;
    }

    private async Task<List<string>> AcknowledgementsAsync(DateTimeOffset since, IReadOnlyList<AuditEntry> entries, CancellationToken ct)
    {
        var reasons = new List<string>();
        var waived = entries.Where(e => e.Type == AuditEntryType.EvidenceWaived && e.Check == AcknowledgementCheck)
            .SelectMany(e => e.Incidents ?? []).ToHashSet(StringComparer.Ordinal);
        var (book, _) = await ledger.ReadAsync(ct).ConfigureAwait(false);
        var limit = options.AcknowledgeWithin.TotalMinutes.ToString("0.##", CultureInfo.InvariantCulture);
        foreach (var incident in (book?.Incidents ?? []).Where(i => !i.DryRun && i.TriggeredAt >= since && !waived.Contains(i.Id)))
        {
            var i = incident;
            if (i.RespondedAt is null)
            {
                if (pagerDuty is null)
                {
                    reasons.Add($"cannot verify that incident {i.Id} was acknowledged within {limit} min: the PagerDuty REST API is not configured (PagerDuty:ApiToken)");
                    continue;
                }
                try
                {
                    var found = await pagerDuty.FindByIncidentKeyAsync(i.DedupKey, ct).ConfigureAwait(false);
                    if (found is null)
                    {
                        reasons.Add($"incident {i.Id} was not found in PagerDuty (incident_key {i.DedupKey})");
                        continue;
                    }
                    var updated = i = i.Observed(found);
                    await ledger.UpdateAsync(l => l!.Replace(updated), ct).ConfigureAwait(false);
                }
                catch (DeliveryException ex)
                {
                    reasons.Add($"cannot verify that incident {i.Id} was acknowledged: {ex.Target}: {ex.Message}");
                    continue;
                }
            }
            var opened = i.PagerDutyCreatedAt ?? i.TriggeredAt;
            var name = i.Label();
            if (i.RespondedAt is not { } responded)
                reasons.Add($"incident {name} is not acknowledged (due within {limit} min)");
            else if (responded - opened > options.AcknowledgeWithin)
                reasons.Add($"incident {name} was acknowledged after {(responded - opened).TotalMinutes.ToString("0.#", CultureInfo.InvariantCulture)} min (limit {limit} min)");
        }
        return reasons;
    }

    private async Task<List<string>> RetryFailuresAsync(DateTimeOffset since, IReadOnlyList<AuditEntry> entries, CancellationToken ct)
    {
        var reviewed = entries.Where(e => e.Type == AuditEntryType.RetryFailureReviewed && e.WindowStart is not null)
            .Select(e => e.WindowStart!.Value).ToHashSet();
        return (await ReadRetryFailuresAsync(blobs, log, ct).ConfigureAwait(false))
            .Where(f => f.GaveUpAt >= since && !reviewed.Contains(f.WindowStart))
            .Select(f => f.WindowStart).Distinct().Order()
            .Select(w => $"retry failure of window {TimeWindow.StartingAt(w)} is not reviewed " +
                         $"(review-failure --window {Telemetry.Rfc3339.FormatMinutes(w)})")
            .ToList();
    }

    private async Task<List<string>> RcasAsync(CancellationToken ct)
    {
        var (book, _) = await ledger.ReadAsync(ct).ConfigureAwait(false);
        var now = time.GetUtcNow();
        var reasons = new List<string>();
        foreach (var i in (book?.Incidents ?? []).Where(i => i.RcaFoundAt is null && now - i.TriggeredAt >= options.RcaDue))
        {
            if (await FindRcaAsync(i, ct).ConfigureAwait(false) is not null) continue;
            reasons.Add($"no RCA names incident {i.Id} (reports/rca/<date>.md), due {Telemetry.Rfc3339.FormatMinutes(i.TriggeredAt + options.RcaDue)}");
        }
        return reasons;
    }

    /// <summary>
    /// The RCA covering <paramref name="incident"/>: the first <c>reports/rca/&lt;date&gt;.md</c>, dated from the incident's
    /// UTC day to today (at most <see cref="LifecycleOptions.RcaSearchDays"/> days), whose text names one of
    /// <see cref="IncidentRecord.Names"/>; null when none does.
    /// </summary>
    public async Task<string?> FindRcaAsync(IncidentRecord incident, CancellationToken ct)
    {
        var first = DateOnly.FromDateTime(incident.TriggeredAt.UtcDateTime);
        var today = DateOnly.FromDateTime(time.GetUtcNow().UtcDateTime);
        var names = incident.Names().ToList();
        for (var day = first; day <= today && day.DayNumber - first.DayNumber <= options.RcaSearchDays; day = day.AddDays(1))
        {
            var path = StorePaths.Rca(day);
            if (await blobs.TryGetAsync(path, ct).ConfigureAwait(false) is not { } blob) continue;
            var text = Encoding.UTF8.GetString(blob.Content);
            if (names.Any(n => text.Contains(n, StringComparison.Ordinal))) return path;
        }
        return null;
    }

    private async Task<List<string>> DashboardAsync(CancellationToken ct)
    {
        var blob = await blobs.TryGetAsync(StorePaths.Dashboard, ct).ConfigureAwait(false);
        if (blob is null) return ["no dashboard to check (reports/monitoring/dashboard.json is missing)"];
        Dashboard dashboard;
        try { dashboard = Json.FromBytes<Dashboard>(blob.Content); }
        catch (System.Text.Json.JsonException ex) { return [$"the dashboard is unreadable: {ex.Message}"]; }

        var shown = dashboard.RecentDecisions.Select(d => (d.DecisionId, d.WindowStart, d.P95, d.ErrRate)).ToList();
        if (dashboard.SloCard is { } card) shown.Add((card.DecisionId, card.WindowStart, card.P95, card.ErrRate)); // what reviewers look at first
        var reasons = new List<string>();
        foreach (var (decisionId, windowStart, p95, errRate) in shown)
        {
            var window = TimeWindow.StartingAt(windowStart);
            var decisionBlob = await blobs.TryGetAsync(StorePaths.Decision(window), ct).ConfigureAwait(false);
            DecisionRecord? decision = null;
            try { decision = decisionBlob is null ? null : Json.FromBytes<DecisionRecord>(decisionBlob.Content); }
            catch (System.Text.Json.JsonException) { }
            if (decision is null || decision.DecisionId != decisionId)
            {
                reasons.Add($"dashboard window {window}: its decision {decisionId} is not in the store");
                continue;
            }
            var (ok, recomputedP95, recomputedErr, sha) = await RecomputeAsync(decision.BatchPath, ct).ConfigureAwait(false);
            if (!ok)
            {
                reasons.Add($"dashboard window {window}: batch {decision.BatchPath} is missing");
                continue;
            }
            if (!string.Equals(sha, decision.BatchSha256, StringComparison.OrdinalIgnoreCase))
                reasons.Add($"dashboard window {window}: batch {decision.BatchPath} changed since its decision (SHA-256 differs)");
            if (Differs(p95, recomputedP95) is { } dp)
                reasons.Add($"dashboard P95 of window {window} is {Show(p95, 3)} s but the batch gives {Show(recomputedP95, 3)} s ({dp})");
            if (Differs(errRate, recomputedErr) is { } de)
                reasons.Add($"dashboard error rate of window {window} is {Show(errRate, 2)}% but the batch gives {Show(recomputedErr, 2)}% ({de})");
        }
        return reasons.Distinct().ToList();
    }

    private string? Differs(double? shown, double? recomputed)
    {
        if (shown is null && recomputed is null) return null;
        if (shown is not { } s || recomputed is not { } r) return "one of them is undefined";
        var diff = Math.Abs(s - r);
        // ≤ with a relative slack of 1e-9 for binary rounding: 1.05 against 1.0 is exactly 5%, yet 1.05 − 1.0 > 0.05 in doubles.
        if (diff <= options.DashboardTolerance * Math.Abs(r) * (1 + 1e-9)) return null;
        return r == 0 ? "differs from 0" : $"off by {(diff / Math.Abs(r) * 100).ToString("0.#", CultureInfo.InvariantCulture)}% > {(options.DashboardTolerance * 100).ToString("0.#", CultureInfo.InvariantCulture)}%";
    }

    private static string Show(double? v, int decimals) => ReportPlanner.FormatNumber(v, decimals);

    private async Task<(bool Found, double? P95, double? ErrorRate, string Sha256)> RecomputeAsync(string batchPath, CancellationToken ct)
    {
        await using var stream = await blobs.TryOpenReadAsync(batchPath, ct).ConfigureAwait(false);
        if (stream is null) return (false, null, null, "");
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        await using var hashing = new HashingStream(stream, sha);
        using var acc = new BatchAccumulator();
        await Analyzer.AccumulateAsync(hashing, acc, ct).ConfigureAwait(false);
        return (true, acc.P95Seconds(), acc.ErrorRatePct(), Convert.ToHexStringLower(sha.GetHashAndReset()));
    }

    /// <summary>Every readable line of <see cref="StorePaths.RetryFailures"/>; unreadable lines are skipped with a warning.</summary>
    public static Task<IReadOnlyList<CollectorFailure>> ReadRetryFailuresAsync(IBlobStore blobs, ILogger log, CancellationToken ct) =>
        blobs.ReadJsonLinesAsync<CollectorFailure>(StorePaths.RetryFailures,
            (line, ex) => log.LogWarning("{Path}:{Line}: unreadable retry failure skipped ({Error})", StorePaths.RetryFailures, line, ex.Message), ct);

    // Read-only stream that feeds everything read through an incremental hash.
    private sealed class HashingStream(Stream inner, IncrementalHash hash) : Stream
    {
        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
        public override void Flush() { }
        public override int Read(byte[] buffer, int offset, int count)
        {
            var n = inner.Read(buffer, offset, count);
            hash.AppendData(buffer, offset, n);
            return n;
        }
        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            var n = await inner.ReadAsync(buffer, cancellationToken).ConfigureAwait(false);
            hash.AppendData(buffer.Span[..n]);
            return n;
        }
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
