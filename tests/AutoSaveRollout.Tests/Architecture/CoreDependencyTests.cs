using System.Text.RegularExpressions;
using AutoSaveRollout.Tests.Policy;
using Xunit;

namespace AutoSaveRollout.Tests.Architecture;

/// <summary>
/// The shape ARCHITECTURE.md promises, checked on the source: no dependency cycle between Core folders, Core free of
/// Azure, HTTP and file-system adapters, and no Core file over 350 lines.
/// </summary>
public sealed partial class CoreDependencyTests
{
    private static readonly string Core = RepoFiles.PathOf("shared/AutoSaveRollout.Core");

    private static IEnumerable<string> Sources(string folder) =>
        Directory.EnumerateFiles(folder, "*.cs", SearchOption.AllDirectories)
            .Where(f => !f.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}") &&
                        !f.Contains($"{Path.DirectorySeparatorChar}bin{Path.DirectorySeparatorChar}"));

    private static Dictionary<string, HashSet<string>> FolderDependencies()
    {
        var folders = Directory.GetDirectories(Core).Select(Path.GetFileName).Where(f => f is not ("bin" or "obj")).Select(f => f!).ToHashSet();
        var deps = folders.ToDictionary(f => f, _ => new HashSet<string>());
        foreach (var folder in folders)
        foreach (var file in Sources(Path.Combine(Core, folder)))
        foreach (var line in File.ReadLines(file).Where(l => !l.TrimStart().StartsWith("//", StringComparison.Ordinal)))
        foreach (Match m in CoreNamespace().Matches(line))
            if (folders.Contains(m.Groups[1].Value) && m.Groups[1].Value != folder) deps[folder].Add(m.Groups[1].Value);
        return deps;
    }

    [GeneratedRegex(@"AutoSaveRollout\.Core\.(\w+)")]
    private static partial Regex CoreNamespace();

    [Fact]
    public void Core_folders_depend_on_each_other_without_cycles()
    {
        var deps = FolderDependencies();
        HashSet<string> Reach(string from)
        {
            var seen = new HashSet<string>();
            var todo = new Stack<string>(deps[from]);
            while (todo.TryPop(out var f))
                if (seen.Add(f)) foreach (var next in deps[f]) todo.Push(next);
            return seen;
        }
        var cycles = deps.Keys.SelectMany(a => deps[a].Where(b => Reach(b).Contains(a)).Select(b => $"{a} <-> {b}")).ToList();
        Assert.True(cycles.Count == 0, "cycles between Core folders: " + string.Join(", ", cycles));
        Assert.Empty(deps["State"].Intersect(["Pipeline", "Lifecycle", "Reporting"]));  // the rollout model is below the stages
        Assert.Empty(deps["Pipeline"].Intersect(["Lifecycle"]));                       // the Reporter knows the lifecycle only as IReportFollowUp
    }

    [Fact]
    public void Core_uses_no_adapter_sdk_http_or_file_system_api()
    {
        var csproj = File.ReadAllText(Path.Combine(Core, "AutoSaveRollout.Core.csproj"));
        Assert.DoesNotContain("ProjectReference", csproj);
        Assert.DoesNotContain("Azure.", csproj);
        // Known, documented exceptions: Core reads its own configuration files at start-up (policy.yaml, template
        // overrides; it stores nothing through the file system) and classifies a SocketException as transient.
        string[] allowed = ["Policy/PolicyLoader.cs", "Reporting/TemplateRenderer.cs", "Reliability/TransientFailures.cs"];
        var offenders = Sources(Core)
            .Where(f => !allowed.Contains(Path.GetRelativePath(Core, f).Replace(Path.DirectorySeparatorChar, '/')))
            .Where(f => File.ReadLines(f).Any(l => l.StartsWith("using System.Net", StringComparison.Ordinal) ||
                                                    l.StartsWith("using Azure", StringComparison.Ordinal) ||
                                                    l.Contains("File.Open", StringComparison.Ordinal) ||
                                                    l.Contains("File.ReadAll", StringComparison.Ordinal) ||
                                                    l.Contains("new HttpClient", StringComparison.Ordinal)))
            .Select(f => Path.GetRelativePath(Core, f)).ToList();
        Assert.True(offenders.Count == 0, "Core files using I/O APIs: " + string.Join(", ", offenders));
    }

    [Fact]
    public void No_Core_file_is_over_350_lines()
    {
        var large = Sources(Core).Select(f => (File: Path.GetRelativePath(Core, f), Lines: File.ReadLines(f).Count()))
            .Where(x => x.Lines > 350).Select(x => $"{x.File} ({x.Lines})").ToList();
        Assert.True(large.Count == 0, "Core files over 350 lines: " + string.Join(", ", large));
    }
}
