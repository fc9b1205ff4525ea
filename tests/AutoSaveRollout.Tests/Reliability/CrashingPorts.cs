using System.Runtime.CompilerServices;
using AutoSaveRollout.Core.Ports;

namespace AutoSaveRollout.Tests.Reliability;

/// <summary>The simulated process died; thrown by every storage and queue operation from the crash point on.</summary>
internal sealed class SimulatedCrashException(string message) : Exception(message);

/// <summary>
/// Where a simulated process dies: just before its <see cref="CrashBefore"/>-th (0-based) storage or queue mutation
/// (blob put, create, append, delete; queue send, receive, delete, visibility update). From then on every
/// operation, reads included, throws <see cref="SimulatedCrashException"/>, so nothing the dead process does after that
/// point reaches the store; HTTP calls cannot happen either, because every stage records its outbox before it sends.
/// A crash before mutation k leaves the store exactly as a SIGKILL anywhere between mutation k−1 and mutation k would.
/// </summary>
internal sealed class CrashPlan(int crashBefore = int.MaxValue)
{
    private int _mutations;
    private volatile bool _dead;

    /// <summary>Index of the mutation that never happens (int.MaxValue: never crash, just count).</summary>
    public int CrashBefore { get; } = crashBefore;

    /// <summary>Mutations performed so far.</summary>
    public int Mutations => Volatile.Read(ref _mutations);

    /// <summary>True once the crash point was reached.</summary>
    public bool Crashed => _dead;

    /// <summary>Description of the mutation the process died before.</summary>
    public string? CrashedAt { get; private set; }

    public void BeforeRead()
    {
        if (_dead) throw new SimulatedCrashException("process is dead");
    }

    public void BeforeMutation(string what)
    {
        BeforeRead();
        var index = Interlocked.Increment(ref _mutations) - 1;
        if (index < CrashBefore) return;
        CrashedAt = $"#{index} {what}";
        _dead = true;
        throw new SimulatedCrashException("crash before " + CrashedAt);
    }
}

/// <summary>An <see cref="IBlobStore"/> that dies at the <see cref="CrashPlan"/>'s crash point (otherwise a pass-through).</summary>
internal sealed class CrashingBlobStore(IBlobStore inner, CrashPlan plan) : IBlobStore
{
    public Task<BlobContent?> TryGetAsync(string path, CancellationToken cancellationToken = default)
    {
        plan.BeforeRead();
        return inner.TryGetAsync(path, cancellationToken);
    }

    public Task<Stream?> TryOpenReadAsync(string path, CancellationToken cancellationToken = default)
    {
        plan.BeforeRead();
        return inner.TryOpenReadAsync(path, cancellationToken);
    }

    public Task<string> PutAsync(string path, ReadOnlyMemory<byte> content, WriteCondition condition, CancellationToken cancellationToken = default)
    {
        plan.BeforeMutation($"put {path} ({condition.Kind})");
        return inner.PutAsync(path, content, condition, cancellationToken);
    }

    public Task CreateAppendBlobAsync(string path, CancellationToken cancellationToken = default)
    {
        plan.BeforeMutation($"create {path}");
        return inner.CreateAppendBlobAsync(path, cancellationToken);
    }

    public Task AppendAsync(string path, ReadOnlyMemory<byte> block, CancellationToken cancellationToken = default)
    {
        plan.BeforeMutation($"append {path}");
        return inner.AppendAsync(path, block, cancellationToken);
    }

    public async IAsyncEnumerable<string> ListAsync(string prefix, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        plan.BeforeRead();
        await foreach (var p in inner.ListAsync(prefix, cancellationToken)) yield return p;
    }

    public Task<bool> DeleteAsync(string path, CancellationToken cancellationToken = default)
    {
        plan.BeforeMutation($"delete {path}");
        return inner.DeleteAsync(path, cancellationToken);
    }
}

/// <summary>An <see cref="IQueueFactory"/> whose queues die at the <see cref="CrashPlan"/>'s crash point.</summary>
internal sealed class CrashingQueueFactory(IQueueFactory inner, CrashPlan plan) : IQueueFactory
{
    public IMessageQueue GetQueue(string name) => new Queue(inner.GetQueue(name), plan);

    private sealed class Queue(IMessageQueue inner, CrashPlan plan) : IMessageQueue
    {
        public string Name => inner.Name;

        public Task ClearAsync(CancellationToken cancellationToken = default) => inner.ClearAsync(cancellationToken);

        // Idempotent and called before every poll and send: not a crash point of its own (a crash before it equals a
        // crash before the next mutation).
        public Task CreateIfNotExistsAsync(CancellationToken cancellationToken = default)
        {
            plan.BeforeRead();
            return inner.CreateIfNotExistsAsync(cancellationToken);
        }

        public Task<string> SendAsync(string text, TimeSpan? initialVisibilityDelay = null, CancellationToken cancellationToken = default)
        {
            plan.BeforeMutation($"send {Name}");
            return inner.SendAsync(text, initialVisibilityDelay, cancellationToken);
        }

        public Task<IReadOnlyList<QueueMessage>> ReceiveAsync(int maxMessages, TimeSpan visibilityTimeout, CancellationToken cancellationToken = default)
        {
            plan.BeforeMutation($"receive {Name}");
            return inner.ReceiveAsync(maxMessages, visibilityTimeout, cancellationToken);
        }

        public Task DeleteAsync(QueueMessage message, CancellationToken cancellationToken = default)
        {
            plan.BeforeMutation($"delete message {Name}");
            return inner.DeleteAsync(message, cancellationToken);
        }

        public Task<QueueMessage> UpdateVisibilityAsync(QueueMessage message, TimeSpan visibilityTimeout, CancellationToken cancellationToken = default)
        {
            plan.BeforeMutation($"update visibility {Name}");
            return inner.UpdateVisibilityAsync(message, visibilityTimeout, cancellationToken);
        }
    }
}
