using System.Globalization;
using System.Net.Http.Headers;
using System.Runtime.CompilerServices;
using System.Text;
using AutoSaveRollout.Adapters.Http;
using AutoSaveRollout.Core.Ports;
using AutoSaveRollout.Core.Windows;

namespace AutoSaveRollout.Adapters.Telemetry;

/// <summary>
/// <see cref="ITelemetrySource"/> reading JSONL from an HTTP endpoint:
/// <c>GET {Url}?from=yyyy-MM-ddTHH:mm:ssZ&amp;to=yyyy-MM-ddTHH:mm:ssZ</c> (window bounds in UTC, URL-encoded, appended with
/// <c>&amp;</c> when <see cref="HttpTelemetrySourceOptions.Url"/> already has a query), optional
/// <c>Authorization: Bearer</c>.
/// <para>
/// The body is streamed (<see cref="HttpCompletionOption.ResponseHeadersRead"/>), decoded as UTF-8 and split on LF only;
/// one CR before the LF is removed (CRLF), a UTF-8 BOM at the start of the body is removed, blank lines are passed
/// through, and a last line without a final newline is still returned. A lone CR inside a line is kept (it is not a
/// JSONL line terminator). Invalid UTF-8 decodes to U+FFFD. Each line becomes
/// <see cref="RawLine"/>(<see cref="Source"/>, 1-based line number, text).
/// </para>
/// <para>
/// Failures → <see cref="TelemetrySourceException"/>: non-2xx (transient for 5xx/408/429, permanent otherwise, quoting
/// at most ~200 characters of the body), timeouts and connection failures (transient), a stalled body
/// (<see cref="HttpTelemetrySourceOptions.ReadIdleTimeout"/>, transient), a line longer than
/// <see cref="HttpTelemetrySourceOptions.MaxLineChars"/> (permanent). Lines already yielded stay valid; the caller
/// decides what a mid-stream failure means for the window. No retries here; the token never appears in messages.
/// </para>
/// </summary>
public sealed class HttpTelemetrySource : ITelemetrySource
{
    private readonly HttpClient _http;
    private readonly HttpDelivery _delivery;
    private readonly Uri _url;
    private readonly string? _token;
    private readonly int _maxLineChars;
    private readonly TimeSpan _idleTimeout;

    /// <summary>Creates the source.</summary>
    /// <param name="http">Client to send with; its <see cref="HttpClient.Timeout"/> bounds the wait for the response headers.</param>
    /// <param name="options">Endpoint, optional token and streaming limits.</param>
    /// <exception cref="ArgumentException">
    /// Url missing or not absolute http(s), or carrying user info; a token set on a plain-http, non-loopback Url;
    /// a token containing whitespace/control characters; MaxLineChars &lt; 1; ReadIdleTimeout not positive (or infinite).
    /// </exception>
    public HttpTelemetrySource(HttpClient http, HttpTelemetrySourceOptions options)
    {
        ArgumentNullException.ThrowIfNull(http);
        ArgumentNullException.ThrowIfNull(options);
        var url = options.Url;
        if (url is null || !url.IsAbsoluteUri || (url.Scheme != Uri.UriSchemeHttp && url.Scheme != Uri.UriSchemeHttps))
            throw new ArgumentException("telemetry Url must be an absolute http or https URL", nameof(options));
        if (!string.IsNullOrEmpty(url.UserInfo))
            throw new ArgumentException("telemetry Url must not embed credentials; use Token", nameof(options));
        if (!string.IsNullOrEmpty(options.Token))
        {
            HttpSupport.RequireHttpsOrLoopback(url, "telemetry Url (a bearer token is configured)", nameof(options));
            if (options.Token.Any(c => char.IsWhiteSpace(c) || char.IsControl(c)))
                throw new ArgumentException("telemetry token contains whitespace or control characters", nameof(options));
        }
        if (options.MaxLineChars < 1)
            throw new ArgumentException("MaxLineChars must be at least 1", nameof(options));
        if (options.ReadIdleTimeout <= TimeSpan.Zero && options.ReadIdleTimeout != Timeout.InfiniteTimeSpan)
            throw new ArgumentException("ReadIdleTimeout must be positive or infinite", nameof(options));

        _http = http;
        _delivery = new HttpDelivery(http.Timeout, TimeProvider.System, HttpFailureRules.Default,
            f => new TelemetrySourceException(f.Message, f.IsTransient, f.Inner));
        _url = url;
        _token = string.IsNullOrEmpty(options.Token) ? null : options.Token;
        _maxLineChars = options.MaxLineChars;
        _idleTimeout = options.ReadIdleTimeout;
        Source = Redacted(url);
    }

    /// <summary>The endpoint without user info, query string or fragment; used as <see cref="RawLine.Source"/>.</summary>
    public string Source { get; }

    /// <inheritdoc />
    public string Description => "http " + Source;

    /// <summary>
    /// The request URL for <paramref name="window"/>: the configured URL (query kept, fragment dropped) plus
    /// <c>from</c> and <c>to</c> as <c>yyyy-MM-ddTHH:mm:ssZ</c>, escaped with <see cref="Uri.EscapeDataString(string)"/>
    /// (so <c>:</c> is sent as <c>%3A</c>).
    /// </summary>
    public Uri RequestUriFor(TimeWindow window)
    {
        var from = Uri.EscapeDataString(Rfc3339(window.Start));
        var to = Uri.EscapeDataString(Rfc3339(window.End));
        var left = _url.GetComponents(UriComponents.SchemeAndServer | UriComponents.Path, UriFormat.UriEscaped);
        var query = _url.Query;
        var prefix = query.Length <= 1 ? "?" : query.EndsWith('&') ? query : query + "&";
        return new Uri($"{left}{prefix}from={from}&to={to}");
    }

    /// <inheritdoc />
    public async IAsyncEnumerable<RawLine> ReadWindowAsync(TimeWindow window, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        using var response = await GetAsync(window, cancellationToken).ConfigureAwait(false);
        using var reader = new Utf8LineReader(Source, _maxLineChars, _idleTimeout, cancellationToken);
        await reader.OpenAsync(response.Content).ConfigureAwait(false);
        while (await reader.ReadLineAsync().ConfigureAwait(false) is { } line)
            yield return new RawLine(Source, reader.LineNumber, line);
    }

    private async Task<HttpResponseMessage> GetAsync(TimeWindow window, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, RequestUriFor(window));
        if (_token is not null) request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", _token);
        request.Headers.Accept.ParseAdd("application/x-ndjson");
        request.Headers.Accept.ParseAdd("application/jsonl");
        request.Headers.Accept.ParseAdd("*/*;q=0.5");

        using var exchange = await _delivery.SendAsync(
            deadline => _http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, deadline),
            new HttpCall($"telemetry GET {Source} for {window}", [_token]), cancellationToken).ConfigureAwait(false);
        return exchange.Detach();
    }

    /// <summary><paramref name="url"/> without user info, query string or fragment.</summary>
    internal static string Redacted(Uri url) =>
        url.IsAbsoluteUri ? url.GetComponents(UriComponents.SchemeAndServer | UriComponents.Path, UriFormat.UriEscaped) : "(relative URL)";

    private static string Rfc3339(DateTimeOffset t) =>
        t.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);

    /// <inheritdoc />
    public override string ToString() => Description;

    /// <summary>Incremental UTF-8 decoder and LF splitter over a response stream, with an idle timeout per read.</summary>
    private sealed class Utf8LineReader : IDisposable
    {
        private readonly string _source;
        private readonly int _maxLineChars;
        private readonly TimeSpan _idleTimeout;
        private readonly CancellationToken _callerToken;
        private readonly CancellationTokenSource _idle;
        private readonly Decoder _decoder = new UTF8Encoding(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: false).GetDecoder();
        private readonly byte[] _bytes = new byte[16 * 1024];
        private readonly char[] _chars;
        private readonly StringBuilder _line = new();
        private Stream? _stream;
        private int _charPos;
        private int _charLen;
        private bool _eof;

        public Utf8LineReader(string source, int maxLineChars, TimeSpan idleTimeout, CancellationToken callerToken)
        {
            _source = source;
            _maxLineChars = maxLineChars;
            _idleTimeout = idleTimeout;
            _callerToken = callerToken;
            _idle = CancellationTokenSource.CreateLinkedTokenSource(callerToken);
            _chars = new char[Encoding.UTF8.GetMaxCharCount(_bytes.Length) + 2];
        }

        /// <summary>Number of the line most recently returned (1-based); 0 before the first.</summary>
        public long LineNumber { get; private set; }

        public async Task OpenAsync(HttpContent content)
        {
            try
            {
                _stream = await content.ReadAsStreamAsync(_callerToken).ConfigureAwait(false);
            }
            catch (Exception ex) when (!_callerToken.IsCancellationRequested && ex is IOException or HttpRequestException or OperationCanceledException)
            {
                throw new TelemetrySourceException($"telemetry GET {_source}: could not open the response body", isTransient: true, ex);
            }
        }

        /// <summary>The next line without its terminator, or null at the end of the body.</summary>
        public async ValueTask<string?> ReadLineAsync()
        {
            while (true)
            {
                if (_charPos < _charLen)
                {
                    var lf = Array.IndexOf(_chars, '\n', _charPos, _charLen - _charPos);
                    if (lf >= 0)
                    {
                        Append(_charPos, lf - _charPos);
                        _charPos = lf + 1;
                        return TakeLine();
                    }
                    Append(_charPos, _charLen - _charPos);
                    _charPos = _charLen;
                }
                if (_eof) return _line.Length > 0 ? TakeLine() : null;
                await FillAsync().ConfigureAwait(false);
            }
        }

        private void Append(int start, int count)
        {
            if (count == 0) return;
            // +1: a CR that belongs to a CRLF terminator does not count towards the limit.
            if (_line.Length + count > _maxLineChars + 1)
                throw new TelemetrySourceException(
                    $"telemetry GET {_source}: line {LineNumber + 1} is longer than {_maxLineChars} characters", isTransient: false);
            _line.Append(_chars, start, count);
        }

        private string TakeLine()
        {
            var length = _line.Length;
            if (length > 0 && _line[length - 1] == '\r') length--;
            if (length > _maxLineChars)
                throw new TelemetrySourceException(
                    $"telemetry GET {_source}: line {LineNumber + 1} is longer than {_maxLineChars} characters", isTransient: false);
            var start = LineNumber == 0 && length > 0 && _line[0] == '\uFEFF' ? 1 : 0;
            var text = _line.ToString(start, length - start);
            _line.Clear();
            LineNumber++;
            return text;
        }

        private async Task FillAsync()
        {
            int n;
            try
            {
                if (_idleTimeout != Timeout.InfiniteTimeSpan) _idle.CancelAfter(_idleTimeout);
                n = await _stream!.ReadAsync(_bytes, _idle.Token).ConfigureAwait(false);
                _idle.CancelAfter(Timeout.InfiniteTimeSpan);
            }
            catch (Exception ex) when (!_callerToken.IsCancellationRequested && ex is OperationCanceledException && _idle.IsCancellationRequested)
            {
                throw new TelemetrySourceException(
                    $"telemetry GET {_source}: no data for {_idleTimeout.TotalSeconds.ToString("0.###", CultureInfo.InvariantCulture)} s after line {LineNumber}",
                    isTransient: true, ex);
            }
            catch (Exception ex) when (!_callerToken.IsCancellationRequested && ex is IOException or HttpRequestException or OperationCanceledException or ObjectDisposedException)
            {
                throw new TelemetrySourceException(
                    $"telemetry GET {_source}: connection failed while reading the body after line {LineNumber}", isTransient: true, ex);
            }

            _charPos = 0;
            if (n == 0)
            {
                _eof = true;
                _charLen = _decoder.GetChars(_bytes, 0, 0, _chars, 0, flush: true);
                return;
            }
            _charLen = _decoder.GetChars(_bytes, 0, n, _chars, 0, flush: false);
        }

        public void Dispose()
        {
            _stream?.Dispose();
            _idle.Dispose();
        }
    }
}
