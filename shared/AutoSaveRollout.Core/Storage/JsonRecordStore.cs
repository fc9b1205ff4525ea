using AutoSaveRollout.Core.Ports;

namespace AutoSaveRollout.Core.Storage;

/// <summary>
/// A JSON record in blob storage updated with optimistic concurrency: read with its ETag, apply a pure update, write with
/// <c>If-Match</c> (or <c>If-None-Match: *</c> when new), and on <see cref="ConcurrencyConflictException"/> re-read and
/// re-apply (ETag-style compare-and-swap, as in Azure Blob conditional writes).
/// </summary>
/// <typeparam name="T">Record type, serialised with <see cref="Json.Pretty"/>.</typeparam>
public sealed class JsonRecordStore<T> where T : class
{
    private readonly IBlobStore _store;
    private readonly string _path;

    /// <summary>Creates a store for the record at <paramref name="path"/>.</summary>
    public JsonRecordStore(IBlobStore store, string path)
    {
        _store = store;
        _path = path;
    }

    /// <summary>Maximum compare-and-swap attempts before <see cref="UpdateAsync"/> gives up with the last conflict.</summary>
    public const int MaxAttempts = 20;

    /// <summary>Reads the record; (null, null) when it does not exist.</summary>
    public async Task<(T? Value, string? ETag)> ReadAsync(CancellationToken ct = default)
    {
        var blob = await _store.TryGetAsync(_path, ct).ConfigureAwait(false);
        return blob is null ? (null, null) : (Json.FromBytes<T>(blob.Content), blob.ETag);
    }

    /// <summary>
    /// Returns the existing write-once record, or builds it with <paramref name="create"/> and writes it with
    /// <c>If-None-Match: *</c>; when a concurrent writer got there first, its record wins and is returned.
    /// <c>Created</c> is true when this call wrote the record.
    /// </summary>
    public async Task<(T Value, bool Created)> GetOrCreateAsync(Func<CancellationToken, Task<T>> create, CancellationToken ct = default)
    {
        var (existing, _) = await ReadAsync(ct).ConfigureAwait(false);
        if (existing is not null) return (existing, false);
        var value = await create(ct).ConfigureAwait(false);
        try
        {
            await _store.PutAsync(_path, Json.ToBytes(value), WriteCondition.IfNotExists, ct).ConfigureAwait(false);
            return (value, true);
        }
        catch (ConcurrencyConflictException)
        {
            var (winner, _) = await ReadAsync(ct).ConfigureAwait(false);
            return (winner ?? throw new InvalidDataException($"{_path} vanished after a create conflict"), false);
        }
    }

    /// <summary>
    /// Applies <paramref name="update"/> (called with the current value or null; return the same instance to skip the
    /// write) until the conditional write succeeds. Returns the stored value.
    /// Throws <see cref="ConcurrencyConflictException"/> after <see cref="MaxAttempts"/> lost races.
    /// </summary>
    public async Task<T> UpdateAsync(Func<T?, T> update, CancellationToken ct = default)
    {
        for (var attempt = 1; ; attempt++)
        {
            var (current, etag) = await ReadAsync(ct).ConfigureAwait(false);
            var next = update(current);
            if (ReferenceEquals(next, current)) return next;
            var condition = etag is null ? WriteCondition.IfNotExists : WriteCondition.IfMatch(etag);
            try
            {
                await _store.PutAsync(_path, Json.ToBytes(next), condition, ct).ConfigureAwait(false);
                return next;
            }
            catch (ConcurrencyConflictException) when (attempt < MaxAttempts)
            {
                await Task.Delay(Random.Shared.Next(1, 5 * attempt), ct).ConfigureAwait(false);
            }
        }
    }
}
