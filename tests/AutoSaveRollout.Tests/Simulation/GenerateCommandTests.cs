using System.CommandLine;
using System.Text;
using AutoSaveRollout.Core.Simulation;
using AutoSaveRollout.Host.Cli;

namespace AutoSaveRollout.Tests.Simulation;

public sealed class GenerateCommandTests : IDisposable
{
    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("generate-");

    public void Dispose() => _dir.Delete(recursive: true);

    internal static (int Exit, string Out, string Err) Run(params string[] args)
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        var exit = GenerateCommand.Create().Parse(args).Invoke(new InvocationConfiguration { Output = stdout, Error = stderr });
        return (exit, stdout.ToString(), stderr.ToString());
    }

    [Fact]
    public void Writes_the_same_bytes_as_the_generator_with_the_equivalent_options_as_utf8_without_bom()
    {
        var path = Path.Combine(_dir.FullName, "sub", "out.jsonl");
        var (exit, stdout, stderr) = Run("--out", path, "--start", "2026-11-20T09:30:00Z", "--hours", "1.5", "--rate", "0.4",
            "--seed", "17", "--median-ms", "700", "--sigma", "0.3", "--error-ratio", "0.01", "--diurnal", "0.2",
            "--drift-per-hour", "1", "--incident", "30:15:3:0.05", "--incident", "60:15:1:-:2");

        Assert.True(exit == 0, stderr);
        var expected = TelemetryGenerator.WriteToString(new TelemetryGeneratorOptions
        {
            Start = new DateTimeOffset(2026, 11, 20, 9, 30, 0, TimeSpan.Zero),
            Duration = TimeSpan.FromHours(1.5), SavesPerSecond = 0.4, Seed = 17, MedianMs = 700, Sigma = 0.3,
            ErrorRatio = 0.01, DiurnalAmplitude = 0.2, DriftPerHour = 1,
            Incidents =
            [
                new TelemetryIncident(TimeSpan.FromMinutes(30), TimeSpan.FromMinutes(15), 3, 0.05),
                new TelemetryIncident(TimeSpan.FromMinutes(60), TimeSpan.FromMinutes(15), 1, null, 2),
            ],
        });
        var bytes = File.ReadAllBytes(path);
        Assert.Equal(Encoding.UTF8.GetBytes(expected), bytes);
        Assert.NotEqual(0xEF, bytes[0]);
        Assert.Matches(@"^wrote \d+ events \(\d+ completed, \d+ errors, [2-9]\d* drift\) to ", stdout);
    }

    [Fact]
    public void Defaults_match_the_generator_defaults()
    {
        var path = Path.Combine(_dir.FullName, "default.jsonl");
        Assert.Equal(0, Run("--out", path).Exit);
        Assert.Equal(TelemetryGenerator.WriteToString(new TelemetryGeneratorOptions()), File.ReadAllText(path));
    }

    [Theory]
    [InlineData("--incident", "30:15:3")]
    [InlineData("--incident", "a:15:3:0.1")]
    [InlineData("--rate", "fast")]
    [InlineData("--start", "yesterday")]
    public void Malformed_values_fail_parsing_and_write_nothing(string option, string value)
    {
        var path = Path.Combine(_dir.FullName, "bad.jsonl");
        var (exit, _, stderr) = Run("--out", path, option, value);

        Assert.NotEqual(0, exit);
        Assert.Contains(value, stderr);
        Assert.False(File.Exists(path));
    }

    [Fact]
    public void Out_of_range_values_exit_2_with_the_reason()
    {
        var path = Path.Combine(_dir.FullName, "bad.jsonl");
        var (exit, _, stderr) = Run("--out", path, "--error-ratio", "1.5");

        Assert.Equal(2, exit);
        Assert.Contains("ErrorRatio must be in [0, 1]", stderr);
        Assert.False(File.Exists(path));
    }

    [Fact]
    public void Missing_out_is_a_parse_error()
    {
        var (exit, _, stderr) = Run("--hours", "1");
        Assert.NotEqual(0, exit);
        Assert.Contains("--out", stderr);
    }
}
