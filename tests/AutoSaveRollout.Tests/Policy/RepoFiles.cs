namespace AutoSaveRollout.Tests.Policy;

/// <summary>Locates files of the repository checkout (the folder holding <c>AutoSaveRollout.sln</c>) from the test binaries.</summary>
internal static class RepoFiles
{
    /// <summary>Absolute path of the repository root; throws <see cref="InvalidOperationException"/> when not found.</summary>
    public static string Root { get; } = FindRoot();

    /// <summary>Absolute path of <paramref name="relative"/> (forward slashes allowed) under the repository root.</summary>
    public static string PathOf(string relative) => Path.Combine(Root, relative.Replace('/', Path.DirectorySeparatorChar));

    /// <summary>
    /// The repository's <c>policy.yaml</c> with <c>rollout.gate.mode: point</c> (issue 11): the pre-statistics gate the
    /// pipeline, lifecycle and CLI tests were written for. A copy under the temp folder, written once per test run.
    /// </summary>
    public static string PointPolicy => PointPolicyPath.Value;

    /// <summary>The repository's <c>policy.yaml</c> text with the gate in point mode.</summary>
    public static string PointPolicyText()
    {
        var text = File.ReadAllText(PathOf("policy.yaml"));
        const string confidence = "gate: {mode: confidence,";
        if (!text.Contains(confidence, StringComparison.Ordinal))
            throw new InvalidOperationException($"policy.yaml has no '{confidence}' line to switch to point mode");
        return text.Replace(confidence, "gate: {mode: point,", StringComparison.Ordinal);
    }

    private static readonly Lazy<string> PointPolicyPath = new(() =>
    {
        var dir = Path.Combine(Path.GetTempPath(), "autosave-tests-" + Environment.ProcessId);
        Directory.CreateDirectory(dir);
        var path = Path.Combine(dir, "policy-point.yaml");
        File.WriteAllText(path, PointPolicyText());
        return path;
    });

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "AutoSaveRollout.sln")))
                return dir.FullName;
        throw new InvalidOperationException($"AutoSaveRollout.sln not found above {AppContext.BaseDirectory}");
    }
}
