namespace AutoSaveRollout.Tests.Adapters.Storage.FileSystem;

/// <summary>A fresh directory under the system temp folder, deleted (best effort) on dispose.</summary>
public sealed class TempRoot : IDisposable
{
    /// <summary>Creates <c>{temp}/asr-storage-tests/{guid}</c>.</summary>
    public TempRoot()
    {
        Path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "asr-storage-tests", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(Path);
    }

    /// <summary>Absolute path of the directory.</summary>
    public string Path { get; }

    /// <inheritdoc />
    public void Dispose()
    {
        try { Directory.Delete(Path, recursive: true); }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
    }
}
