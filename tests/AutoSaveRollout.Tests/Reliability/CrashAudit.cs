using System.Text;
using AutoSaveRollout.Core.Pipeline;
using AutoSaveRollout.Core.Reporting;
using AutoSaveRollout.Hosting;
using AutoSaveRollout.Core.Outboxes;
using AutoSaveRollout.Core.State;
using AutoSaveRollout.Core.Storage;

namespace AutoSaveRollout.Tests.Reliability;

/// <summary>
/// What an uninterrupted replay produced (its embedded store and what the peers received), and the checks that a
/// crashed-and-resumed replay of the same input must pass against it: nothing lost, nothing doubled.
/// </summary>
internal sealed class CrashReference
{
    private CrashReference(string store, IReadOnlyDictionary<string, int> slack, IReadOnlyList<string> incidents,
        IReadOnlyList<(string Key, string From, string To)> rollbacks)
    {
        Store = store;
        SlackPosts = slack.Keys.ToHashSet(StringComparer.Ordinal);
        Incidents = incidents;
        Rollbacks = rollbacks;
    }

    /// <summary>Embedded store root of the reference run.</summary>
    public string Store { get; }

    /// <summary>Every Slack post ("{webhook path} {text}") the reference made, each exactly once.</summary>
    public IReadOnlySet<string> SlackPosts { get; }

    /// <summary>PagerDuty dedup keys, in order.</summary>
    public IReadOnlyList<string> Incidents { get; }

    /// <summary>Rollbacks performed, in order.</summary>
    public IReadOnlyList<(string Key, string From, string To)> Rollbacks { get; }

    /// <summary>Captures the reference from its store and peers; fails unless every outward action happened exactly once.</summary>
    public static CrashReference Capture(string store, FakePeers peers)
    {
        Assert.Empty(peers.Conflicts);
        Assert.All(peers.SlackPosts, kv => Assert.Equal(1, kv.Value));
        Assert.All(peers.Incidents, i => Assert.Equal(1, i.Triggers));
        Assert.All(peers.FlagCalls, kv => Assert.Equal(1, kv.Value));
        var reference = new CrashReference(store, peers.SlackPosts, peers.Incidents.Select(i => i.DedupKey).ToList(), peers.Rollbacks);
        // The input must exercise every step, one phase each, one per violation decision, each with its incident and runbook line.
        Assert.Equal([("C", "B"), ("B", "A"), ("A", "off")], reference.Rollbacks.Select(r => (r.From, r.To)));
        var violations = Files("decisions", store)
            .Select(f => Json.FromBytes<DecisionRecord>(File.ReadAllBytes(Path.Combine(PipelineFactory.BlobRoot(store), f))))
            .Where(d => d.RollbackRequired).ToList();
        Assert.Equal(violations.Select(d => d.DecisionId), reference.Rollbacks.Select(r => r.Key));
        Assert.Equal(violations.Select(PagerDutyTriggers.DedupKey), reference.Incidents);
        Assert.Equal(violations.Select(d => d.DecisionId), RunbookEntries(store).Select(l => l[..l.IndexOf(' ')]));
        return reference;
    }

    /// <summary>
    /// Returns every way <paramref name="store"/> and <paramref name="peers"/> differ from the reference beyond what a
    /// crash may cause (empty when healed). <paramref name="crashes"/> bounds the repeated Slack posts: at most one per crash.
    /// </summary>
    public List<string> Differences(string store, FakePeers peers, int crashes, IReadOnlyDictionary<DateTimeOffset, int> expectedBatchLines)
    {
        var problems = new List<string>();

        // Exactly one decision per window, identical to the uninterrupted run's (same phase, numbers, id).
        CompareFiles("decisions", store, problems);
        // Batches, manifests and rejected lines identical: no batch line missing or doubled.
        CompareFiles("autosave", store, problems);
        foreach (var (window, count) in expectedBatchLines)
        {
            var batch = Path.Combine(PipelineFactory.BlobRoot(store), "autosave", window.UtcDateTime.ToString("yyyy/MM/dd/HHmm") + ".jsonl");
            var lines = File.Exists(batch) ? File.ReadAllLines(batch).Length : -1;
            if (lines != count) problems.Add($"batch {window:HH:mm}: {lines} lines, input has {count} accepted events");
        }

        // Outbox: every planned action done.
        foreach (var file in Files("reports/outbox", Store))
        {
            var expected = Json.FromBytes<Outbox>(File.ReadAllBytes(Path.Combine(PipelineFactory.BlobRoot(Store), file)));
            var path = Path.Combine(PipelineFactory.BlobRoot(store), file);
            if (!File.Exists(path)) { problems.Add($"{file}: missing"); continue; }
            var actual = Json.FromBytes<Outbox>(File.ReadAllBytes(path));
            if (!actual.Actions.Select(a => a.Id).SequenceEqual(expected.Actions.Select(a => a.Id)))
                problems.Add($"{file}: actions {string.Join(",", actual.Actions.Select(a => a.Id))}");
            foreach (var a in actual.Actions.Where(a => a.Status != ActionStatus.Done))
                problems.Add($"{file}: {a.Id} is {a.Status}");
        }

        // Slack: every post at least once, at most twice, and at most one repeat per crash.
        var slack = peers.SlackPosts;
        foreach (var post in SlackPosts.Where(p => !slack.ContainsKey(p))) problems.Add("slack post never delivered: " + post);
        foreach (var post in slack.Keys.Where(p => !SlackPosts.Contains(p))) problems.Add("unexpected slack post: " + post);
        foreach (var (post, n) in slack.Where(kv => kv.Value > 2)) problems.Add($"slack post delivered {n} times: {post}");
        var repeats = slack.Values.Sum(n => n - 1);
        if (repeats > crashes) problems.Add($"{repeats} repeated slack posts after {crashes} crash(es)");

        // PagerDuty: one incident per violation (one distinct dedup key each); flag service: one rollback per decision.
        var incidents = peers.Incidents.Select(i => i.DedupKey).ToList();
        if (!incidents.SequenceEqual(Incidents)) problems.Add($"pagerduty incidents [{string.Join(", ", incidents)}], expected [{string.Join(", ", Incidents)}]");
        var rollbacks = peers.Rollbacks;
        if (!rollbacks.SequenceEqual(Rollbacks))
            problems.Add($"rollbacks [{string.Join(", ", rollbacks.Select(r => $"{r.From}→{r.To}"))}], expected [{string.Join(", ", Rollbacks.Select(r => $"{r.From}→{r.To}"))}]");
        problems.AddRange(peers.Conflicts);

        // Runbook: exactly one line per rollback (compared without the timestamp, which is when it was written).
        var runbook = RunbookEntries(store);
        var expectedRunbook = RunbookEntries(Store);
        if (!runbook.SequenceEqual(expectedRunbook)) problems.Add($"runbook:\n  {string.Join("\n  ", runbook)}\nexpected:\n  {string.Join("\n  ", expectedRunbook)}");

        // State and dashboard agree with the uninterrupted run.
        var state = Read<RolloutState>(store, StorePaths.RolloutState);
        var expectedState = Read<RolloutState>(Store, StorePaths.RolloutState);
        if (state is null || (state.Phase, state.RollbackActive, state.RollbackDecisionId, state.LastDecidedWindowStart)
            != (expectedState!.Phase, expectedState.RollbackActive, expectedState.RollbackDecisionId, expectedState.LastDecidedWindowStart))
            problems.Add($"state {state?.Phase}/{state?.RollbackActive}/{state?.RollbackDecisionId}, expected {expectedState!.Phase}/{expectedState.RollbackActive}/{expectedState.RollbackDecisionId}");
        var dashboard = Read<Dashboard>(store, StorePaths.Dashboard);
        var expectedDashboard = Read<Dashboard>(Store, StorePaths.Dashboard)!;
        if (dashboard is null || dashboard.Phase != expectedDashboard.Phase || dashboard.RollbackActive != expectedDashboard.RollbackActive
            || dashboard.SloCard?.DecisionId != expectedDashboard.SloCard?.DecisionId
            || !dashboard.RecentDecisions.Select(d => d.DecisionId).SequenceEqual(expectedDashboard.RecentDecisions.Select(d => d.DecisionId)))
            problems.Add("dashboard differs from the uninterrupted run's");

        if (File.Exists(Path.Combine(PipelineFactory.BlobRoot(store), QueueProcessor.DeadLetterLog)))
            problems.Add("dead letters: " + File.ReadAllText(Path.Combine(PipelineFactory.BlobRoot(store), QueueProcessor.DeadLetterLog)));
        return problems;
    }

    private void CompareFiles(string container, string store, List<string> problems)
    {
        var expected = Files(container, Store);
        var actual = Files(container, store);
        foreach (var f in expected.Except(actual)) problems.Add($"{f}: missing");
        foreach (var f in actual.Except(expected)) problems.Add($"{f}: unexpected");
        foreach (var f in expected.Intersect(actual))
        {
            var a = File.ReadAllBytes(Path.Combine(PipelineFactory.BlobRoot(store), f));
            var e = File.ReadAllBytes(Path.Combine(PipelineFactory.BlobRoot(Store), f));
            if (!a.AsSpan().SequenceEqual(e)) problems.Add($"{f}: differs from the uninterrupted run ({a.Length} vs {e.Length} bytes)");
        }
    }

    /// <summary>Blob paths (relative, '/'-separated) under <paramref name="prefix"/> of an embedded store, temporary files excluded.</summary>
    private static List<string> Files(string prefix, string store)
    {
        var root = PipelineFactory.BlobRoot(store);
        var dir = Path.Combine(root, prefix.Replace('/', Path.DirectorySeparatorChar));
        if (!Directory.Exists(dir)) return [];
        return Directory.EnumerateFiles(dir, "*", SearchOption.AllDirectories)
            .Select(f => Path.GetRelativePath(root, f).Replace(Path.DirectorySeparatorChar, '/'))
            .Where(f => !Path.GetFileName(f).StartsWith('.') && !f.Contains(".tmp", StringComparison.Ordinal))
            .Order(StringComparer.Ordinal)
            .ToList();
    }

    private static List<string> RunbookEntries(string store)
    {
        var path = Path.Combine(PipelineFactory.BlobRoot(store), StorePaths.Runbook);
        if (!File.Exists(path)) return [];
        return File.ReadAllText(path, Encoding.UTF8).Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(l => l[(l.IndexOf(' ') + 1)..])
            .ToList();
    }

    private static T? Read<T>(string store, string blob) where T : class
    {
        var path = Path.Combine(PipelineFactory.BlobRoot(store), blob);
        return File.Exists(path) ? Json.FromBytes<T>(File.ReadAllBytes(path)) : null;
    }
}
