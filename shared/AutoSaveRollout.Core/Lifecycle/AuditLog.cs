using AutoSaveRollout.Core.Ports;
using Microsoft.Extensions.Logging;
using AutoSaveRollout.Core.Storage;

namespace AutoSaveRollout.Core.Lifecycle;

/// <summary>
/// The append-only governance audit log (<see cref="StorePaths.Audit"/>, JSONL of <see cref="AuditEntry"/>). Entries are
/// only appended, never rewritten; an entry whose id is already in the log is not appended again (idempotent retries).
/// </summary>
public sealed class AuditLog(IBlobStore blobs, ILogger log)
{
    /// <summary>Every readable entry, oldest first. Unreadable lines are skipped with a warning (never thrown).</summary>
    public Task<IReadOnlyList<AuditEntry>> ReadAsync(CancellationToken ct = default) =>
        blobs.ReadJsonLinesAsync<AuditEntry>(StorePaths.Audit,
            (line, ex) => log.LogWarning("{Path}:{Line}: unreadable audit entry skipped ({Error})", StorePaths.Audit, line, ex.Message), ct);

    /// <summary>Appends <paramref name="entry"/> unless an entry with its id exists; returns the entry in the log.</summary>
    public async Task<AuditEntry> AppendOnceAsync(AuditEntry entry, CancellationToken ct = default)
    {
        var existing = (await ReadAsync(ct).ConfigureAwait(false)).FirstOrDefault(e => e.Id == entry.Id);
        if (existing is not null) return existing;
        await blobs.AppendJsonLineAsync(StorePaths.Audit, entry, ct).ConfigureAwait(false);
        return entry;
    }

    /// <summary>
    /// Approvals given in phase <paramref name="phase"/> that no later move consumed and no voiding cancelled, oldest first.
    /// </summary>
    public static IReadOnlyList<AuditEntry> PendingApprovals(IReadOnlyList<AuditEntry> entries, string phase)
    {
        var closed = entries.Where(e => e.Type == AuditEntryType.PhaseMoved || e.Type == AuditEntryType.ApprovalsVoided)
            .SelectMany(e => e.Approvals ?? []).ToHashSet(StringComparer.Ordinal);
        return entries.Where(e => e.Type == AuditEntryType.Approval && e.Phase == phase && !closed.Contains(e.Id)).ToList();
    }
}
