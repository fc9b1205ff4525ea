namespace AutoSaveRollout.Adapters.Telemetry;

/// <summary>
/// Configuration of <see cref="HttpTelemetrySource"/> (configuration section <c>Telemetry</c>, e.g. env
/// <c>Telemetry__Url</c>, <c>Telemetry__Token</c>). The token is a credential: it never appears in messages or <see cref="ToString"/>.
/// </summary>
public sealed record HttpTelemetrySourceOptions
{
    /// <summary>Configuration section name: <c>Telemetry</c> (keys <c>Telemetry:Url</c>, <c>Telemetry:Token</c>).</summary>
    public const string SectionName = "Telemetry";

    /// <summary>
    /// Endpoint returning JSONL, e.g. <c>https://telemetry.example.com/autosave/events</c>. It may carry its own query
    /// string (the window bounds are appended with <c>&amp;</c>). Required. When <see cref="Token"/> is set it must be
    /// https unless the host is loopback.
    /// </summary>
    public Uri? Url { get; set; }

    /// <summary>Optional bearer token, sent as <c>Authorization: Bearer &lt;token&gt;</c>.</summary>
    public string? Token { get; set; }

    /// <summary>
    /// Longest line accepted, in UTF-16 characters (default 1,048,576). A longer line fails the read with a permanent
    /// <see cref="Core.Ports.TelemetrySourceException"/> instead of exhausting memory.
    /// </summary>
    public int MaxLineChars { get; set; } = 1 << 20;

    /// <summary>
    /// Longest wait for the next chunk of the body once the headers arrived (default 30 s). The
    /// <see cref="HttpClient.Timeout"/> covers only the wait for the response headers, because the body is streamed and
    /// a large window may legitimately take longer than that to transfer.
    /// </summary>
    public TimeSpan ReadIdleTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Prints the URL without its query string and whether a token is set; never the token.</summary>
    public override string ToString() =>
        $"HttpTelemetrySourceOptions {{ Url = {(Url is null ? "(not set)" : HttpTelemetrySource.Redacted(Url))}, " +
        $"Token = {(string.IsNullOrEmpty(Token) ? "(not set)" : "(redacted)")}, MaxLineChars = {MaxLineChars}, ReadIdleTimeout = {ReadIdleTimeout} }}";
}
