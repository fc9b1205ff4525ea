using System.Text.RegularExpressions;

namespace AutoSaveRollout.Adapters.Storage.FileSystem;

/// <summary>
/// Crash-safe whole-file writes: content goes to a temporary file in the target's directory, is flushed to disk,
/// and is then renamed over the target (<c>rename(2)</c> on Unix, atomic within one file system), so readers see
/// either the old or the new file, never a partial one. Temporary files are named
/// <c>{target}.~{32 hex}.tmp</c> (<see cref="IsTemporaryFileName"/>); a crash can leave one behind, and listings skip them.
/// </summary>
internal static partial class AtomicFile
{
    [GeneratedRegex(@"\.~[0-9a-f]{32}\.tmp$", RegexOptions.CultureInvariant)]
    private static partial Regex TemporarySuffix();

    /// <summary>True for names of temporary files this class creates.</summary>
    public static bool IsTemporaryFileName(string fileName) => TemporarySuffix().IsMatch(fileName);

    /// <summary>Writes <paramref name="content"/> to <paramref name="path"/> atomically. I/O exceptions propagate unchanged.</summary>
    public static async Task WriteAsync(string path, ReadOnlyMemory<byte> content, CancellationToken cancellationToken)
    {
        var temp = $"{path}.~{Guid.NewGuid():N}.tmp";
        try
        {
            await using (var stream = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None, bufferSize: 0))
            {
                if (!content.IsEmpty)
                    await stream.WriteAsync(content, cancellationToken).ConfigureAwait(false);
                stream.Flush(flushToDisk: true);
            }
            File.Move(temp, path, overwrite: true);
        }
        catch
        {
            TryDelete(temp);
            throw;
        }
    }

    private static void TryDelete(string path)
    {
        try { File.Delete(path); }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
    }
}
