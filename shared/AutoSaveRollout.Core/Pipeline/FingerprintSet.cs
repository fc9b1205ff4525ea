using System.IO.Hashing;
using System.Runtime.InteropServices;

namespace AutoSaveRollout.Core.Pipeline;

/// <summary>
/// A compact set of 64-bit fingerprints (XxHash3 of a key's bytes) in native memory: 256 open-addressing tables (linear
/// probing, at most 3/4 full) chosen by the fingerprint's top byte, so that growing one table only ever copies 1/256 of
/// the set. 8 bytes per slot: 10.7–21.3 bytes per key, freed at <see cref="Dispose"/> (not left to the GC).
/// It answers "fingerprint seen before?", not "key seen before?": two different keys can share a fingerprint, so a
/// caller that needs exactness must confirm a hit against the key (the Collector does, see <see cref="Collector"/>).
/// Not thread-safe.
/// </summary>
public sealed unsafe class FingerprintSet : IDisposable
{
    private const int Tables = 256;
    private const int InitialCapacity = 1024;
    private readonly ulong*[] _tables = new ulong*[Tables];
    private readonly int[] _capacity = new int[Tables];
    private readonly int[] _count = new int[Tables];

    /// <summary>Number of fingerprints held.</summary>
    public long Count { get; private set; }

    /// <summary>Bytes of native memory held (slots of all tables).</summary>
    public long AllocatedBytes { get; private set; }

    /// <summary>The 64-bit fingerprint of <paramref name="key"/> (XxHash3, seed 0; never 0, the empty-slot marker).</summary>
    public static ulong Fingerprint(ReadOnlySpan<byte> key)
    {
        var h = FingerprintOverride is { } f ? f(key) : XxHash3.HashToUInt64(key);
        return h == 0 ? 1 : h;
    }

    /// <summary>Tests only: a deliberately weak fingerprint, so that collisions (and the exact re-collection) happen.</summary>
    internal static Func<ReadOnlySpan<byte>, ulong>? FingerprintOverride { get; set; }

    /// <summary>Adds <paramref name="fingerprint"/> (non-zero); false when it was already present.</summary>
    public bool Add(ulong fingerprint)
    {
        if (fingerprint == 0) throw new ArgumentOutOfRangeException(nameof(fingerprint), "0 is reserved");
        var t = (int)(fingerprint >> 56);
        if (_tables[t] == null) Grow(t, InitialCapacity);
        else if ((_count[t] + 1) * 4L > _capacity[t] * 3L) Grow(t, _capacity[t] * 2);
        if (!Insert(_tables[t], _capacity[t] - 1, fingerprint)) return false;
        _count[t]++;
        Count++;
        return true;
    }

    private static bool Insert(ulong* slots, int mask, ulong fingerprint)
    {
        var i = (int)fingerprint & mask;
        while (true)
        {
            var s = slots[i];
            if (s == 0) { slots[i] = fingerprint; return true; }
            if (s == fingerprint) return false;
            i = (i + 1) & mask;
        }
    }

    private void Grow(int t, int capacity)
    {
        var bigger = (ulong*)NativeMemory.AllocZeroed((nuint)capacity, sizeof(ulong));
        var old = _tables[t];
        if (old != null)
        {
            for (var i = 0; i < _capacity[t]; i++)
                if (old[i] != 0) Insert(bigger, capacity - 1, old[i]);
            NativeMemory.Free(old);
            AllocatedBytes -= _capacity[t] * (long)sizeof(ulong);
        }
        _tables[t] = bigger;
        _capacity[t] = capacity;
        AllocatedBytes += capacity * (long)sizeof(ulong);
    }

    /// <inheritdoc />
    public void Dispose()
    {
        for (var t = 0; t < Tables; t++)
        {
            if (_tables[t] != null) NativeMemory.Free(_tables[t]);
            _tables[t] = null;
            _capacity[t] = _count[t] = 0;
        }
        Count = AllocatedBytes = 0;
        GC.SuppressFinalize(this);
    }

    /// <summary>Frees the native memory if <see cref="Dispose"/> was not called.</summary>
    ~FingerprintSet() => Dispose();
}
