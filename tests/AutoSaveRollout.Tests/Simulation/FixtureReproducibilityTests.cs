using System.Text;
using System.Text.RegularExpressions;
using AutoSaveRollout.Tests.Policy;

namespace AutoSaveRollout.Tests.Simulation;

/// <summary>
/// The committed telemetry fixtures are exactly what the <c>generate</c> commands recorded in
/// <c>fixtures/README.md</c> produce, so anyone can regenerate or vary them.
/// </summary>
public sealed partial class FixtureReproducibilityTests
{
    [GeneratedRegex(@"^autosave-rollout generate (?<args>.+)$", RegexOptions.Multiline)]
    private static partial Regex GenerateLine();

    private static string Readme => File.ReadAllText(RepoFiles.PathOf("fixtures/README.md"));

    private static IEnumerable<string> CommandArgs() =>
        GenerateLine().Matches(Readme).Select(m => m.Groups["args"].Value.Trim());

    public static TheoryData<string> RecordedCommands() => new(CommandArgs());

    private static (string Out, byte[] Bytes) Regenerate(string args)
    {
        var parts = args.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        var outIndex = Array.IndexOf(parts, "--out") + 1;
        Assert.True(outIndex > 0, "command has no --out");
        var recordedOut = parts[outIndex];
        var temp = Path.Combine(Path.GetTempPath(), $"fixture-{Guid.NewGuid():N}.jsonl");
        parts[outIndex] = temp;
        try
        {
            var (exit, _, stderr) = GenerateCommandTests.Run(parts);
            Assert.True(exit == 0, stderr);
            return (recordedOut, File.ReadAllBytes(temp));
        }
        finally
        {
            File.Delete(temp);
        }
    }

    [Fact]
    public void Readme_records_a_command_for_every_generated_fixture()
    {
        var outs = CommandArgs().Select(a => Regex.Match(a, @"--out (\S+)").Groups[1].Value).ToList();
        foreach (var name in new[] { "autosave_phaseA_clean", "autosave_phaseA_violation", "autosave_error_rate_violation",
                     "autosave_warn_band", "autosave_drift", "autosave_low_traffic" })
            Assert.Contains($"fixtures/telemetry/{name}.jsonl", outs);
        Assert.Contains(outs, o => !o.StartsWith("fixtures/", StringComparison.Ordinal)); // base of autosave_bad_lines
    }

    [Theory]
    [MemberData(nameof(RecordedCommands))]
    public void Recorded_command_reproduces_the_committed_fixture(string args)
    {
        var (recordedOut, bytes) = Regenerate(args);
        if (recordedOut.StartsWith("fixtures/telemetry/", StringComparison.Ordinal))
        {
            var committed = File.ReadAllBytes(RepoFiles.PathOf(recordedOut));
            Assert.True(committed.SequenceEqual(bytes), $"{recordedOut} differs from its recorded generate command");
            Assert.InRange(committed.Length, 1, 300 * 1024);
            return;
        }

        // The base of the hand-edited bad-lines fixture: its lines appear in order in the edited file.
        var edited = File.ReadAllText(RepoFiles.PathOf("fixtures/telemetry/autosave_bad_lines.jsonl"), new UTF8Encoding(false))
            .TrimStart('\uFEFF').Split('\n').Select(l => l.TrimEnd('\r')).ToList();
        var baseLines = Encoding.UTF8.GetString(bytes).TrimEnd('\n').Split('\n');
        var at = 0;
        foreach (var line in baseLines)
        {
            at = edited.IndexOf(line, at);
            Assert.True(at >= 0, $"base line missing from autosave_bad_lines.jsonl: {line}");
            at++;
        }
    }
}
