using System.Diagnostics;
using AutoSaveRollout.Core.Ports;

namespace AutoSaveRollout.Adapters.Storage.FileSystem;

/// <summary>
/// An exclusive lock held across threads and processes: an in-process <see cref="SemaphoreSlim"/> gate (so local
/// waiters queue instead of spinning) plus an OS-level exclusive lock on a lock file, taken by opening it with
/// <see cref="FileShare.None"/> (an <c>flock(LOCK_EX)</c> on Unix, a share-mode lock on Windows). The OS drops the lock
/// when the holder process dies, so a crash never leaves the lock stuck. Lock files are never deleted (deleting a
/// flock'ed file races with waiters that already opened it).
/// </summary>
internal sealed class FileLock : IDisposable
{
    private FileStream? _stream;
    private readonly SemaphoreSlim _gate;

    private FileLock(FileStream stream, SemaphoreSlim gate)
    {
        _stream = stream;
        _gate = gate;
    }

    /// <summary>
    /// Takes the lock on <paramref name="lockFilePath"/>, retrying briefly (1–32 ms, jittered) while another
    /// process holds it. When the lock file's directory is missing it is created if <paramref name="createDirectory"/>
    /// is true; otherwise <see cref="DirectoryNotFoundException"/> propagates.
    /// Throws <see cref="StorageException"/> (503 <c>LockTimeout</c>, transient) after <paramref name="timeout"/>,
    /// (403 <c>AccessDenied</c>) when the lock file cannot be opened for lack of permission.
    /// </summary>
    public static async Task<FileLock> AcquireAsync(
        string lockFilePath, SemaphoreSlim gate, TimeSpan timeout, bool createDirectory, CancellationToken cancellationToken)
    {
        var started = Stopwatch.GetTimestamp();
        if (!await gate.WaitAsync(timeout, cancellationToken).ConfigureAwait(false))
            throw Timeout(lockFilePath, null);
        try
        {
            var maxDelayMs = 1;
            while (true)
            {
                cancellationToken.ThrowIfCancellationRequested();
                try
                {
                    var stream = new FileStream(lockFilePath, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None, bufferSize: 1);
                    return new FileLock(stream, gate);
                }
                catch (DirectoryNotFoundException) when (createDirectory)
                {
                    CreateDirectory(Path.GetDirectoryName(lockFilePath)!);
                }
                catch (UnauthorizedAccessException ex)
                {
                    throw new StorageException($"access denied to lock file '{lockFilePath}'", 403, "AccessDenied", isTransient: false, ex);
                }
                catch (IOException ex) when (ex is not DirectoryNotFoundException)
                {
                    // Sharing violation (another process holds the lock) or a transient I/O error: retry until the deadline.
                    if (Stopwatch.GetElapsedTime(started) >= timeout)
                        throw Timeout(lockFilePath, ex);
                    await Task.Delay(Random.Shared.Next(1, maxDelayMs + 1), cancellationToken).ConfigureAwait(false);
                    maxDelayMs = Math.Min(maxDelayMs * 2, 32);
                }
            }
        }
        catch
        {
            gate.Release();
            throw;
        }
    }

    /// <summary>Releases the OS lock, then the in-process gate. Idempotent.</summary>
    public void Dispose()
    {
        var stream = Interlocked.Exchange(ref _stream, null);
        if (stream is null)
            return;
        try { stream.Dispose(); }
        finally { _gate.Release(); }
    }

    private static void CreateDirectory(string directory)
    {
        try { Directory.CreateDirectory(directory); }
        catch (IOException ex) { throw new StorageException($"cannot create directory '{directory}': {ex.Message}", 500, "IOError", isTransient: true, ex); }
        catch (UnauthorizedAccessException ex) { throw new StorageException($"access denied creating '{directory}'", 403, "AccessDenied", isTransient: false, ex); }
    }

    private static StorageException Timeout(string lockFilePath, Exception? last) =>
        new($"timed out waiting for lock file '{lockFilePath}'" + (last is null ? "" : $" (last error: {last.Message})"),
            503, "LockTimeout", isTransient: true, last);
}
