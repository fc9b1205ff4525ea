namespace AutoSaveRollout.Core.Ports;

/// <summary>
/// Mutual exclusion across host instances, e.g. so that two Collectors never collect the same window.
/// Azure: a blob lease (15–60 s, renewable) on <c>locks/{name}</c>; embedded: an exclusive lock file.
/// </summary>
public interface IDistributedLock
{
    /// <summary>
    /// Tries to take the lock called <paramref name="name"/> for <paramref name="duration"/> (15–60 s).
    /// Returns null when another holder has it; throws <see cref="StorageException"/> on backend failure.
    /// </summary>
    Task<ILockHandle?> TryAcquireAsync(string name, TimeSpan duration, CancellationToken cancellationToken = default);
}

/// <summary>A held lock; disposing releases it.</summary>
public interface ILockHandle : IAsyncDisposable
{
    /// <summary>Extends the lock by its original duration. Throws <see cref="StorageException"/> when it was lost.</summary>
    Task RenewAsync(CancellationToken cancellationToken = default);
}
