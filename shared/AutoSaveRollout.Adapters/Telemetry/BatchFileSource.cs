using System.Runtime.CompilerServices;
using System.Text;
using AutoSaveRollout.Core.Ports;
using AutoSaveRollout.Core.Windows;

namespace AutoSaveRollout.Adapters.Telemetry;

/// <summary>
/// A single JSONL file read as ONE batch whatever window is asked for (the design's simulation mode,
/// <c>analyze --batch</c>). Pair it with <c>CollectorOptions.AcceptAnyTimestamp</c>.
/// </summary>
public sealed class BatchFileSource(string file) : ITelemetrySource
{
    /// <inheritdoc />
    public string Description => "batch:" + Path.GetFullPath(file);

    /// <inheritdoc />
    public async IAsyncEnumerable<RawLine> ReadWindowAsync(TimeWindow window, [EnumeratorCancellation] CancellationToken ct = default)
    {
        var name = Path.GetFileName(file);
        long n = 0;
        using var reader = new StreamReader(file, new UTF8Encoding(false, false), detectEncodingFromByteOrderMarks: false);
        while (await reader.ReadLineAsync(ct).ConfigureAwait(false) is { } line)
            yield return new RawLine(name, ++n, line);
    }
}
