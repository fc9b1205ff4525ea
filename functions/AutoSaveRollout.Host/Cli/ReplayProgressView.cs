using System.Diagnostics;
using System.Globalization;
using AutoSaveRollout.Host.Replay;
using Spectre.Console;

namespace AutoSaveRollout.Host.Cli;

/// <summary>
/// Shows a replay's progress on standard error, so standard output keeps only the result. On a terminal: a Spectre.Console
/// progress bar with windows done / total, percentage and the remaining time (ETA); when standard error is redirected
/// (CI logs, files): one line per 10 % reached, <c>replay: 30% (9/30 windows), elapsed 0:04, ETA 0:09</c>, the last one at
/// 100 %. ETA is the elapsed time per finished window times the windows left.
/// </summary>
internal static class ReplayProgressView
{
    /// <summary>Runs <paramref name="run"/> with a progress sink shown as described on the class.</summary>
    public static async Task<T> RunAsync<T>(Func<IProgress<ReplayProgress>, Task<T>> run)
    {
        if (Console.IsErrorRedirected) return await run(new Lines(Console.Error));
        var console = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(Console.Error) });
        return await console.Progress()
            .AutoClear(false)
            .HideCompleted(false)
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new RemainingTimeColumn(), new SpinnerColumn())
            .StartAsync(async context =>
            {
                var task = context.AddTask("replay: windows", autoStart: true, maxValue: 1);
                return await run(new Sink(p =>
                {
                    task.MaxValue = Math.Max(1, p.Total);
                    task.Value = p.Done;
                    task.Description = $"replay: {p.Done}/{p.Total} windows";
                }));
            });
    }

    /// <summary>The redirected form: a line when the percentage reaches the next multiple of 10.</summary>
    internal sealed class Lines(TextWriter output) : IProgress<ReplayProgress>
    {
        private readonly Stopwatch _clock = Stopwatch.StartNew();
        private int _lastTenth = -1;

        public void Report(ReplayProgress value)
        {
            if (value.Total <= 0 || value.Done <= 0) return;
            var tenth = (int)((long)value.Done * 10 / value.Total);
            if (tenth <= _lastTenth || tenth == 0) return;
            _lastTenth = tenth;
            var elapsed = _clock.Elapsed;
            var eta = TimeSpan.FromTicks(elapsed.Ticks / value.Done * (value.Total - value.Done));
            var percent = (int)((long)value.Done * 100 / value.Total);
            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"replay: {percent}% ({value.Done}/{value.Total} windows), elapsed {Format(elapsed)}, ETA {Format(eta)}"));
            output.Flush();
        }

        private static string Format(TimeSpan t) => t.TotalHours >= 1 ? t.ToString(@"h\:mm\:ss", CultureInfo.InvariantCulture) : t.ToString(@"m\:ss", CultureInfo.InvariantCulture);
    }

    private sealed class Sink(Action<ReplayProgress> report) : IProgress<ReplayProgress>
    {
        public void Report(ReplayProgress value) => report(value);
    }
}
