using System.Globalization;

namespace AutoSaveRollout.Benchmarks;

/// <summary>
/// Facts about the input of one benchmark case, measured in the benchmark process during [GlobalSetup] and shown by the
/// summary columns (<see cref="FactColumn"/>) in the host process.
/// </summary>
/// <param name="Events">Lines (events) processed per benchmark operation.</param>
/// <param name="Bytes">Bytes of input processed per operation (UTF-8 batch bytes, or UTF-8 bytes of the raw lines).</param>
/// <param name="Durations">Completed saves with a <c>duration_ms</c> (what the Analyzer keeps in memory); null where not applicable.</param>
/// <param name="FirstRunAllocatedBytes">
/// Bytes allocated by the FIRST analysis in the fresh benchmark process, while <c>ArrayPool.Shared</c> is still cold: this
/// is where the durations buffer (8 B per duration, grown by doubling) shows up; later operations reuse the pooled buffer.
/// Null where not applicable.
/// </param>
public sealed record BatchFacts(long Events, long Bytes, long? Durations, long? FirstRunAllocatedBytes)
{
    /// <summary>
    /// Environment variable naming the directory that carries facts from the benchmark processes to the host process.
    /// <c>Program</c> sets it to a fresh directory; the benchmark processes inherit it. When unset, facts are not recorded.
    /// </summary>
    public const string DirectoryVariable = "AUTOSAVE_BENCH_FACTS_DIR";

    /// <summary>Records the facts of the case keyed by <paramref name="key"/> (no-op without <see cref="DirectoryVariable"/>).</summary>
    public void Save(string key)
    {
        var dir = Environment.GetEnvironmentVariable(DirectoryVariable);
        if (string.IsNullOrEmpty(dir)) return;
        Directory.CreateDirectory(dir);
        var text = string.Join('\n', Events, Bytes, Durations?.ToString(CultureInfo.InvariantCulture) ?? "",
            FirstRunAllocatedBytes?.ToString(CultureInfo.InvariantCulture) ?? "");
        File.WriteAllText(Path.Combine(dir, key + ".facts"), text);
    }

    /// <summary>Loads the facts recorded under <paramref name="key"/>, or null when there are none.</summary>
    public static BatchFacts? Load(string key)
    {
        var dir = Environment.GetEnvironmentVariable(DirectoryVariable);
        if (string.IsNullOrEmpty(dir)) return null;
        var path = Path.Combine(dir, key + ".facts");
        if (!File.Exists(path)) return null;
        var parts = File.ReadAllText(path).Split('\n');
        static long? Opt(string s) => s.Length == 0 ? null : long.Parse(s, CultureInfo.InvariantCulture);
        return new BatchFacts(long.Parse(parts[0], CultureInfo.InvariantCulture), long.Parse(parts[1], CultureInfo.InvariantCulture),
            Opt(parts[2]), Opt(parts[3]));
    }
}
