using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Xml;
using System.Xml.Linq;
using AutoSaveRollout.Core.Ports;

namespace AutoSaveRollout.Azure;

/// <summary>
/// How message text is put inside <c>&lt;MessageText&gt;</c>. Matches host.json <c>extensions.queues.messageEncoding</c> of the
/// Azure Functions queue trigger, whose default is <c>base64</c>: a trigger with that default sends any message that is not
/// valid Base64 straight to the poison queue (fact sheet B4).
/// </summary>
public enum QueueMessageEncoding
{
    /// <summary>Base64 of the UTF-8 bytes (Azure Functions default; what the Azure SDKs' "Base64" message encoding produces).</summary>
    Base64,

    /// <summary>The text itself, XML-escaped. Pair with <c>messageEncoding: none</c> in host.json.</summary>
    None,
}

/// <summary>
/// <see cref="IQueueFactory"/> for Azure Queue storage (or Azurite) over REST; every queue shares the connection string,
/// <see cref="HttpClient"/> and <see cref="QueueMessageEncoding"/> given here.
/// </summary>
public sealed class AzureQueueFactory : IQueueFactory
{
    private readonly StorageHttpPipeline _pipeline;
    private readonly QueueMessageEncoding _encoding;

    /// <summary>
    /// Creates the factory. Throws <see cref="ArgumentException"/> when the connection string has no queue endpoint.
    /// <paramref name="http"/> is not disposed; <paramref name="timeProvider"/> stamps <c>x-ms-date</c> (default: system clock).
    /// </summary>
    public AzureQueueFactory(
        StorageConnectionString connectionString, HttpClient http, QueueMessageEncoding encoding = QueueMessageEncoding.Base64, TimeProvider? timeProvider = null)
    {
        ArgumentNullException.ThrowIfNull(connectionString);
        ArgumentNullException.ThrowIfNull(http);
        var endpoint = connectionString.QueueEndpoint
            ?? throw new ArgumentException("Connection string has no queue endpoint.", nameof(connectionString));
        _pipeline = new StorageHttpPipeline(connectionString, http, timeProvider ?? TimeProvider.System, endpoint, "Queue");
        _encoding = encoding;
    }

    /// <inheritdoc />
    /// <exception cref="ArgumentException">The name is not 3–63 lowercase letters, digits or single hyphens starting and ending with a letter or digit.</exception>
    public IMessageQueue GetQueue(string name) => new AzureMessageQueue(_pipeline, name, _encoding);
}

/// <summary>
/// One Azure queue (REST, fact sheet A5): Create Queue <c>PUT /{queue}</c>; Put Message <c>POST /{queue}/messages</c> with
/// <c>&lt;QueueMessage&gt;&lt;MessageText&gt;…</c>; Get Messages <c>GET /{queue}/messages?numofmessages=&amp;visibilitytimeout=</c>;
/// Delete Message <c>DELETE /{queue}/messages/{id}?popreceipt=</c>; Update Message <c>PUT …?popreceipt=&amp;visibilitytimeout=</c>
/// (new receipt in <c>x-ms-popreceipt</c>). Timeouts are sent as whole seconds, rounded up.
/// </summary>
public sealed class AzureMessageQueue : IMessageQueue
{
    /// <summary>Largest encoded <c>MessageText</c>: 64 KiB = 65,536 bytes of UTF-8 (learn "Put Message"; Azurite MESSAGETEXT_LENGTH_MAX).</summary>
    public const int MaxEncodedMessageBytes = 64 * 1024;

    /// <summary>Longest visibility timeout Azure accepts: 7 days = 604,800 s.</summary>
    public static readonly TimeSpan MaxVisibilityTimeout = TimeSpan.FromSeconds(604_800);

    private readonly StorageHttpPipeline _pipeline;
    private readonly QueueMessageEncoding _encoding;

    internal AzureMessageQueue(StorageHttpPipeline pipeline, string name, QueueMessageEncoding encoding)
    {
        ArgumentNullException.ThrowIfNull(name);
        if (!IsValidQueueName(name))
            throw new ArgumentException($"Queue name '{name}' must be 3–63 lowercase letters, digits or single hyphens, starting and ending with a letter or digit.", nameof(name));
        _pipeline = pipeline;
        Name = name;
        _encoding = encoding;
    }

    /// <inheritdoc />
    public string Name { get; }

    /// <summary>The encoding applied to message text on the wire.</summary>
    public QueueMessageEncoding Encoding => _encoding;

    /// <inheritdoc />
    /// <remarks>201 (created) and 204 (already there) succeed; so does 409 <c>QueueAlreadyExists</c> (exists with other metadata).</remarks>
    public async Task CreateIfNotExistsAsync(CancellationToken cancellationToken = default)
    {
        using var response = await _pipeline.SendAsync(HttpMethod.Put, _pipeline.BuildUri(Name), "Create Queue", Name,
            content: new ByteArrayContent([]), cancellationToken: cancellationToken).ConfigureAwait(false);
        if (response.StatusCode is HttpStatusCode.Created or HttpStatusCode.NoContent) return;
        var code = await StorageHttpPipeline.ReadErrorCodeAsync(response, cancellationToken).ConfigureAwait(false);
        if (response.StatusCode == HttpStatusCode.Conflict && code == "QueueAlreadyExists") return;
        throw _pipeline.Error((int)response.StatusCode, code, "Create Queue", Name, response);
    }

    /// <inheritdoc />
    /// <exception cref="ArgumentException">
    /// The encoded text exceeds <see cref="MaxEncodedMessageBytes"/> (Base64 length, or UTF-8 length after XML escaping for
    /// <see cref="QueueMessageEncoding.None"/>), or holds characters XML 1.0 cannot carry (encoding None only).
    /// </exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="initialVisibilityDelay"/> is negative or 7 days or more (it must stay below the 7-day TTL).</exception>
    public async Task<string> SendAsync(string text, TimeSpan? initialVisibilityDelay = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(text);
        var encoded = EncodeText(text, _encoding);
        var query = new List<(string, string)>();
        if (initialVisibilityDelay is { } delay)
        {
            if (delay < TimeSpan.Zero || delay >= MaxVisibilityTimeout)
                throw new ArgumentOutOfRangeException(nameof(initialVisibilityDelay), delay, "Initial visibility delay must be in [0, 7 days) (learn \"Put Message\").");
            var seconds = CeilingSeconds(delay);
            if (seconds > 0) query.Add(("visibilitytimeout", seconds.ToString(CultureInfo.InvariantCulture)));
        }
        var body = "<?xml version=\"1.0\" encoding=\"utf-8\"?><QueueMessage><MessageText>" + encoded + "</MessageText></QueueMessage>";
        using var response = await _pipeline.SendAsync(HttpMethod.Post, _pipeline.BuildUri(Name + "/messages", [.. query]), "Put Message", Name,
            content: XmlContent(body), cancellationToken: cancellationToken).ConfigureAwait(false);
        if (response.StatusCode != HttpStatusCode.Created) throw await _pipeline.ErrorAsync(response, "Put Message", Name, cancellationToken).ConfigureAwait(false);
        var list = await ParseMessagesAsync(response, "Put Message", cancellationToken).ConfigureAwait(false);
        return list.FirstOrDefault()?.Element("MessageId")?.Value
            ?? throw new StorageException($"Azure Queue Put Message '{Name}' returned no MessageId.", 201, "MalformedResponse", isTransient: false);
    }

    /// <inheritdoc />
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="maxMessages"/> outside 1–32 or <paramref name="visibilityTimeout"/> outside (0, 7 days].</exception>
    /// <remarks>
    /// With <see cref="QueueMessageEncoding.Base64"/>, a message whose text is not Base64 of valid UTF-8 (written by a producer
    /// using encoding None) is returned with its raw text rather than failing the whole batch, so the consumer can dead-letter it.
    /// </remarks>
    public async Task<IReadOnlyList<QueueMessage>> ReceiveAsync(int maxMessages, TimeSpan visibilityTimeout, CancellationToken cancellationToken = default)
    {
        if (maxMessages is < 1 or > 32)
            throw new ArgumentOutOfRangeException(nameof(maxMessages), maxMessages, "Azure Get Messages takes 1–32 messages (numofmessages).");
        if (visibilityTimeout <= TimeSpan.Zero || visibilityTimeout > MaxVisibilityTimeout)
            throw new ArgumentOutOfRangeException(nameof(visibilityTimeout), visibilityTimeout, "Visibility timeout must be in (0, 7 days] (learn \"Get Messages\": 1–604800 s).");
        var uri = _pipeline.BuildUri(Name + "/messages",
            ("numofmessages", maxMessages.ToString(CultureInfo.InvariantCulture)),
            ("visibilitytimeout", CeilingSeconds(visibilityTimeout).ToString(CultureInfo.InvariantCulture)));
        using var response = await _pipeline.SendAsync(HttpMethod.Get, uri, "Get Messages", Name, cancellationToken: cancellationToken).ConfigureAwait(false);
        if (response.StatusCode != HttpStatusCode.OK) throw await _pipeline.ErrorAsync(response, "Get Messages", Name, cancellationToken).ConfigureAwait(false);
        var elements = await ParseMessagesAsync(response, "Get Messages", cancellationToken).ConfigureAwait(false);
        var messages = new List<QueueMessage>(elements.Count);
        foreach (var e in elements)
        {
            try
            {
                messages.Add(new QueueMessage(
                    Required(e, "MessageId"),
                    Required(e, "PopReceipt"),
                    DecodeText(e.Element("MessageText")?.Value ?? "", _encoding),
                    int.Parse(Required(e, "DequeueCount"), NumberStyles.None, CultureInfo.InvariantCulture),
                    DateTimeOffset.ParseExact(Required(e, "InsertionTime"), "r", CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal)));
            }
            catch (FormatException ex)
            {
                throw new StorageException($"Azure Queue Get Messages '{Name}' returned a malformed message.", 200, "MalformedResponse", isTransient: false, ex);
            }
        }
        return messages;
    }

    /// <inheritdoc />
    /// <remarks>204 on success; a stale receipt answers 400 <c>PopReceiptMismatch</c> and a deleted or unknown message 404 <c>MessageNotFound</c> (StorageException).</remarks>
    public async Task DeleteAsync(QueueMessage message, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(message);
        var uri = _pipeline.BuildUri($"{Name}/messages/{Uri.EscapeDataString(message.Id)}", ("popreceipt", message.PopReceipt));
        using var response = await _pipeline.SendAsync(HttpMethod.Delete, uri, "Delete Message", Name, cancellationToken: cancellationToken).ConfigureAwait(false);
        if (response.StatusCode != HttpStatusCode.NoContent) throw await _pipeline.ErrorAsync(response, "Delete Message", Name, cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="visibilityTimeout"/> outside [0, 7 days].</exception>
    /// <remarks>Update Message without a body (text unchanged); the returned copy carries the new <c>x-ms-popreceipt</c>.</remarks>
    public async Task<QueueMessage> UpdateVisibilityAsync(QueueMessage message, TimeSpan visibilityTimeout, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(message);
        if (visibilityTimeout < TimeSpan.Zero || visibilityTimeout > MaxVisibilityTimeout)
            throw new ArgumentOutOfRangeException(nameof(visibilityTimeout), visibilityTimeout, "Visibility timeout must be in [0, 7 days] (learn \"Update Message\").");
        var uri = _pipeline.BuildUri($"{Name}/messages/{Uri.EscapeDataString(message.Id)}",
            ("popreceipt", message.PopReceipt),
            ("visibilitytimeout", CeilingSeconds(visibilityTimeout).ToString(CultureInfo.InvariantCulture)));
        using var response = await _pipeline.SendAsync(HttpMethod.Put, uri, "Update Message", Name,
            content: new ByteArrayContent([]), cancellationToken: cancellationToken).ConfigureAwait(false);
        if (response.StatusCode != HttpStatusCode.NoContent) throw await _pipeline.ErrorAsync(response, "Update Message", Name, cancellationToken).ConfigureAwait(false);
        var receipt = response.Headers.TryGetValues("x-ms-popreceipt", out var values) ? values.FirstOrDefault() : null;
        if (string.IsNullOrEmpty(receipt))
            throw new StorageException($"Azure Queue Update Message '{Name}' returned no x-ms-popreceipt.", 204, "MalformedResponse", isTransient: false);
        return message with { PopReceipt = receipt };
    }

    /// <summary>
    /// The <c>MessageText</c> content for <paramref name="text"/> under <paramref name="encoding"/>, already XML-safe.
    /// Throws <see cref="ArgumentException"/> when it would exceed <see cref="MaxEncodedMessageBytes"/> or (None) contains
    /// characters that XML 1.0 cannot carry.
    /// </summary>
    public static string EncodeText(string text, QueueMessageEncoding encoding)
    {
        ArgumentNullException.ThrowIfNull(text);
        string encoded;
        if (encoding == QueueMessageEncoding.Base64)
        {
            encoded = Convert.ToBase64String(System.Text.Encoding.UTF8.GetBytes(text));
        }
        else
        {
            var bad = text.IndexOfAnyExceptXmlChars();
            if (bad >= 0)
                throw new ArgumentException($"Queue message text has a character XML 1.0 cannot carry at index {bad}; use Base64 encoding.", nameof(text));
            encoded = XmlEscape(text);
        }
        var size = System.Text.Encoding.UTF8.GetByteCount(encoded);
        if (size > MaxEncodedMessageBytes)
            throw new ArgumentException(
                $"Queue message is {size:N0} bytes once encoded ({encoding}); Azure allows at most {MaxEncodedMessageBytes:N0} (64 KiB). " +
                "Store large payloads in a blob and enqueue a reference to it.", nameof(text));
        return encoded;
    }

    private static string DecodeText(string wireText, QueueMessageEncoding encoding)
    {
        if (encoding == QueueMessageEncoding.None) return wireText;
        var buffer = new byte[wireText.Length];
        if (!Convert.TryFromBase64String(wireText, buffer, out var written)) return wireText;
        try
        {
            return new UTF8Encoding(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true).GetString(buffer, 0, written);
        }
        catch (DecoderFallbackException)
        {
            return wireText;
        }
    }

    private static string XmlEscape(string text)
    {
        var sb = new StringBuilder(text.Length + 16);
        foreach (var c in text)
        {
            switch (c)
            {
                case '&': sb.Append("&amp;"); break;
                case '<': sb.Append("&lt;"); break;
                case '>': sb.Append("&gt;"); break;
                case '"': sb.Append("&quot;"); break;
                case '\'': sb.Append("&apos;"); break;
                case '\r': sb.Append("&#xD;"); break; // otherwise XML end-of-line handling turns CR LF into LF
                default: sb.Append(c); break;
            }
        }
        return sb.ToString();
    }

    private static ByteArrayContent XmlContent(string body)
    {
        var content = new ByteArrayContent(System.Text.Encoding.UTF8.GetBytes(body));
        content.Headers.ContentType = new MediaTypeHeaderValue("application/xml") { CharSet = "utf-8" };
        return content;
    }

    // <QueueMessagesList><QueueMessage><MessageId/>…</QueueMessage>…</QueueMessagesList>
    private async Task<List<XElement>> ParseMessagesAsync(HttpResponseMessage response, string op, CancellationToken cancellationToken)
    {
        try
        {
            await using var stream = await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
            var doc = await XDocument.LoadAsync(stream, LoadOptions.PreserveWhitespace, cancellationToken).ConfigureAwait(false);
            return doc.Root?.Elements("QueueMessage").ToList() ?? new List<XElement>();
        }
        catch (XmlException ex)
        {
            throw new StorageException($"Azure Queue {op} '{Name}' returned malformed XML.", (int)response.StatusCode, "MalformedResponse", isTransient: false, ex);
        }
    }

    private static string Required(XElement message, string name) =>
        message.Element(name)?.Value is { Length: > 0 } value ? value : throw new FormatException($"missing {name}");

    private static long CeilingSeconds(TimeSpan value) => (long)Math.Ceiling(value.TotalSeconds);

    private static bool IsValidQueueName(string name) =>
        name.Length is >= 3 and <= 63
        && char.IsAsciiLetterOrDigit(name[0]) && char.IsAsciiLetterOrDigit(name[^1])
        && !name.Contains("--", StringComparison.Ordinal)
        && name.All(c => c is (>= 'a' and <= 'z') or (>= '0' and <= '9') or '-');
}

internal static class XmlCharExtensions
{
    /// <summary>Index of the first character (or unpaired surrogate) not allowed by XML 1.0, or -1.</summary>
    public static int IndexOfAnyExceptXmlChars(this string text)
    {
        for (var i = 0; i < text.Length; i++)
        {
            var c = text[i];
            if (char.IsHighSurrogate(c))
            {
                if (i + 1 < text.Length && char.IsLowSurrogate(text[i + 1])) { i++; continue; }
                return i;
            }
            if (char.IsLowSurrogate(c)) return i;
            if (!XmlConvert.IsXmlChar(c)) return i;
        }
        return -1;
    }
}
