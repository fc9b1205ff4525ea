using System.Text;
using System.Text.Json.Nodes;
using AutoSaveRollout.Adapters.Storage.FileSystem;
using AutoSaveRollout.Adapters.Telemetry;
using AutoSaveRollout.Core.Metrics;
using AutoSaveRollout.Core.Pipeline;
using AutoSaveRollout.Core.Simulation;
using AutoSaveRollout.Core.Telemetry;
using AutoSaveRollout.Core.Windows;

namespace AutoSaveRollout.Tests.Telemetry;

/// <summary>
/// The allocation-free paths give exactly the results of the full ones: <see cref="TelemetryLineParser.TryAcceptUtf8"/>
/// accepts only what the full validation accepts, with the same values; the Collector's fingerprint duplicate set gives
/// the same batch, counts and rejected lines as exact ids, even when fingerprints collide; <see cref="Percentile.Type7Select"/>
/// equals <see cref="Percentile.Type7"/>.
/// </summary>
[Collection(nameof(FingerprintOverrideCollection))]
public sealed class TelemetryFastPathTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("autosave-fastpath-").FullName;

    public void Dispose()
    {
        FingerprintSet.FingerprintOverride = null;
        try { Directory.Delete(_root, true); } catch (IOException) { }
    }

    // Valid lines and near-misses: every edge the fast path must either decide like the full parser or leave to it.
    public static readonly string[] Lines =
    [
        """{"event_id":"a","ts":"2026-11-20T10:00:00Z","event":"autosave.save.completed","duration_ms":1.5}""",
        """{"event_id":"a","ts":"2026-11-20T10:00:00.123456789+01:30","event":"autosave.save.completed","duration_ms":-0}""",
        """{"event_id":"a","ts":"2026-11-20t10:00:00z","event":"autosave.save.completed","duration_ms":1e308}""",
        """{"event_id":"a","ts":"2026-11-20T10:00:00Z","event":"autosave.save.completed","duration_ms":1e309}""",
        """{"event_id":"a","ts":"2026-11-20T10:00:00Z","event":"autosave.save.completed","duration_ms":-1}""",
        """{"event_id":"a","ts":"2026-11-20T10:00:00Z","event":"autosave.save.completed","duration_ms":"1"}""",
        """{"event_id":"a","ts":"2026-11-20T10:00:00Z","event":"autosave.save.completed"}""",
        """{"event_id":"a","ts":"2026-11-20T10:00:00Z","event":"autosave.save.error","retryable":true,"error_code":"E"}""",
        """{"event_id":"a","ts":"2026-11-20T10:00:00Z","event":"autosave.save.error","retryable":null}""",
        """{"event_id":"a","ts":"2026-11-20T10:00:00Z","event":"autosave.save.error","retryable":false,"error_code":null,"duration_ms":null}""",
        """{"event_id":"a","ts":"2026-11-20T10:00:00Z","event":"autosave.save.error","retryable":false,"error_code":5}""",
        """{"event_id":"a","ts":"2026-11-20T10:00:00Z","event":"autosave.history.drift","retryable":1}""",
        """{"event_id":"a","ts":"2026-11-20T10:00:00Z","event":"autosave.history.drift","duration_ms":{}}""",
        """{"event_id":"a","ts":"2026-11-20T10:00:00Z","event":"x.other","extra":{"n":[1,2,{"a":null}]},"more":"\u00e9"}""",
        """{"event_id":"a","ts":"2026-11-20T10:00:00Z","event":"x.other","extra":1,"extra":2}""",
        """{"event_id":"a","event_id":"b","ts":"2026-11-20T10:00:00Z","event":"x"}""",
        """{"event\u005fid":"a","ts":"2026-11-20T10:00:00Z","event":"x"}""",
        """{"event_id":"a\"b","ts":"2026-11-20T10:00:00Z","event":"x"}""",
        """{"event_id":"","ts":"2026-11-20T10:00:00Z","event":"x"}""",
        """{"event_id":1,"ts":"2026-11-20T10:00:00Z","event":"x"}""",
        """{"event_id":"a","ts":"2026-02-29T10:00:00Z","event":"x"}""",
        """{"event_id":"a","ts":"2024-02-29T23:59:59.9999999-14:00","event":"x"}""",
        """{"event_id":"a","ts":"0001-01-01T00:00:00+00:01","event":"x"}""",
        """{"event_id":"a","ts":"9999-12-31T23:59:59.9999999-00:01","event":"x"}""",
        """{"event_id":"a","ts":"2026-11-20T24:00:00Z","event":"x"}""",
        """{"event_id":"a","ts":"2026-11-20T10:00:60Z","event":"x"}""",
        """{"event_id":"a","ts":"2026-11-20T10:00:00.Z","event":"x"}""",
        """{"event_id":"a","ts":"2026-11-20T10:00:00+0100","event":"x"}""",
        """{"event_id":"a","ts":"2026-11-20 10:00:00Z","event":"x"}""",
        """{"event_id":"a","ts":"2026-11-20T10:00:00Z","event":"x"} """,
        """{"event_id":"a","ts":"2026-11-20T10:00:00Z","event":"x"}""" + "\r",
        """{"event_id":"a","ts":"2026-11-20T10:00:00Z","event":"x"} {}""",
        """{"event_id":"a","ts":"2026-11-20T10:00:00Z","event":"x",}""",
        """{"event_id":"a","ts":"2026-11-20T10:00:00Z","event":"x"/*c*/}""",
        """ {"event_id":"a","ts":"2026-11-20T10:00:00Z","event":"x"}""",
        """{"event_id":"a","ts":"2026-11-20T10:00:00Z","event":"x","d":""" + new string('[', 40) + new string(']', 40) + "}",
        """{"event_id":"a","ts":"2026-11-20T10:00:00Z","event":"x","a":1,"b":1,"c":1,"d":1,"e":1,"f":1,"g":1,"h":1,"i":1}""",
        """[1]""",
        """{"event_id":"a","ts":"2026-11-20T10:00:00Z","event":"x\ud800"}""",
        "",
        "   ",
    ];

    [Fact]
    public void Fast_path_accepts_exactly_what_the_full_parser_accepts_with_the_same_values()
    {
        var decided = 0;
        foreach (var line in Lines)
        {
            var full = TelemetryLineParser.Parse(line);
            var bytes = Encoding.UTF8.GetBytes(line);
            if (!TelemetryLineParser.TryAcceptUtf8(bytes, out var fast)) continue;
            decided++;
            Assert.True(full.Outcome == LineOutcome.Accepted, $"fast path accepted a line the parser rejects: {line} ({full.Reason})");
            var e = full.Event!;
            Assert.Equal(e.EventId, Encoding.UTF8.GetString(fast.EventId));
            Assert.Equal(e.Timestamp, fast.Timestamp);
            Assert.Equal(e.Timestamp.Offset, fast.Timestamp.Offset);
            Assert.Equal(e.Kind, fast.Kind);
            Assert.Equal(e.EventName, Encoding.UTF8.GetString(fast.EventName));
            Assert.Equal(e.DurationMs, fast.DurationMs);
            if (e.DurationMs is { } d) Assert.Equal(BitConverter.DoubleToInt64Bits(d), BitConverter.DoubleToInt64Bits(fast.DurationMs!.Value));
            Assert.Equal(e.Retryable, fast.Retryable);
            Assert.Equal(e.ErrorCode, fast.HasErrorCode ? Encoding.UTF8.GetString(fast.ErrorCode) : null);
        }
        Assert.True(decided >= 9, $"the fast path decided only {decided} lines");
    }

    [Fact]
    public void Fast_path_agrees_with_the_full_parser_on_random_mutations()
    {
        var rng = new Random(15);
        const string alphabet = "{}[]\":,.-+0123456789eEtTzZ nul\\abcdefrs_";
        foreach (var seed in Lines.Where(l => l.Length > 0))
        {
            for (var k = 0; k < 300; k++)
            {
                var chars = seed.ToCharArray();
                for (var m = rng.Next(1, 3); m > 0; m--) chars[rng.Next(chars.Length)] = alphabet[rng.Next(alphabet.Length)];
                var line = new string(chars);
                if (!TelemetryLineParser.TryAcceptUtf8(Encoding.UTF8.GetBytes(line), out var fast)) continue;
                var full = TelemetryLineParser.Parse(line);
                Assert.True(full.Outcome == LineOutcome.Accepted, $"fast path accepted a line the parser rejects: {line} ({full.Reason})");
                Assert.Equal(full.Event!.Timestamp, fast.Timestamp);
                Assert.Equal(full.Event.DurationMs, fast.DurationMs);
                Assert.Equal(full.Event.EventId, Encoding.UTF8.GetString(fast.EventId));
            }
        }
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(20)]
    [InlineData(1001)]
    [InlineData(100_000)]
    public void Type7Select_equals_Type7(int n)
    {
        var rng = new Random(n);
        foreach (var shape in new Func<int, double>[] { _ => rng.NextDouble() * 1000, i => i % 7, i => n - i, _ => 5 })
        {
            var values = Enumerable.Range(0, n).Select(shape).ToArray();
            foreach (var p in new[] { 0, 0.5, 0.95, 0.999, 1 })
                Assert.Equal(Percentile.Type7(values.ToArray(), p), Percentile.Type7Select(values.ToArray(), p));
        }
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Collector_gives_the_same_batch_with_colliding_fingerprints(bool weakFingerprint)
    {
        // 3,000 distinct ids (some escaped, some non-ASCII), every 10th line repeated later, plus rejected lines.
        var lines = new List<string>();
        for (var i = 0; i < 3000; i++)
        {
            var id = i % 97 == 0 ? $"id-\\u00e9-{i}" : i % 89 == 0 ? $"id-é-{i}" : $"id-{i:D5}";
            lines.Add($$"""{"event_id":"{{id}}","ts":"2026-11-20T10:00:{{i % 60:D2}}Z","event":"autosave.save.completed","duration_ms":{{i}}.5}""");
            if (i % 10 == 0) lines.Add($$"""{"event_id":"{{id}}","ts":"2026-11-20T10:01:00Z","event":"autosave.save.error","retryable":true}""");
            if (i % 250 == 0) lines.Add($$"""{"event_id":"{{id}}","ts":"2026-11-20T10:01:00Z","event":"autosave.save.completed"}""");
        }
        var file = Path.Combine(_root, "batch.jsonl");
        await File.WriteAllLinesAsync(file, lines);

        // Weak: fingerprints by id length only, so thousands of different ids share one.
        FingerprintSet.FingerprintOverride = weakFingerprint ? id => (ulong)id.Length : null;
        var (manifest, batch, rejected) = await CollectAsync(file, "weak-" + weakFingerprint);
        FingerprintSet.FingerprintOverride = null;
        var exact = await CollectAsync(file, "reference");

        Assert.Equal(3000, manifest.Counts["autosave.save.completed"]);
        Assert.Equal(300, manifest.Duplicates);
        Assert.Equal(12, manifest.Rejected);
        Assert.Equal(exact.Batch, batch);
        Assert.Equal(exact.Rejected, rejected);
        Assert.Equal(exact.Manifest.BatchSha256, manifest.BatchSha256);
        Assert.Equal(exact.Manifest.Duplicates, manifest.Duplicates);
    }

    private async Task<(BatchManifest Manifest, string Batch, string Rejected)> CollectAsync(string file, string name)
    {
        var root = Path.Combine(_root, name);
        var blobs = new FileBlobStore(Path.Combine(root, "blobs"));
        var window = TimeWindow.StartingAt(new DateTimeOffset(2026, 11, 20, 10, 0, 0, TimeSpan.Zero));
        var clock = new SimulatedClock(window.End);
        var collector = new Collector(blobs, new FileQueueFactory(root, TimeProvider.System), new FileDistributedLock(root, clock),
            new BatchFileSource(file), clock, new CollectorOptions { AcceptAnyTimestamp = true, BlockBytes = 4096 });
        var manifest = await collector.CollectWindowAsync(window);
        var batch = Encoding.UTF8.GetString((await blobs.TryGetAsync(manifest.BatchPath))!.Content.ToArray());
        var rejected = manifest.RejectedPath is { } r ? Encoding.UTF8.GetString((await blobs.TryGetAsync(r))!.Content.ToArray()) : "";
        return (manifest, batch, rejected);
    }
}

/// <summary>Tests that set <see cref="FingerprintSet.FingerprintOverride"/> (a static) run one at a time.</summary>
[CollectionDefinition(nameof(FingerprintOverrideCollection), DisableParallelization = true)]
public sealed class FingerprintOverrideCollection;
