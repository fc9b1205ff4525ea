using System.Text;
using System.Text.Json;
using AutoSaveRollout.Core.Outboxes;
using AutoSaveRollout.Core.Pipeline;
using AutoSaveRollout.Core.Ports;
using AutoSaveRollout.Core.Storage;

namespace AutoSaveRollout.Host.Cli;

/// <summary>
/// The honest end of <c>replay</c> and <c>analyze</c>: every outward action of the store's outboxes (windows, collector
/// incidents, lifecycle) that did not end <c>done</c> or <c>dry_run</c>, and every message dead-lettered
/// (<see cref="QueueProcessor.DeadLetterLog"/>). Any of them makes the command exit 3 after one summary line naming each.
/// </summary>
internal static class ActionOutcomes
{
    /// <summary>Exit code of a command that completed with failed or dead-lettered outward actions.</summary>
    public const int CompletedWithFailures = 3;

    /// <summary>One secret-free description per failed action or dead-lettered message of the store, in path order; empty when none.</summary>
    public static async Task<IReadOnlyList<string>> FailuresAsync(IBlobStore blobs, CancellationToken ct)
    {
        var failures = new List<string>();
        var paths = new List<string>();
        await foreach (var path in blobs.ListAsync("reports/outbox/", ct)) if (path.EndsWith(".json", StringComparison.Ordinal)) paths.Add(path);
        paths.Sort(StringComparer.Ordinal);
        foreach (var path in paths)
        {
            if (await blobs.TryGetAsync(path, ct) is not { } blob) continue;
            Outbox outbox;
            try { outbox = Json.FromBytes<Outbox>(blob.Content); }
            catch (JsonException) { failures.Add($"{path}: unreadable outbox"); continue; }
            foreach (var a in outbox.Actions.Where(a => !a.Status.IsFinished))
                failures.Add($"{outbox.DecisionId} {a.Id} ({a.Target}) {a.Status} after {a.Attempts} attempt(s)" +
                             (a.LastError is { Length: > 0 } e ? ": " + CliSupport.OneLine(e) : ""));
        }
        if (await blobs.TryGetAsync(QueueProcessor.DeadLetterLog, ct) is { } log)
        {
            foreach (var line in Encoding.UTF8.GetString(log.Content).Split('\n', StringSplitOptions.RemoveEmptyEntries))
            {
                DeadLetterRecord? record;
                try { record = JsonSerializer.Deserialize<DeadLetterRecord>(line, Json.Compact); }
                catch (JsonException) { record = null; }
                failures.Add(record is null ? "an unreadable dead-letter record"
                    : $"{record.Queue} message {record.MessageId} dead-lettered after {record.DequeueCount} deliveries: {CliSupport.OneLine(record.Error)}");
            }
        }
        return failures;
    }

    /// <summary>Prints the summary line on stderr and returns 3 when <paramref name="failures"/> is not empty; else returns 0.</summary>
    public static int Report(IReadOnlyList<string> failures)
    {
        if (failures.Count == 0) return CliSupport.Success;
        Console.Error.WriteLine($"completed with {failures.Count} failed or dead-lettered outward action(s): {string.Join("; ", failures)}");
        return CompletedWithFailures;
    }
}
