using System.Globalization;
using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Reports;
using BenchmarkDotNet.Running;

namespace AutoSaveRollout.Benchmarks;

/// <summary>
/// A summary column computed from the case's <see cref="BatchFacts"/> and its measured mean time. The mean is converted
/// back to time per INVOCATION (mean × OperationsPerInvoke), because facts describe what one invocation processes.
/// Shows "?" when the facts were not recorded (e.g. in-process toolchains without <see cref="BatchFacts.DirectoryVariable"/>).
/// </summary>
public sealed class FactColumn : IColumn
{
    private readonly Func<BatchFacts, double?, string> _value;

    private FactColumn(string name, string legend, int priority, Func<BatchFacts, double?, string> value)
    {
        ColumnName = name;
        Legend = legend;
        PriorityInCategory = priority;
        _value = value;
    }

    /// <summary>Events (lines) per second: events per invocation ÷ seconds per invocation.</summary>
    public static readonly FactColumn EventsPerSecond = new("Events/s", "Events (lines) processed per second, from the mean", 0,
        (f, ns) => ns is { } t ? Si(f.Events / (t / 1e9)) : "?");

    /// <summary>Input throughput in MiB per second.</summary>
    public static readonly FactColumn MiBPerSecond = new("MiB/s", "Input bytes processed per second (MiB = 2^20 B), from the mean", 1,
        (f, ns) => ns is { } t ? (f.Bytes / (t / 1e9) / (1 << 20)).ToString("N0", CultureInfo.InvariantCulture) : "?");

    /// <summary>Input size per invocation.</summary>
    public static readonly FactColumn InputSize = new("Input", "Input bytes per invocation (batch or raw lines)", 2,
        (f, _) => Size(f.Bytes));

    /// <summary>Number of durations the Analyzer keeps.</summary>
    public static readonly FactColumn Durations = new("Durations", "Completed saves in the batch (durations held by the accumulator)", 3,
        (f, _) => f.Durations?.ToString("N0", CultureInfo.InvariantCulture) ?? "-");

    /// <summary>Allocation of the first, pool-cold analysis.</summary>
    public static readonly FactColumn FirstRunAllocated = new("1st-run alloc",
        "Bytes allocated by the first analysis in the fresh process (ArrayPool cold: includes the pooled durations buffer, 8 B/duration grown by doubling)", 4,
        (f, _) => f.FirstRunAllocatedBytes is { } b ? Size(b) : "-");

    /// <summary>All fact columns, in display order.</summary>
    public static IColumn[] All => [EventsPerSecond, MiBPerSecond, InputSize, Durations, FirstRunAllocated, RawAllocatedColumn.Instance];

    /// <summary>Key under which the benchmark class <paramref name="type"/> with <paramref name="parameter"/> records its facts.</summary>
    public static string Key(Type type, object? parameter) => parameter is null ? type.Name : $"{type.Name}-{parameter}";

    /// <inheritdoc />
    public string Id => nameof(FactColumn) + "." + ColumnName;

    /// <inheritdoc />
    public string ColumnName { get; }

    /// <inheritdoc />
    public string Legend { get; }

    /// <inheritdoc />
    public int PriorityInCategory { get; }

    /// <inheritdoc />
    public bool AlwaysShow => true;

    /// <inheritdoc />
    public ColumnCategory Category => ColumnCategory.Custom;

    /// <inheritdoc />
    public bool IsNumeric => true;

    /// <inheritdoc />
    public UnitType UnitType => UnitType.Dimensionless;

    /// <inheritdoc />
    public bool IsAvailable(Summary summary) => true;

    /// <inheritdoc />
    public bool IsDefault(Summary summary, BenchmarkCase benchmarkCase) => false;

    /// <inheritdoc />
    public string GetValue(Summary summary, BenchmarkCase benchmarkCase) => GetValue(summary, benchmarkCase, summary.Style);

    /// <inheritdoc />
    public string GetValue(Summary summary, BenchmarkCase benchmarkCase, SummaryStyle style)
    {
        var parameter = benchmarkCase.Parameters.Items.FirstOrDefault()?.Value;
        var facts = BatchFacts.Load(Key(benchmarkCase.Descriptor.Type, parameter));
        if (facts is null) return "?";
        var meanNs = summary[benchmarkCase]?.ResultStatistics?.Mean * benchmarkCase.Descriptor.OperationsPerInvoke;
        return _value(facts, meanNs);
    }

    /// <inheritdoc />
    public override string ToString() => ColumnName;

    private static string Si(double v) => v switch
    {
        >= 1e6 => (v / 1e6).ToString("0.00", CultureInfo.InvariantCulture) + " M",
        >= 1e3 => (v / 1e3).ToString("0.0", CultureInfo.InvariantCulture) + " k",
        _ => v.ToString("0", CultureInfo.InvariantCulture),
    };

    private static string Size(long bytes) => bytes switch
    {
        >= 1 << 20 => (bytes / (double)(1 << 20)).ToString("0.0", CultureInfo.InvariantCulture) + " MiB",
        >= 1 << 10 => (bytes / 1024.0).ToString("0.0", CultureInfo.InvariantCulture) + " KiB",
        _ => bytes.ToString(CultureInfo.InvariantCulture) + " B",
    };
}

/// <summary>Config shared by the benchmark classes: the <see cref="FactColumn"/>s (the classes add <c>[MemoryDiagnoser]</c>).</summary>
public sealed class BenchConfig : ManualConfig
{
    /// <summary>Creates the config.</summary>
    public BenchConfig()
    {
        AddColumn(FactColumn.All);
    }
}

/// <summary>
/// MemoryDiagnoser's measured allocation per operation WITHOUT the "allocation quantum" filter. BenchmarkDotNet 0.14 does
/// not recognise .NET 10 (runtime moniker NotRecognized), so it applies its pre-.NET Core 2.0 rule and reports 0 ("-")
/// whenever the TOTAL allocated during the whole measurement run is ≤ the allocation quantum (~8 KiB). One-operation runs
/// of a large batch allocate ~1–2 KiB in total, so <c>Allocated</c> shows "-" for them; this column shows the raw figure
/// (total bytes ÷ operations; includes the engine's own few hundred bytes per run).
/// </summary>
public sealed class RawAllocatedColumn : IColumn
{
    /// <summary>The column.</summary>
    public static readonly RawAllocatedColumn Instance = new();

    /// <inheritdoc />
    public string Id => nameof(RawAllocatedColumn);

    /// <inheritdoc />
    public string ColumnName => "Alloc/op raw";

    /// <inheritdoc />
    public string Legend => "MemoryDiagnoser bytes allocated per operation without the 0.14 allocation-quantum cut-off (see README)";

    /// <inheritdoc />
    public bool AlwaysShow => true;

    /// <inheritdoc />
    public ColumnCategory Category => ColumnCategory.Metric;

    /// <inheritdoc />
    public int PriorityInCategory => 100;

    /// <inheritdoc />
    public bool IsNumeric => true;

    /// <inheritdoc />
    public UnitType UnitType => UnitType.Size;

    /// <inheritdoc />
    public bool IsAvailable(Summary summary) => true;

    /// <inheritdoc />
    public bool IsDefault(Summary summary, BenchmarkCase benchmarkCase) => false;

    /// <inheritdoc />
    public string GetValue(Summary summary, BenchmarkCase benchmarkCase) => GetValue(summary, benchmarkCase, summary.Style);

    /// <inheritdoc />
    public string GetValue(Summary summary, BenchmarkCase benchmarkCase, SummaryStyle style)
    {
        var gc = summary[benchmarkCase]?.GcStats;
        if (gc is not { TotalOperations: > 0 } stats || stats.GetTotalAllocatedBytes(false) is not { } total) return "?";
        return (total / (double)stats.TotalOperations).ToString("N0", CultureInfo.InvariantCulture) + " B";
    }

    /// <inheritdoc />
    public override string ToString() => ColumnName;
}
