using System.CommandLine;

namespace AutoSaveRollout.Host.Cli;

/// <summary>
/// Operator CLI: <c>replay</c>, <c>analyze</c>, <c>run</c>, <c>status</c>, <c>rollback</c>, <c>generate</c>, <c>dlq</c>, <c>metrics</c>.
/// Exit codes: 0 success, 2 bad input or configuration (one-line reason on stderr), 3 completed with failed or
/// dead-lettered outward actions (<c>replay</c>, <c>analyze</c>; one summary line on stderr).
/// </summary>
public static class RolloutCli
{
    /// <summary>Builds the root command.</summary>
    public static RootCommand CreateRootCommand()
    {
        var root = new RootCommand("AutoSave Rollout Monitor: Collector → Analyzer → Reporter for the AutoSave phased rollout");
        root.Add(ReplayCommand.Create());
        root.Add(AnalyzeCommand.Create());
        root.Add(RunCommand.Create());
        root.Add(StatusCommand.Create());
        root.Add(RollbackCommand.Create());
        root.Add(LifecycleCommands.Approve());
        root.Add(LifecycleCommands.ReviewFailure());
        root.Add(LifecycleCommands.Waive());
        root.Add(LifecycleCommands.Rca());
        root.Add(GenerateCommand.Create());
        root.Add(DlqCommand.Create());
        root.Add(MetricsCommand.Create());
        return root;
    }

    /// <summary>Parses <paramref name="args"/> and runs the command; returns the process exit code.</summary>
    public static async Task<int> RunAsync(string[] args)
    {
        var parse = CreateRootCommand().Parse(args);
        if (parse.Errors.Count > 0)
        {
            foreach (var e in parse.Errors) Console.Error.WriteLine("error: " + e.Message);
            return CliSupport.BadInput;
        }
        return await parse.InvokeAsync().ConfigureAwait(false);
    }
}
