using System.Globalization;

namespace AutoSaveRollout.Core.Windows;

/// <summary>
/// An aligned 15-minute UTC collection window <c>[Start, End)</c>; starts fall on :00, :15, :30 and :45.
/// An event belongs to the window containing its timestamp.
/// </summary>
public readonly record struct TimeWindow : IComparable<TimeWindow>
{
    /// <summary>Window length: 15 minutes.</summary>
    public static readonly TimeSpan Length = TimeSpan.FromMinutes(15);

    private TimeWindow(DateTimeOffset start) => Start = start;

    /// <summary>Inclusive start (UTC, aligned).</summary>
    public DateTimeOffset Start { get; }

    /// <summary>Exclusive end: <see cref="Start"/> + 15 minutes.</summary>
    public DateTimeOffset End => Start + Length;

    /// <summary>The window that contains <paramref name="instant"/> (any offset; normalised to UTC).</summary>
    public static TimeWindow Containing(DateTimeOffset instant)
    {
        var utcTicks = instant.UtcTicks;
        var aligned = utcTicks - (utcTicks % Length.Ticks);
        return new TimeWindow(new DateTimeOffset(aligned, TimeSpan.Zero));
    }

    /// <summary>The window starting at <paramref name="start"/>. Throws <see cref="ArgumentException"/> when it is not aligned.</summary>
    public static TimeWindow StartingAt(DateTimeOffset start)
    {
        var w = Containing(start);
        if (w.Start.UtcTicks != start.UtcTicks)
            throw new ArgumentException($"{start:O} is not the start of a 15-minute UTC window", nameof(start));
        return w;
    }

    /// <summary>The latest window that has closed at <paramref name="now"/> (its end ≤ now).</summary>
    public static TimeWindow LastClosedAt(DateTimeOffset now) => Containing(now).Previous;

    /// <summary>The following window.</summary>
    public TimeWindow Next => new(Start + Length);

    /// <summary>The preceding window.</summary>
    public TimeWindow Previous => new(Start - Length);

    /// <summary>True when <paramref name="instant"/> lies in <c>[Start, End)</c>.</summary>
    public bool Contains(DateTimeOffset instant) => instant.UtcTicks >= Start.UtcTicks && instant.UtcTicks < End.UtcTicks;

    /// <summary>Storage key part <c>yyyy/MM/dd/HHmm</c> of the window start, e.g. <c>2026/11/20/1015</c>.</summary>
    public string PathKey => Start.UtcDateTime.ToString("yyyy'/'MM'/'dd'/'HHmm", CultureInfo.InvariantCulture);

    /// <summary>Compact id <c>yyyyMMddTHHmmZ</c>, e.g. <c>20261120T1015Z</c>.</summary>
    public string Id => Start.UtcDateTime.ToString("yyyyMMdd'T'HHmm'Z'", CultureInfo.InvariantCulture);

    /// <summary>ISO 8601 interval with minute precision, e.g. <c>2026-11-20T10:15Z/2026-11-20T10:30Z</c>.</summary>
    public override string ToString() =>
        Telemetry.Rfc3339.FormatMinutes(Start) + "/" + Telemetry.Rfc3339.FormatMinutes(End);

    /// <inheritdoc />
    public int CompareTo(TimeWindow other) => Start.UtcTicks.CompareTo(other.Start.UtcTicks);

    /// <summary>Windows from <paramref name="first"/> to <paramref name="last"/> inclusive, in order.</summary>
    public static IEnumerable<TimeWindow> Range(TimeWindow first, TimeWindow last)
    {
        for (var w = first; w.Start <= last.Start; w = w.Next) yield return w;
    }
}
