using AutoSaveRollout.Core.Windows;

namespace AutoSaveRollout.Core.Ports;

/// <summary>One raw telemetry line as read, before validation.</summary>
/// <param name="Source">Where it came from (file name or URL without query string), for rejected-line reports.</param>
/// <param name="LineNumber">1-based line number within <paramref name="Source"/>.</param>
/// <param name="Text">The line without its line terminator (a UTF-8 BOM may still be present on line 1).</param>
public sealed record RawLine(string Source, long LineNumber, string Text);

/// <summary>
/// Where the Collector pulls AutoSave telemetry from. Implementations: a local JSONL file or folder (embedded default)
/// and an HTTP endpoint (<c>GET {url}?from=&lt;rfc3339&gt;&amp;to=&lt;rfc3339&gt;</c> returning JSONL).
/// </summary>
public interface ITelemetrySource
{
    /// <summary>Short description for logs (no credentials, no query string).</summary>
    string Description { get; }

    /// <summary>
    /// Streams the lines for <paramref name="window"/> ([start, end) UTC). A source may return lines whose
    /// <c>ts</c> lies outside the window, and lines it cannot place in any window; the Collector accounts for both.
    /// Throws <see cref="TelemetrySourceException"/> when the source cannot be read.
    /// </summary>
    IAsyncEnumerable<RawLine> ReadWindowAsync(TimeWindow window, CancellationToken cancellationToken = default);
}

/// <summary>The telemetry source could not be read (I/O error, HTTP failure). No secrets in the message.</summary>
public sealed class TelemetrySourceException : Exception
{
    /// <summary>Creates the exception.</summary>
    /// <param name="message">Reason, free of secrets.</param>
    /// <param name="isTransient">True for timeouts, 5xx, 408, 429 and I/O errors.</param>
    /// <param name="inner">Underlying exception.</param>
    public TelemetrySourceException(string message, bool isTransient, Exception? inner = null) : base(message, inner)
        => IsTransient = isTransient;

    /// <summary>True when retrying may succeed.</summary>
    public bool IsTransient { get; }
}
