using AutoSaveRollout.Core.Lifecycle;
using System.CommandLine;
using AutoSaveRollout.Core.Policy;
using AutoSaveRollout.Core.Ports;
using AutoSaveRollout.Core.Reporting;
using AutoSaveRollout.Hosting;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Spectre.Console;

namespace AutoSaveRollout.Host.Cli;

/// <summary>Shared CLI plumbing: options, the exit-code contract (0 success, 2 bad input or configuration), console output.</summary>
internal static class CliSupport
{
    public const int Success = 0;
    public const int BadInput = 2;

    public static Option<string> PhaseOption(bool required, string description) => new("--phase")
    {
        Description = description,
        Required = required,
    };

    public static Option<string> PolicyOption() => new("--policy")
    {
        Description = "policy file (default: policy.yaml in the working directory)",
        DefaultValueFactory = _ => "policy.yaml",
    };

    public static Option<string> StoreOption(string defaultRoot) => new("--store")
    {
        Description = $"embedded storage folder (default: {defaultRoot})",
        DefaultValueFactory = _ => defaultRoot,
    };

    public static Option<string> StorageKindOption() => new("--storage")
    {
        Description = "embedded (files under --store, the default) or azure (Azure Storage / Azurite through the Azure SDK)",
        DefaultValueFactory = _ => "embedded",
    };

    public static Option<string?> ConnectionOption() => new("--connection")
    {
        Description = "Azure Storage connection string for --storage azure (else the AzureWebJobsStorage setting); never printed",
    };

    public static Option<bool> DryRunOption() => new("--dry-run")
    {
        Description = "render and record everything, send nothing outside, call no flag service",
    };

    /// <summary>
    /// The pipeline of one command (<see cref="RolloutPipelineRegistration.AddRolloutPipeline"/> on this command's inputs),
    /// checked as at start-up: a bad setting throws <see cref="ConfigurationException"/> (exit 2). Dispose it when done.
    /// </summary>
    public static ServiceProvider OpenPipeline(IConfiguration config, RolloutHostOptions host)
    {
        var provider = new ServiceCollection().AddRolloutPipeline(config, host).BuildServiceProvider();
        try
        {
            provider.ValidateRolloutPipeline();
            return provider;
        }
        catch
        {
            provider.Dispose();
            throw;
        }
    }

    /// <summary>No settings: for commands that read none (they work on storage the command line names).</summary>
    public static IConfiguration NoSettings() => new ConfigurationBuilder().Build();

    public static Phase ParsePhase(string? text, bool allowOff = false)
    {
        if (!PhaseExtensions.TryParse(text, out var phase) || (phase == Phase.Off && !allowOff))
            throw new ConfigurationException($"--phase must be A, B or C (got '{text}')");
        return phase;
    }

    /// <summary>Runs a command body, mapping bad input and configuration to exit code 2 with a one-line reason on stderr.</summary>
    public static async Task<int> GuardAsync(Func<Task<int>> body)
    {
        try
        {
            return await body().ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is PolicyValidationException or ConfigurationException or TemplateException or FileNotFoundException
                                       or DirectoryNotFoundException or InvalidDataException or FormatException or TelemetrySourceException
                                       or StorageException or UriFormatException or LifecycleException)
        {
            Console.Error.WriteLine("error: " + OneLine(ex.Message));
            return BadInput;
        }
    }

    public static string OneLine(string s) => s.ReplaceLineEndings(" ");

    /// <summary>Name of the file that marks an embedded store as a simulation's own (replay, analyze, <c>run --dry-run</c>).</summary>
    public const string ScratchMarker = "scratch-store";

    /// <summary>
    /// Makes sure the embedded store <paramref name="root"/> is one that <paramref name="command"/> may write (and replay and
    /// analyze may clear): missing, empty, or marked as a simulation's own store by <see cref="ScratchMarker"/>; then marks
    /// it. A store holding data without the mark is a live pipeline's store, which a simulation must never write: throws
    /// <see cref="ConfigurationException"/> (exit 2) naming it, before anything is written.
    /// </summary>
    public static void ClaimScratchStore(string root, string command)
    {
        var full = Path.GetFullPath(root);
        if (Directory.Exists(full) && !File.Exists(Path.Combine(full, ScratchMarker))
            && Directory.EnumerateFiles(full, "*", SearchOption.AllDirectories).Any())
            throw new ConfigurationException($"{full} holds pipeline data that {command} did not create (a live store?); {command} writes only its own " +
                                             "store: pass an empty or new --store folder");
        Directory.CreateDirectory(full);
        var marker = Path.Combine(full, ScratchMarker);
        if (!File.Exists(marker))
            File.WriteAllText(marker, $"scratch store of autosave-rollout {command}: simulated records, never a live pipeline's; safe to delete\n");
    }

    /// <summary>A number for a table cell (<paramref name="format"/>, invariant culture), or <c>–</c> when undefined.</summary>
    public static string Cell(double? value, string format) =>
        value is { } x ? x.ToString(format, System.Globalization.CultureInfo.InvariantCulture) : "–";

    /// <summary>A table column; the ones named in <paramref name="noWrap"/> (ids, times) never wrap, so an id is never broken across lines.</summary>
    public static TableColumn Column(string header, IReadOnlyCollection<string> noWrap)
    {
        var column = new TableColumn(header);
        return noWrap.Contains(header) ? column.NoWrap() : column;
    }

    /// <summary>Console width used when output is redirected: wide enough that no table cell (ids, rollback commands) wraps.</summary>
    public const int RedirectedWidth = 4096;

    /// <summary>
    /// A console that keeps tables readable when output is redirected (pipes, CI logs, files): no colours or ANSI codes, a
    /// width (<see cref="RedirectedWidth"/>) at which no cell wraps, so ids never break across lines, and every line cut
    /// of its trailing padding, so nothing is padded to the console width. On a terminal, Spectre's detection applies.
    /// </summary>
    public static IAnsiConsole CreateConsole()
    {
        var redirected = Console.IsOutputRedirected;
        var console = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Out = new AnsiConsoleOutput(redirected ? new TrailingSpaceTrimmer(Console.Out) : Console.Out),
            Ansi = redirected ? AnsiSupport.No : AnsiSupport.Detect,
            ColorSystem = redirected ? ColorSystemSupport.NoColors : ColorSystemSupport.Detect,
        });
        if (redirected) console.Profile.Width = RedirectedWidth;
        return console;
    }

    /// <summary>Writes complete lines to <paramref name="inner"/> without their trailing spaces; a partial line waits for its end or <see cref="Flush"/>.</summary>
    private sealed class TrailingSpaceTrimmer(TextWriter inner) : TextWriter
    {
        private readonly System.Text.StringBuilder _line = new();

        public override System.Text.Encoding Encoding => inner.Encoding;

        public override void Write(char value)
        {
            if (value == '\n')
            {
                inner.Write(_line.ToString().TrimEnd(' ', '\r'));
                inner.Write('\n');
                _line.Clear();
            }
            else _line.Append(value);
        }

        public override void Write(string? value)
        {
            foreach (var c in value ?? "") Write(c);
        }

        public override void Flush()
        {
            if (_line.Length > 0)
            {
                inner.Write(_line.ToString().TrimEnd(' '));
                _line.Clear();
            }
            inner.Flush();
        }
    }
}
