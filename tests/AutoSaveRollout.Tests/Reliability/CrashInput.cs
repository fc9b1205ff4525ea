using System.Text;
using AutoSaveRollout.Core.Simulation;
using AutoSaveRollout.Core.Telemetry;
using AutoSaveRollout.Core.Windows;

namespace AutoSaveRollout.Tests.Reliability;

/// <summary>
/// Telemetry for the crash tests, meant to be replayed from phase C: healthy traffic (no errors, P95 ≈ 1.4 s) with a
/// 15-minute latency incident (× 3) at each offset in <paramref name="incidentMinutes"/>, so the phase steps C→B→A→off,
/// with ok posts in C and B. Every 97th line is followed by a re-sent copy (a duplicate) and every 211th by a bad line,
/// so batches, duplicate counts and rejected files all matter.
/// </summary>
internal static class CrashInput
{
    /// <summary>Writes the input to <paramref name="path"/> and returns the expected batch line count per window.</summary>
    public static IReadOnlyDictionary<DateTimeOffset, int> Write(string path, TimeSpan duration, int seed, params int[] incidentMinutes)
    {
        var generated = TelemetryGenerator.WriteToString(new TelemetryGeneratorOptions
        {
            Duration = duration,
            Seed = seed,
            SavesPerSecond = 0.2,
            ErrorRatio = 0,
            Incidents = incidentMinutes.Select(m => new TelemetryIncident(TimeSpan.FromMinutes(m), TimeSpan.FromMinutes(15), 3.0)).ToList(),
        });
        var lines = new List<string>();
        var n = 0;
        foreach (var line in generated.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            lines.Add(line);
            n++;
            if (n % 97 == 0) lines.Add(line);
            if (n % 211 == 0) lines.Add(n % 2 == 0 ? "{\"event_id\":\"bad-" + n + "\",\"event\":\"autosave.save.completed\"}" : "not json " + n);
        }
        File.WriteAllText(path, string.Join("\n", lines) + "\n", new UTF8Encoding(false));
        return ExpectedBatchLines(lines);
    }

    /// <summary>
    /// Batch lines each window must hold, from the input alone: accepted events of a known kind, one per event_id in
    /// their window (the first one wins).
    /// </summary>
    public static IReadOnlyDictionary<DateTimeOffset, int> ExpectedBatchLines(IEnumerable<string> lines)
    {
        var seen = new HashSet<(DateTimeOffset, string)>();
        var counts = new SortedDictionary<DateTimeOffset, int>();
        foreach (var line in lines)
        {
            var parsed = TelemetryLineParser.Parse(line);
            if (parsed is not { Outcome: LineOutcome.Accepted, Event: { Kind: not TelemetryEventKind.Other } e }) continue;
            var window = TimeWindow.Containing(e.Timestamp).Start;
            if (seen.Add((window, e.EventId))) counts[window] = counts.GetValueOrDefault(window) + 1;
        }
        return counts;
    }
}
