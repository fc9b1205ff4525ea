namespace AutoSaveRollout.Host.Cli;

/// <summary>Operator CLI entry point (commands are added as the pipeline lands).</summary>
public static class RolloutCli
{
    /// <summary>Parses <paramref name="args"/> and runs the command; returns the process exit code.</summary>
    public static Task<int> RunAsync(string[] args) => Task.FromResult(0);
}
