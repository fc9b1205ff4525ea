using System.Text;
using System.Text.Json;
using AutoSaveRollout.Core.Ports;
using AutoSaveRollout.Core.Storage;

namespace AutoSaveRollout.Core.Pipeline;

/// <summary>A message in a poison queue, joined with its <see cref="DeadLetterRecord"/> when our processor poisoned it.</summary>
/// <param name="Id">The poison message's id (what <see cref="DeadLetterService.RetryAsync"/> takes).</param>
/// <param name="Queue">Source queue the message came from, e.g. <c>autosave-report</c>.</param>
/// <param name="PoisonQueue"><c>&lt;queue&gt;-poison</c>.</param>
/// <param name="InsertedAt">When it entered the poison queue (UTC).</param>
/// <param name="Text">Message text, unchanged.</param>
/// <param name="Record">The dead-letter log line (written by our processor, or by a queue function on the last delivery before the
/// Azure Functions runtime poisoned the message); null when none was written.</param>
public sealed record DeadLetter(string Id, string Queue, string PoisonQueue, DateTimeOffset InsertedAt, string Text, DeadLetterRecord? Record)
{
    /// <summary>Shown when the last error is not known.</summary>
    public const string UnknownError = "unknown (poisoned by the Functions runtime)";

    /// <summary>The last error, or <see cref="UnknownError"/>.</summary>
    public string LastError => Record?.Error ?? UnknownError;

    /// <summary>True / false from the log; null when unknown.</summary>
    public bool? Permanent => Record?.Permanent;

    /// <summary>Deliveries of the source message before it was poisoned; null when unknown.</summary>
    public int? DequeueCount => Record?.DequeueCount;
}

/// <summary>Outcome of <see cref="DeadLetterService.RetryAsync"/>.</summary>
/// <param name="Retried">The dead letter as it was in the poison queue.</param>
/// <param name="NewMessageId">Id of the copy sent back to the source queue.</param>
public sealed record DeadLetterRetry(DeadLetter Retried, string NewMessageId);

/// <summary>Outcome of <see cref="DeadLetterService.PurgeAsync"/>.</summary>
/// <param name="Removed">Poison messages deleted.</param>
/// <param name="Kept">Poison messages left in place (inserted at or after the cut-off).</param>
/// <param name="Cutoff">Messages inserted before this instant (UTC) were removed.</param>
public sealed record DeadLetterPurge(int Removed, int Kept, DateTimeOffset Cutoff);

/// <summary>
/// Operator view of the poison queues of the pipeline's queues (<c>dlq list / retry / purge</c>), through the queue port
/// only. The port has no peek, so the poison queue is read by receiving every message with a short visibility timeout
/// (<see cref="HoldFor"/>) and releasing what is kept (visibility 0); this raises the poison copies' own dequeue count,
/// which nothing reads. If the process dies in between, the messages simply reappear after <see cref="HoldFor"/>: nothing
/// is lost. Retry sends the text back to the source queue before deleting the poison copy (at-least-once: a crash in
/// between leaves a duplicate, never a loss). Every retry and purge is appended to <see cref="ActionLog"/>.
/// </summary>
public sealed class DeadLetterService
{
    /// <summary>Audit log of operator actions on dead letters (JSONL: at, action, queue, poison_queue, poison_message_id, new_message_id, permanent).</summary>
    public const string ActionLog = "reports/monitoring/dead_letter_actions.jsonl";

    /// <summary>The pipeline's queues whose poison queues are served by default.</summary>
    public static readonly IReadOnlyList<string> PipelineQueues = [StorePaths.AnalyzeQueue, StorePaths.ReportQueue];

    private const int BatchSize = 32; // Azure Get Messages maximum

    private readonly IQueueFactory _queues;
    private readonly IBlobStore _blobs;
    private readonly TimeProvider _time;
    private readonly IReadOnlyList<string> _sourceQueues;

    /// <summary>Creates the service over <paramref name="sourceQueues"/> (default <see cref="PipelineQueues"/>).</summary>
    public DeadLetterService(IQueueFactory queues, IBlobStore blobs, TimeProvider time, IReadOnlyList<string>? sourceQueues = null)
    {
        _queues = queues;
        _blobs = blobs;
        _time = time;
        _sourceQueues = sourceQueues ?? PipelineQueues;
    }

    /// <summary>How long messages stay hidden while a command reads a poison queue (default 30 s).</summary>
    public TimeSpan HoldFor { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// The source queue named by <paramref name="name"/>: a served queue's name or its poison queue's name. Null selects
    /// all. Throws <see cref="ArgumentException"/> naming the accepted values otherwise.
    /// </summary>
    public IReadOnlyList<string> SelectQueues(string? name)
    {
        if (string.IsNullOrWhiteSpace(name)) return _sourceQueues;
        var match = _sourceQueues.FirstOrDefault(q => q == name || QueueProcessor.PoisonQueueName(q) == name);
        return match is not null ? [match]
            : throw new ArgumentException($"--queue must be one of {string.Join(", ", _sourceQueues)} (or its -poison queue), got '{name}'");
    }

    /// <summary>Every dead letter of the selected queues (see <see cref="SelectQueues"/>), oldest first, joined with the dead-letter log.</summary>
    public async Task<IReadOnlyList<DeadLetter>> ListAsync(string? queue = null, CancellationToken ct = default)
    {
        var selected = SelectQueues(queue);
        var log = await ReadLogAsync(ct).ConfigureAwait(false);
        var result = new List<DeadLetter>();
        foreach (var source in selected)
        {
            var poison = _queues.GetQueue(QueueProcessor.PoisonQueueName(source));
            var held = await HoldAllAsync(poison, ct).ConfigureAwait(false);
            await ReleaseAsync(poison, held).ConfigureAwait(false);
            result.AddRange(held.Select(m => ToDeadLetter(source, poison.Name, m, log)));
        }
        return result.OrderBy(d => d.InsertedAt).ThenBy(d => d.Id, StringComparer.Ordinal).ToList();
    }

    /// <summary>
    /// Moves the dead letter <paramref name="id"/> back to its source queue (text unchanged, visible at once) and deletes it
    /// from the poison queue. Returns null when no selected poison queue holds <paramref name="id"/>.
    /// </summary>
    public async Task<DeadLetterRetry?> RetryAsync(string id, string? queue = null, CancellationToken ct = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(id);
        var selected = SelectQueues(queue);
        foreach (var source in selected)
        {
            var poison = _queues.GetQueue(QueueProcessor.PoisonQueueName(source));
            var held = await HoldAllAsync(poison, ct).ConfigureAwait(false);
            try
            {
                var message = held.FirstOrDefault(m => m.Id == id);
                if (message is null) continue;
                var target = _queues.GetQueue(source);
                await target.CreateIfNotExistsAsync(ct).ConfigureAwait(false);
                var newId = await target.SendAsync(message.Text, null, ct).ConfigureAwait(false);
                await poison.DeleteAsync(message, ct).ConfigureAwait(false);
                held.Remove(message);
                var deadLetter = ToDeadLetter(source, poison.Name, message, await ReadLogAsync(ct).ConfigureAwait(false));
                await _blobs.AppendJsonLineAsync(ActionLog, new DeadLetterAction(_time.GetUtcNow(), "retried", source, poison.Name, id, newId, deadLetter.Permanent),
                    ct).ConfigureAwait(false);
                return new DeadLetterRetry(deadLetter, newId);
            }
            finally
            {
                await ReleaseAsync(poison, held).ConfigureAwait(false);
            }
        }
        return null;
    }

    /// <summary>
    /// Deletes the dead letters of the selected queues inserted more than <paramref name="olderThan"/> before now (the
    /// injected clock); returns how many were removed and kept.
    /// </summary>
    public async Task<DeadLetterPurge> PurgeAsync(TimeSpan olderThan, string? queue = null, CancellationToken ct = default)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(olderThan, TimeSpan.Zero);
        var selected = SelectQueues(queue);
        var now = _time.GetUtcNow();
        var cutoff = now - olderThan;
        int removed = 0, kept = 0;
        foreach (var source in selected)
        {
            var poison = _queues.GetQueue(QueueProcessor.PoisonQueueName(source));
            var held = await HoldAllAsync(poison, ct).ConfigureAwait(false);
            try
            {
                foreach (var m in held.Where(m => m.InsertedAt < cutoff).ToList())
                {
                    await poison.DeleteAsync(m, ct).ConfigureAwait(false);
                    held.Remove(m);
                    removed++;
                    await _blobs.AppendJsonLineAsync(ActionLog, new DeadLetterAction(now, "purged", source, poison.Name, m.Id, null, null), ct).ConfigureAwait(false);
                }
                kept += held.Count;
            }
            finally
            {
                await ReleaseAsync(poison, held).ConfigureAwait(false);
            }
        }
        return new DeadLetterPurge(removed, kept, cutoff);
    }

    // Receives until nothing new comes back. A message seen twice (its hold ran out during a long read) keeps its latest receipt.
    private async Task<List<QueueMessage>> HoldAllAsync(IMessageQueue poison, CancellationToken ct)
    {
        var held = new Dictionary<string, QueueMessage>(StringComparer.Ordinal);
        try
        {
            while (true)
            {
                IReadOnlyList<QueueMessage> batch;
                try
                {
                    batch = await poison.ReceiveAsync(BatchSize, HoldFor, ct).ConfigureAwait(false);
                }
                catch (StorageException ex) when (ex.ErrorCode == "QueueNotFound")
                {
                    return []; // nothing was ever poisoned
                }
                var fresh = 0;
                foreach (var m in batch)
                {
                    if (!held.ContainsKey(m.Id)) fresh++;
                    held[m.Id] = m;
                }
                if (fresh == 0) break;
            }
        }
        catch
        {
            await ReleaseAsync(poison, held.Values).ConfigureAwait(false);
            throw;
        }
        return held.Values.OrderBy(m => m.InsertedAt).ToList();
    }

    // Best effort, and not cancellable: a message left hidden reappears by itself after HoldFor.
    private static async Task ReleaseAsync(IMessageQueue poison, IEnumerable<QueueMessage> messages)
    {
        foreach (var m in messages.ToList())
        {
            try { await poison.UpdateVisibilityAsync(m, TimeSpan.Zero, CancellationToken.None).ConfigureAwait(false); }
            catch (StorageException) { }
        }
    }

    private static DeadLetter ToDeadLetter(string source, string poisonQueue, QueueMessage m, DeadLetterLogIndex log) =>
        new(m.Id, source, poisonQueue, m.InsertedAt, m.Text, log.Find(source, m));

    // The dead-letter log. Unreadable lines are skipped: the log is advisory, the queue is the truth.
    private async Task<DeadLetterLogIndex> ReadLogAsync(CancellationToken ct) =>
        new(await _blobs.ReadJsonLinesAsync<DeadLetterRecord>(QueueProcessor.DeadLetterLog, ct: ct).ConfigureAwait(false));

    // Records by poison message id (our QueueProcessor made the copy), else by source queue and text: the Azure Functions
    // runtime makes the poison copy itself after the function (which wrote the record) failed the last delivery, so the
    // copy's id is not known when the record is written. The latest record written before the copy was inserted wins.
    private sealed class DeadLetterLogIndex
    {
        private readonly Dictionary<string, DeadLetterRecord> _byPoisonId = new(StringComparer.Ordinal);
        private readonly Dictionary<(string Queue, string Text), List<DeadLetterRecord>> _byText = new();

        public DeadLetterLogIndex(IEnumerable<DeadLetterRecord?> records)
        {
            foreach (var record in records)
            {
                if (record is null) continue;
                if (record.PoisonMessageId is { } id) _byPoisonId[id] = record;
                else if (record is { Queue: { } q, Text: { } t })
                {
                    if (!_byText.TryGetValue((q, t), out var list)) _byText[(q, t)] = list = [];
                    list.Add(record);
                }
            }
        }

        public DeadLetterRecord? Find(string source, QueueMessage m) =>
            _byPoisonId.GetValueOrDefault(m.Id)
            ?? (_byText.TryGetValue((source, m.Text), out var list)
                ? list.Where(r => r.At <= m.InsertedAt + TimeSpan.FromMinutes(5)).OrderBy(r => r.At).LastOrDefault()
                : null);
    }

    private sealed record DeadLetterAction(DateTimeOffset At, string Action, string Queue, string PoisonQueue, string PoisonMessageId, string? NewMessageId, bool? Permanent);
}
