using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using System.Globalization;
using System.Text;

namespace AutoSaveRollout.Hosting.Metrics;

/// <summary>Renders the current value of a set of instruments for a scraper.</summary>
public interface IMetricsExporter
{
    /// <summary>HTTP <c>Content-Type</c> of <see cref="Render"/>'s output.</summary>
    string ContentType { get; }

    /// <summary>The exposition of every instrument, as of now.</summary>
    string Render();
}

/// <summary>
/// Prometheus text exposition format 0.0.4 (prometheus.io, "Exposition formats") over a <see cref="MeterListener"/>:
/// <c># HELP</c> (the instrument's description) and <c># TYPE</c> per family; counters get the <c>_total</c> suffix;
/// histograms give cumulative <c>_bucket{le="…"}</c> lines (bounds from the instrument's advice, else the Prometheus
/// client defaults) ending with <c>le="+Inf"</c>, then <c>_sum</c> and <c>_count</c>. Families are sorted by name, series by
/// their label text; label values are escaped (<c>\\</c>, <c>\"</c>, <c>\n</c>). Up-down counters and gauges are exported
/// as <c>gauge</c>; observable instruments are read at each <see cref="Render"/>. A series appears with its first
/// measurement. Values are aggregated from the moment the exporter exists (cumulative temporality). Thread-safe.
/// </summary>
/// <remarks>
/// A <see cref="MeterListener"/> rather than the OpenTelemetry SDK: its Prometheus exporter package is not available here,
/// and with the SDK the text writer would still be ours; the listener is in the base library and keeps the exporter to
/// one small class.
/// </remarks>
public sealed class PrometheusExporter : IMetricsExporter, IDisposable
{
    /// <summary>Content type of the text format 0.0.4.</summary>
    public const string TextContentType = "text/plain; version=0.0.4; charset=utf-8";

    /// <summary>Bucket bounds for a histogram without advice (Prometheus client defaults).</summary>
    public static readonly IReadOnlyList<double> DefaultBuckets = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

    private readonly MeterListener _listener;
    private readonly ConcurrentDictionary<Instrument, Family> _families = new();

    /// <summary>Exports every instrument of <paramref name="meter"/> (that meter instance only).</summary>
    public PrometheusExporter(Meter meter) : this(i => ReferenceEquals(i.Meter, meter)) => ArgumentNullException.ThrowIfNull(meter);

    /// <summary>Exports every instrument for which <paramref name="include"/> is true.</summary>
    public PrometheusExporter(Func<Instrument, bool> include)
    {
        ArgumentNullException.ThrowIfNull(include);
        _listener = new MeterListener
        {
            InstrumentPublished = (instrument, listener) =>
            {
                if (!include(instrument) || Family.TryCreate(instrument) is not { } family) return;
                _families[instrument] = family;
                listener.EnableMeasurementEvents(instrument, family);
            },
            MeasurementsCompleted = (instrument, _) => _families.TryRemove(instrument, out Family? _),
        };
        _listener.SetMeasurementEventCallback<long>((_, value, tags, state) => ((Family)state!).Record(value, tags));
        _listener.SetMeasurementEventCallback<int>((_, value, tags, state) => ((Family)state!).Record(value, tags));
        _listener.SetMeasurementEventCallback<double>((_, value, tags, state) => ((Family)state!).Record(value, tags));
        _listener.SetMeasurementEventCallback<float>((_, value, tags, state) => ((Family)state!).Record(value, tags));
        _listener.Start();
    }

    /// <inheritdoc />
    public string ContentType => TextContentType;

    /// <inheritdoc />
    public string Render()
    {
        _listener.RecordObservableInstruments();
        var text = new StringBuilder();
        foreach (var family in _families.Values.OrderBy(f => f.Name, StringComparer.Ordinal))
            family.WriteTo(text);
        return text.ToString();
    }

    /// <inheritdoc />
    public void Dispose() => _listener.Dispose();

    /// <summary>A metric name with characters outside <c>[a-zA-Z0-9_:]</c> replaced by <c>_</c> (and no leading digit).</summary>
    public static string SanitizeName(string name)
    {
        var chars = name.Select(c => char.IsAsciiLetterOrDigit(c) || c is '_' or ':' ? c : '_').ToArray();
        var s = new string(chars);
        return s.Length == 0 || char.IsAsciiDigit(s[0]) ? "_" + s : s;
    }

    /// <summary>A sample value: shortest round-trip form, <c>+Inf</c>, <c>-Inf</c>, <c>NaN</c>.</summary>
    public static string FormatValue(double v) =>
        double.IsPositiveInfinity(v) ? "+Inf" : double.IsNegativeInfinity(v) ? "-Inf" : double.IsNaN(v) ? "NaN" : v.ToString("R", CultureInfo.InvariantCulture);

    private static string EscapeLabelValue(string v) => v.Replace("\\", @"\\").Replace("\"", "\\\"").Replace("\n", @"\n");

    private static string EscapeHelp(string v) => v.Replace("\\", @"\\").Replace("\n", @"\n");

    private enum Kind { Counter, Gauge, Histogram }

    private enum Update { Add, Set }

    private sealed class Family
    {
        private readonly ConcurrentDictionary<string, Series> _series = new(StringComparer.Ordinal);
        private readonly Kind _kind;
        private readonly Update _update;
        private readonly double[] _bounds;
        private readonly string? _help;

        private Family(string name, Kind kind, Update update, string? help, double[] bounds)
        {
            Name = name;
            _kind = kind;
            _update = update;
            _help = help;
            _bounds = bounds;
        }

        public string Name { get; }

        public static Family? TryCreate(Instrument instrument)
        {
            var type = instrument.GetType();
            var generic = type.IsGenericType ? type.GetGenericTypeDefinition() : type;
            var name = SanitizeName(instrument.Name);
            var help = string.IsNullOrWhiteSpace(instrument.Description) ? null : instrument.Description;
            if (generic == typeof(Counter<>))
                return new Family(WithTotal(name), Kind.Counter, Update.Add, help, []);
            if (generic == typeof(ObservableCounter<>))
                return new Family(WithTotal(name), Kind.Counter, Update.Set, help, []);
            if (generic == typeof(UpDownCounter<>))
                return new Family(name, Kind.Gauge, Update.Add, help, []);
            if (generic == typeof(Gauge<>) || generic == typeof(ObservableGauge<>) || generic == typeof(ObservableUpDownCounter<>))
                return new Family(name, Kind.Gauge, Update.Set, help, []);
            if (generic == typeof(Histogram<>))
                return new Family(name, Kind.Histogram, Update.Add, help, [.. BoundsOf(instrument).Where(double.IsFinite).Order()]);
            return null;
        }

        private static string WithTotal(string name) => name.EndsWith("_total", StringComparison.Ordinal) ? name : name + "_total";

        private static IEnumerable<double> BoundsOf(Instrument instrument) => instrument switch
        {
            Histogram<double> h when h.Advice?.HistogramBucketBoundaries is { Count: > 0 } b => b,
            Histogram<long> h when h.Advice?.HistogramBucketBoundaries is { Count: > 0 } b => b.Select(x => (double)x),
            Histogram<int> h when h.Advice?.HistogramBucketBoundaries is { Count: > 0 } b => b.Select(x => (double)x),
            _ => DefaultBuckets,
        };

        public void Record(double value, ReadOnlySpan<KeyValuePair<string, object?>> tags)
        {
            var labels = LabelText(tags);
            var series = _series.GetOrAdd(labels, _ => new Series(_bounds.Length));
            lock (series)
            {
                switch (_kind)
                {
                    case Kind.Histogram:
                        var i = 0;
                        while (i < _bounds.Length && value > _bounds[i]) i++; // bucket i: value ≤ bounds[i] (i == Length: +Inf)
                        series.Buckets[i]++;
                        series.Count++;
                        series.Value += value;
                        break;
                    default:
                        series.Value = _update == Update.Add ? series.Value + value : value;
                        break;
                }
            }
        }

        public void WriteTo(StringBuilder text)
        {
            if (_help is not null) text.Append("# HELP ").Append(Name).Append(' ').Append(EscapeHelp(_help)).Append('\n');
            text.Append("# TYPE ").Append(Name).Append(' ').Append(_kind switch { Kind.Counter => "counter", Kind.Gauge => "gauge", _ => "histogram" }).Append('\n');
            foreach (var (labels, series) in _series.OrderBy(s => s.Key, StringComparer.Ordinal))
            {
                lock (series)
                {
                    if (_kind != Kind.Histogram)
                    {
                        Sample(text, Name, labels, null, series.Value);
                        continue;
                    }
                    long cumulative = 0;
                    for (var i = 0; i < _bounds.Length; i++)
                    {
                        cumulative += series.Buckets[i];
                        Sample(text, Name + "_bucket", labels, FormatValue(_bounds[i]), cumulative);
                    }
                    Sample(text, Name + "_bucket", labels, "+Inf", series.Count);
                    Sample(text, Name + "_sum", labels, null, series.Value);
                    Sample(text, Name + "_count", labels, null, series.Count);
                }
            }
        }

        private static void Sample(StringBuilder text, string name, string labels, string? le, double value)
        {
            text.Append(name);
            if (labels.Length > 0 || le is not null)
            {
                text.Append('{').Append(labels);
                if (le is not null) text.Append(labels.Length > 0 ? "," : "").Append("le=\"").Append(le).Append('"');
                text.Append('}');
            }
            text.Append(' ').Append(FormatValue(value)).Append('\n');
        }

        private static string LabelText(ReadOnlySpan<KeyValuePair<string, object?>> tags)
        {
            if (tags.Length == 0) return "";
            var pairs = new List<(string Key, string Value)>(tags.Length);
            foreach (var t in tags)
                pairs.Add((SanitizeName(t.Key).Replace(':', '_'), Convert.ToString(t.Value, CultureInfo.InvariantCulture) ?? ""));
            pairs.Sort((a, b) => string.CompareOrdinal(a.Key, b.Key));
            return string.Join(",", pairs.Select(p => $"{p.Key}=\"{EscapeLabelValue(p.Value)}\""));
        }
    }

    private sealed class Series(int bounds)
    {
        public readonly long[] Buckets = new long[bounds + 1];
        public long Count;
        public double Value;
    }
}
