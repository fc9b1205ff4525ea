using System.Buffers;
using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using AutoSaveRollout.Adapters.Storage.FileSystem;
using AutoSaveRollout.Adapters.Telemetry;
using AutoSaveRollout.Core.Pipeline;
using AutoSaveRollout.Core.Policy;
using AutoSaveRollout.Core.Ports;
using AutoSaveRollout.Core.Simulation;
using AutoSaveRollout.Core.Telemetry;
using AutoSaveRollout.Core.Windows;
using AutoSaveRollout.Tests.Policy;
using FsCheck;
using FsCheck.Fluent;
using AutoSaveRollout.Core.Storage;

namespace AutoSaveRollout.Tests.Reliability;

/// <summary>
/// Property-based tests (FsCheck) with hostile telemetry lines and <c>policy.yaml</c> documents: valid, mutated, truncated,
/// random bytes (invalid UTF-8), oversized, deeply nested, huge numbers, duplicate keys, BOM and CR in odd places.
/// Nothing may throw past the validators, and every bad line must be accounted for. Seeded: <c>HOSTILE_SEED</c>
/// overrides the fixed seed; FsCheck prints the seed and the shrunk counterexample on failure.
/// </summary>
public sealed class HostileInputTests : IDisposable
{
    private static readonly TimeWindow Window = TimeWindow.StartingAt(new DateTimeOffset(2026, 11, 20, 8, 0, 0, TimeSpan.Zero));
    private static readonly UTF8Encoding Utf8Lenient = new(false, throwOnInvalidBytes: false);
    private readonly string _dir = Directory.CreateTempSubdirectory("autosave-hostile-").FullName;

    public void Dispose()
    {
        try { Directory.Delete(_dir, recursive: true); } catch (IOException) { }
    }

    private static Config Config(int maxTest)
    {
        var seed = ulong.TryParse(Environment.GetEnvironmentVariable("HOSTILE_SEED"), out var s) ? s : 20261120UL;
        return FsCheck.Config.QuickThrowOnFailure.WithMaxTest(maxTest)
            .WithReplay(Microsoft.FSharp.Core.FSharpOption<Replay>.Some(new Replay(new Rnd(seed, 0x9E3779B97F4A7C15UL), Microsoft.FSharp.Core.FSharpOption<int>.None)));
    }

    // ---------------------------------------------------------------- telemetry line generators

    private static string TsIn(TimeWindow w, int ms) => w.Start.AddMilliseconds(ms).UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'");

    private static readonly Gen<string> Timestamp = Gen.Frequency(
        (8, Gen.Choose(0, 899_999).Select(ms => TsIn(Window, ms))),
        (1, Gen.Elements("2026-11-20T09:24:00+01:00", "2026-11-20 08:05", "2026-11-20T08:07:30", "", "2026-02-30T08:00:00Z",
            "2026-11-20T08:00:60Z", "9999-12-31T23:59:59Z", "0001-01-01T00:00:00Z", "2026-11-20T08:00:00.123456789012Z", "2026-11-20t08:01:00z")));

    private static readonly Gen<string> Number = Gen.Frequency(
        (6, Gen.Choose(0, 20_000).Select(i => (i / 3.0).ToString("R", System.Globalization.CultureInfo.InvariantCulture))),
        (3, Gen.Elements("1e400", "-1e400", "-0", "-0.0", "0", "1e-400", "-5", "1.5E+3", "NaN", "Infinity", "-Infinity", "0x10", "01", ".5",
            "5.", "+5", "1e", "123456789012345678901234567890123456789012345678901234567890", "-0e0", "4.9e-324", "1.7976931348623157e308")),
        (1, Gen.Choose(1, 5000).Select(n => new string('9', n))),
        (1, Gen.Choose(1, 400).Select(n => "0." + new string('0', n) + "1")));

    private static readonly Gen<string> OddValue = Gen.Elements(
        "\"812\"", "true", "false", "null", "[]", "{}", "\"\"", "\"\\ud800\"", "\"\\udc00x\"", "\"\\u0000\"", "\"a\\\"b\"", "[1,2]",
        "{\"a\":1}", "\"\u00e9\u4e2d\ud83d\ude00\"", "\"\\u00e9\"", "1", "\"<!channel> & *bold*\"");

    private static readonly Gen<string> EventId = Gen.Frequency(
        (6, Gen.Choose(0, 40).Select(i => $"\"evt-{i}\"")),
        (1, Gen.Elements("\"\"", "\"\\ud83d\"", "\"\\ud83d\\ude00\"", "\"evt\\u0000\"", "\"\u4e2d\u6587\"", "null", "42", "\"" + new string('x', 3000) + "\"")));

    private static readonly Gen<string> Field = Gen.OneOf(Number, OddValue);

    /// <summary>A plausible line: known fields, values mostly right, sometimes of the wrong type or out of range.</summary>
    private static readonly Gen<string> ValidishLine =
        from id in EventId
        from ts in Timestamp
        from kind in Gen.Elements("autosave.save.completed", "autosave.save.error", "autosave.history.drift", "autosave.save.started", "")
        from duration in Gen.Frequency((5, Number), (1, OddValue))
        from retryable in Gen.Frequency((5, Gen.Elements("true", "false")), (1, OddValue))
        from code in Gen.Frequency((3, Gen.Elements("\"E_IO\"", "\"\"")), (1, OddValue))
        from extras in Gen.Choose(0, 3)
        from shape in Gen.Choose(0, 3)
        select Object(id, ts, kind, duration, retryable, code, extras, shape);

    private static string Object(string id, string ts, string kind, string duration, string retryable, string code, int extras, int shape)
    {
        var parts = new List<string> { $"\"event_id\":{id}", $"\"ts\":\"{ts}\"", $"\"event\":\"{kind}\"" };
        if (kind == "autosave.save.completed" || shape == 1) parts.Add($"\"duration_ms\":{duration}");
        if (kind == "autosave.save.error" || shape == 2) parts.Add($"\"retryable\":{retryable}");
        if (shape >= 2) parts.Add($"\"error_code\":{code}");
        for (var i = 0; i < extras; i++) parts.Add($"\"x{i}\":{(i % 2 == 0 ? "\"pad\"" : "{\"n\":[1,2,{}]}")}");
        if (shape == 3) parts.Reverse();
        return "{" + string.Join(",", parts) + "}";
    }

    private static readonly char[] Significant = ['{', '}', '[', ']', '"', ':', ',', '\\', ' ', '\t', '\r', '\uFEFF', '\u0000', '\uFFFD', '\ud800', '\udc00', 'é', '0', '-', 'e'];

    /// <summary>A plausible line, then damaged: characters deleted, inserted (incl. lone surrogates, BOM, CR), replaced, truncated, a key duplicated.</summary>
    private static readonly Gen<string> MutatedLine =
        from line in ValidishLine
        from kind in Gen.Choose(0, 7)
        from at in Gen.Choose(0, 1_000_000)
        from c in Gen.Elements(Significant)
        select Mutate(line, kind, at % (line.Length + 1), c);

    private static string Mutate(string line, int kind, int at, char c) => kind switch
    {
        0 => at < line.Length ? line.Remove(at, 1) : line,
        1 => line.Insert(at, c.ToString()),
        2 => at < line.Length ? line.Remove(at, 1).Insert(at, c.ToString()) : line + c,
        3 => line[..at],
        4 => line.Insert(1, "\"event_id\":\"dup\","),
        5 => line.Insert(1, "\"even\\u0074_id\":\"dup\","), // the same key, escaped
        6 => "\uFEFF" + line + "\r",
        _ => line.Insert(at, "\r"),
    };

    private static readonly Gen<byte[]> RandomBytes = Gen.ArrayOf(Gen.Choose(0, 255).Select(b => (byte)b))
        .Select(b => b.Where(x => x != (byte)'\n').ToArray());

    private static readonly Gen<string> DeepNesting =
        from depth in Gen.Choose(1, 20_000)
        from open in Gen.Elements("[", "{\"a\":")
        select "{\"event_id\":\"deep\",\"ts\":\"" + TsIn(Window, 1) + "\",\"event\":\"autosave.save.completed\",\"duration_ms\":1,\"p\":"
               + string.Concat(Enumerable.Repeat(open, depth)) + "1" + new string(open == "[" ? ']' : '}', depth) + "}";

    private static readonly Gen<string> Oversized = Gen.Choose(-2, 2).Select(d =>
        "{\"event_id\":\"big\",\"ts\":\"" + TsIn(Window, 2) + "\",\"event\":\"autosave.save.completed\",\"duration_ms\":1,\"pad\":\""
        + new string('a', TelemetryLineParser.MaxLineLength - 120 + d * 60) + "\"}");

    private static readonly Gen<string> Blankish = Gen.Elements("", " ", "\t", "\r", "\uFEFF", "\uFEFF\r", " \t \r", "\u00a0", "\u2028");

    /// <summary>Any line (as the parser receives it: text decoded from UTF-8 with U+FFFD for invalid bytes).</summary>
    private static readonly Gen<string> AnyLine = Gen.Frequency(
        (10, ValidishLine),
        (10, MutatedLine),
        (3, RandomBytes.Select(b => Utf8Lenient.GetString(b))),
        (1, DeepNesting),
        (2, Blankish),
        (1, Gen.Elements("not json", "[{\"event_id\":\"a\"}]", "\"just a string\"", "42", "null", "{", "}", "{\"event_id\":\"a\",}", "{} {}", "{}")));

    // ---------------------------------------------------------------- parser properties

    [Fact]
    public void Parsing_any_line_never_throws_and_every_non_blank_line_is_accepted_or_rejected_with_a_reason()
    {
        Prop.ForAll(AnyLine.ToArbitrary(), line =>
        {
            var parsed = TelemetryLineParser.Parse(line);
            CheckParsed(line, parsed);
        }).Check(Config(3000));
    }

    [Fact]
    public void Oversized_lines_are_rejected_without_parsing_and_lines_at_the_limit_are_parsed()
    {
        Prop.ForAll(Oversized.ToArbitrary(), line =>
        {
            var parsed = TelemetryLineParser.Parse(line);
            CheckParsed(line, parsed);
            if (line.Length > TelemetryLineParser.MaxLineLength)
                Assert.Equal($"line longer than {TelemetryLineParser.MaxLineLength} characters", parsed.Reason);
            else
                Assert.Equal(LineOutcome.Accepted, parsed.Outcome);
        }).Check(Config(10));
    }

    private static void CheckParsed(string line, ParsedLine parsed)
    {
        var text = line.StartsWith('\uFEFF') ? line[1..] : line;
        if (text.EndsWith('\r')) text = text[..^1];
        Assert.Equal(string.IsNullOrWhiteSpace(text), parsed.Outcome == LineOutcome.Blank);
        switch (parsed.Outcome)
        {
            case LineOutcome.Rejected:
                Assert.False(string.IsNullOrWhiteSpace(parsed.Reason), "a rejected line needs a reason");
                Assert.True(parsed.Reason!.Length <= 200, $"reason too long to read: {parsed.Reason.Length} characters");
                Assert.Null(parsed.Event);
                break;
            case LineOutcome.Accepted:
                var e = parsed.Event!;
                Assert.False(string.IsNullOrEmpty(e.EventId));
                Assert.Equal(parsed.Timestamp, e.Timestamp);
                if (e.Kind == TelemetryEventKind.SaveCompleted)
                {
                    Assert.True(e.DurationMs is { } d && double.IsFinite(d) && d >= 0 && !double.IsNegative(d), $"duration {e.DurationMs}");
                }
                // What the Collector writes for an accepted line must be valid JSON that reads back the same.
                var buffer = new ArrayBufferWriter<byte>();
                Collector.WriteNormalised(buffer, e, new JsonWriterOptions { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping });
                using (var doc = JsonDocument.Parse(buffer.WrittenMemory))
                    Assert.Equal(e.EventId, doc.RootElement.GetProperty("event_id").GetString());
                break;
        }
    }

    // ---------------------------------------------------------------- Collector: every line accounted for

    /// <summary>A source that hands the Collector exactly these lines for any window (as an HTTP source could).</summary>
    private sealed class ListSource(IReadOnlyList<string> lines) : ITelemetrySource
    {
        public string Description => "memory";

        public async IAsyncEnumerable<RawLine> ReadWindowAsync(TimeWindow window, [EnumeratorCancellation] CancellationToken ct = default)
        {
            await Task.Yield();
            for (var i = 0; i < lines.Count; i++) yield return new RawLine("generated.jsonl", i + 1, lines[i]);
        }
    }

    [Fact]
    public void The_Collector_accounts_for_every_line_of_any_input()
    {
        var run = 0;
        Prop.ForAll(Gen.ListOf(AnyLine).ToArbitrary(), lines =>
        {
            var store = Path.Combine(_dir, "memory-" + run++);
            var (manifest, rejectedLines, batchLines) = CollectAsync(store, new ListSource(lines.ToList())).GetAwaiter().GetResult();
            var expected = Classify(lines);
            AssertAccounted(manifest, rejectedLines, batchLines, expected, lines.Count);
            Directory.Delete(store, recursive: true);
        }).Check(Config(150));
    }

    [Fact]
    public void The_Collector_accounts_for_every_line_of_a_hostile_file_read_from_disk()
    {
        // Raw bytes this time: invalid UTF-8, BOMs, CR and NUL go through the file source's own decoding.
        var lineBytes = Gen.Frequency(
            (6, AnyLine.Where(l => TelemetryLineParser.Parse(l).Timestamp is not { } t || Window.Contains(t)).Select(l => Encoding.UTF8.GetBytes(l))),
            (1, RandomBytes),
            (1, ValidishLine.Where(l => TelemetryLineParser.Parse(l).Timestamp is not { } t || Window.Contains(t))
                .SelectMany(l => Gen.Choose(0, l.Length).Select(cut => Encoding.UTF8.GetBytes(l).Take(cut).Concat(new byte[] { 0xC3, 0x28, 0xFF }).ToArray()))));
        var run = 0;
        Prop.ForAll(Gen.NonEmptyListOf(lineBytes).ToArbitrary(), raw =>
        {
            var path = Path.Combine(_dir, $"input-{run}.jsonl");
            var bytes = new List<byte>();
            // A valid anchor line first, so that lines without a readable ts are placed in this window.
            bytes.AddRange(Encoding.UTF8.GetBytes("{\"event_id\":\"anchor\",\"ts\":\"" + TsIn(Window, 0) + "\",\"event\":\"autosave.save.completed\",\"duration_ms\":5}\n"));
            foreach (var line in raw) bytes.AddRange([.. line, (byte)'\n']);
            File.WriteAllBytes(path, bytes.ToArray());
            var decoded = new List<string> { Utf8Lenient.GetString(bytes.ToArray(), 0, bytes.IndexOf((byte)'\n')) };
            decoded.AddRange(raw.Select(l => Utf8Lenient.GetString(l)));

            var store = Path.Combine(_dir, "file-" + run++);
            var (manifest, rejectedLines, batchLines) = CollectAsync(store, new FileTelemetrySource(path)).GetAwaiter().GetResult();
            AssertAccounted(manifest, rejectedLines, batchLines, Classify(decoded), decoded.Count);
            Directory.Delete(store, recursive: true);
        }).Check(Config(100));
    }

    private sealed record Expected(int Blank, int Accepted, int Duplicates, int Ignored, IReadOnlyList<long> Rejected);

    // The accounting, from the lines alone: blank; rejected (parser, or ts outside the window); duplicate event_id
    // (first wins); ignored (valid, unknown event name); accepted.
    private static Expected Classify(IReadOnlyList<string> lines)
    {
        int blank = 0, accepted = 0, duplicates = 0, ignored = 0;
        var rejected = new List<long>();
        var ids = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < lines.Count; i++)
        {
            var p = TelemetryLineParser.Parse(lines[i]);
            if (p.Outcome == LineOutcome.Blank) blank++;
            else if (p.Outcome == LineOutcome.Rejected || !Window.Contains(p.Event!.Timestamp)) rejected.Add(i + 1);
            else if (!ids.Add(p.Event.EventId)) duplicates++;
            else if (p.Event.Kind == TelemetryEventKind.Other) ignored++;
            else accepted++;
        }
        return new Expected(blank, accepted, duplicates, ignored, rejected);
    }

    private static async Task<(BatchManifest Manifest, List<JsonElement> Rejected, long BatchLines)> CollectAsync(string store, ITelemetrySource source)
    {
        var blobs = new FileBlobStore(Path.Combine(store, "blobs"));
        var collector = new Collector(blobs, new FileQueueFactory(store, TimeProvider.System), new FileDistributedLock(store, TimeProvider.System),
            source, new SimulatedClock(Window.End), new CollectorOptions { BlockBytes = 4096 });
        var manifest = await collector.CollectWindowAsync(Window);
        var rejected = new List<JsonElement>();
        if (await blobs.TryGetAsync(StorePaths.Rejected(Window)) is { } r)
            foreach (var line in Encoding.UTF8.GetString(r.Content).Split('\n', StringSplitOptions.RemoveEmptyEntries))
                rejected.Add(JsonDocument.Parse(line).RootElement.Clone()); // the rejected file is valid JSONL
        await using var batch = (await blobs.TryOpenReadAsync(manifest.BatchPath))!;
        var lines = await Analyzer.AccumulateAsync(batch, new Core.Metrics.BatchAccumulator());
        return (manifest, rejected, lines);
    }

    private static void AssertAccounted(BatchManifest m, List<JsonElement> rejected, long batchLines, Expected expected, int lineCount)
    {
        var counted = m.Counts.Values.Sum();
        var ignored = m.Ignored.Values.Sum();
        Assert.Equal(lineCount, counted + ignored + m.Rejected + m.Duplicates + expected.Blank);
        Assert.Equal((expected.Accepted, expected.Ignored, expected.Duplicates, (long)expected.Rejected.Count), (counted, ignored, m.Duplicates, m.Rejected));
        Assert.Equal(counted, batchLines);
        Assert.Equal(expected.Rejected, rejected.Select(r => r.GetProperty("line").GetInt64()));
        Assert.All(rejected, r => Assert.False(string.IsNullOrWhiteSpace(r.GetProperty("reason").GetString())));
    }

    // ---------------------------------------------------------------- policy.yaml

    private static readonly string RepoPolicy = File.ReadAllText(RepoFiles.PathOf("policy.yaml"));

    private static readonly string[] YamlPieces =
    [
        ":", ": ", "-", "- ", "{", "}", "[", "]", ",", "&a ", "*a", "!!str ", "!!binary ", "!<tag:x> ", "|", ">", "%YAML 1.1\n", "---\n", "...\n",
        "#", "\"", "'", "\t", "\n", "\n  ", "\r", "\uFEFF", "? ", "~", "null", "1e400", "-0", ".inf", ".nan", "0x1F", "0o17", "99999999999999999999",
        "rollout", "phases", "slo", "A", "B", "C", "save_p95_s", "warn_ratio", "min_samples", "channels", "flag", "<<: ", "@", "`", "\\", "\u0000", "\ud800",
    ];

    private static readonly Gen<string> PolicyDocument = Gen.Frequency(
        (6, from kind in Gen.Choose(0, 3)
            from at in Gen.Choose(0, 100_000)
            from piece in Gen.Elements(YamlPieces)
            from times in Gen.Choose(1, 3)
            select MutateYaml(RepoPolicy, kind, at, piece, times)),
        (3, Gen.ListOf(Gen.Elements(YamlPieces)).Select(p => string.Concat(p))),
        (1, from depth in Gen.Choose(1, 20_000)
            from flow in Gen.Elements("[", "{a: ", "- ", "a:\n ")
            select "rollout:\n  phases: " + Nest(flow, depth)),
        (1, Gen.Choose(1, 12).Select(LaughingAliases)),
        (1, Gen.Elements(YamlPieces.Where(p => p.Length > 1).ToArray()).Select(v =>
            "rollout:\n  warn_ratio: " + v + "\n  phases:\n    A: {slo: {save_p95_s: " + v + "}}\n    B: {slo: {}}\n    C: {slo: {}}\n")));

    private static string MutateYaml(string yaml, int kind, int at, string piece, int times)
    {
        var result = yaml;
        for (var i = 0; i < times; i++)
        {
            var p = (at * (i + 7)) % (result.Length + 1);
            result = kind switch
            {
                0 => result.Insert(p, piece),
                1 => p < result.Length ? result.Remove(p, Math.Min(piece.Length, result.Length - p)) : result,
                2 => p < result.Length ? result.Remove(p, 1).Insert(p, piece) : result + piece,
                _ => result[..p],
            };
        }
        return result;
    }

    private static string Nest(string open, int depth) => open switch
    {
        "[" => new string('[', depth) + new string(']', depth),
        "{a: " => string.Concat(Enumerable.Repeat("{a: ", depth)) + "1" + new string('}', depth),
        "- " => string.Concat(Enumerable.Range(0, Math.Min(depth, 2000)).Select(i => "\n" + new string(' ', 4 + i) + "- ")) + "x",
        _ => string.Concat(Enumerable.Range(0, Math.Min(depth, 2000)).Select(i => "\n" + new string(' ', 4 + i) + "a:")) + " 1",
    };

    // "Billion laughs": each anchor doubles the previous ones.
    private static string LaughingAliases(int levels)
    {
        var sb = new StringBuilder("rollout:\n  l0: &l0 [lol, lol]\n");
        for (var i = 1; i <= levels; i++)
            sb.Append($"  l{i}: &l{i} [*l{i - 1}, *l{i - 1}, *l{i - 1}, *l{i - 1}]\n");
        sb.Append("  phases: {A: {slo: {}}, B: {slo: {}}, C: {slo: {}}}\n");
        return sb.ToString();
    }

    private static readonly Regex PolicyError = new(@"^policy\.yaml:[1-9][0-9]*:[1-9][0-9]*: [^\r\n]+: [^\r\n]+$", RegexOptions.CultureInvariant);

    [Fact]
    public void Any_policy_document_loads_or_fails_with_file_line_column_key_and_reason()
    {
        Prop.ForAll(PolicyDocument.ToArbitrary(), yaml =>
        {
            try
            {
                var policy = PolicyLoader.Parse(yaml, "policy.yaml");
                Assert.InRange(policy.WarnRatio, 0, 1);
                Assert.All(policy.Phases.Values, p => Assert.True(double.IsFinite(p.Slo.SaveP95Seconds) && p.Slo.SaveP95Seconds >= 0));
            }
            catch (PolicyValidationException ex)
            {
                Assert.Matches(PolicyError, ex.Message);
                Assert.True(ex.Message.Length < 600, $"error too long to read: {ex.Message.Length} characters");
            }
        }).Check(Config(2000));
    }

    // ---------------------------------------------------------------- examples of what the properties found

    private static string Line(string eventId, string duration = "1") =>
        "{\"event_id\":" + eventId + ",\"ts\":\"2026-11-20T08:00:01Z\",\"event\":\"autosave.save.completed\",\"duration_ms\":" + duration + "}";

    [Fact]
    public void An_escaped_unpaired_surrogate_is_rejected_not_thrown()
    {
        var parsed = TelemetryLineParser.Parse(Line("\"a\\ud800\""));
        Assert.Equal((LineOutcome.Rejected, "not valid JSON text: a \\u escape encodes an unpaired surrogate"), (parsed.Outcome, parsed.Reason));
    }

    [Fact]
    public void A_raw_unpaired_surrogate_is_rejected_not_thrown()
    {
        var parsed = TelemetryLineParser.Parse(Line("\"a\ud800\""));
        Assert.Equal((LineOutcome.Rejected, "invalid UTF-16 (unpaired surrogate)"), (parsed.Outcome, parsed.Reason));
    }

    [Fact]
    public void A_negative_zero_duration_is_read_as_zero()
    {
        var parsed = TelemetryLineParser.Parse(Line("\"a\"", "-0.0"));
        Assert.Equal(LineOutcome.Accepted, parsed.Outcome);
        Assert.False(double.IsNegative(parsed.Event!.DurationMs!.Value));
    }

    [Fact]
    public void Rejected_text_is_cut_before_a_surrogate_pair_and_unpaired_surrogates_are_replaced()
    {
        Assert.Equal(new string('a', 1999) + "…", Collector.RejectedText(new string('a', 1999) + "\ud83d\ude00b"));
        Assert.Equal(new string('a', 1998) + "\ud83d\ude00…", Collector.RejectedText(new string('a', 1998) + "\ud83d\ude00b"));
        Assert.Equal("a\uFFFDb\uFFFD", Collector.RejectedText("a\ud800b\udc00"));
    }

    [Fact]
    public void A_policy_nested_too_deep_fails_at_the_node_that_goes_too_deep()
    {
        var ex = Assert.Throws<PolicyValidationException>(() =>
            PolicyLoader.Parse("rollout:\n  phases: " + new string('[', 5000) + new string(']', 5000) + "\n", "policy.yaml"));
        Assert.Equal("policy.yaml:2:73: rollout.phases" + string.Concat(Enumerable.Repeat("[0]", 62)) + ": nested deeper than 64 levels", ex.Message);
    }

    [Fact]
    public void A_policy_error_quotes_values_on_one_line_and_shortened()
    {
        var ex = Assert.Throws<PolicyValidationException>(() => PolicyLoader.Parse("rollout:\n  warn_ratio: \"a\\nb\"\n", "policy.yaml"));
        Assert.Equal("policy.yaml:2:15: rollout.warn_ratio: expected a number, got quoted string 'a\\nb'", ex.Message);
        ex = Assert.Throws<PolicyValidationException>(() => PolicyLoader.Parse("rollout:\n  warn_ratio: " + new string('9', 500) + "x\n", "policy.yaml"));
        Assert.Equal("policy.yaml:2:15: rollout.warn_ratio: expected a number, got '" + new string('9', 40) + "…'", ex.Message);
    }
}
