namespace AutoSaveRollout.Tests.Policy;

/// <summary>Locates files of the repository checkout (the folder holding <c>AutoSaveRollout.sln</c>) from the test binaries.</summary>
internal static class RepoFiles
{
    /// <summary>Absolute path of the repository root; throws <see cref="InvalidOperationException"/> when not found.</summary>
    public static string Root { get; } = FindRoot();

    /// <summary>Absolute path of <paramref name="relative"/> (forward slashes allowed) under the repository root.</summary>
    public static string PathOf(string relative) => Path.Combine(Root, relative.Replace('/', Path.DirectorySeparatorChar));

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "AutoSaveRollout.sln")))
                return dir.FullName;
        throw new InvalidOperationException($"AutoSaveRollout.sln not found above {AppContext.BaseDirectory}");
    }
}
