using System.Text;
using System.Xml;
using Azure;
using Azure.Storage.Queues;
using AutoSaveRollout.Core.Ports;
using QueueMessage = AutoSaveRollout.Core.Ports.QueueMessage;

namespace AutoSaveRollout.Azure;

/// <summary>
/// <see cref="IQueueFactory"/> for Azure Queue storage (or Azurite) through the Azure SDK: every queue is a
/// <see cref="QueueClient"/> of one <see cref="QueueServiceClient"/>, whose options decide the message encoding
/// (<see cref="QueueMessageEncoding.Base64"/> by default, as the Functions queue trigger expects), service version,
/// retries and authentication.
/// </summary>
public sealed class AzureQueueFactory : IQueueFactory
{
    private readonly QueueServiceClient _service;
    private readonly QueueServiceClient _raw;
    private readonly QueueMessageEncoding _encoding;
    private readonly StorageFailure _failure;

    /// <summary>
    /// Creates the factory. <paramref name="service"/> sends with <paramref name="encoding"/> (which must be the encoding its
    /// options carry); <paramref name="raw"/> is the same account with <see cref="QueueMessageEncoding.None"/>, used to receive so
    /// that a message another producer wrote in a different encoding is returned as is instead of being dropped by the SDK.
    /// <paramref name="maxRetries"/> is the clients' retry count. Build both with <see cref="AzureStorageRegistration"/>.
    /// </summary>
    public AzureQueueFactory(QueueServiceClient service, QueueServiceClient raw, QueueMessageEncoding encoding, int maxRetries)
    {
        _service = service ?? throw new ArgumentNullException(nameof(service));
        _raw = raw ?? throw new ArgumentNullException(nameof(raw));
        _encoding = encoding;
        _failure = new StorageFailure("Queue", maxRetries);
    }

    /// <summary>The SDK client used to send.</summary>
    public QueueServiceClient Service => _service;

    /// <summary>The encoding applied to message text on the wire.</summary>
    public QueueMessageEncoding Encoding => _encoding;

    /// <inheritdoc />
    /// <exception cref="ArgumentException">The name is not 3–63 lowercase letters, digits or single hyphens starting and ending with a letter or digit.</exception>
    public IMessageQueue GetQueue(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        if (!AzureMessageQueue.IsValidQueueName(name))
            throw new ArgumentException($"Queue name '{name}' must be 3–63 lowercase letters, digits or single hyphens, starting and ending with a letter or digit.", nameof(name));
        return new AzureMessageQueue(_service.GetQueueClient(name), _raw.GetQueueClient(name), _encoding, _failure);
    }
}

/// <summary>
/// One Azure queue: Create Queue, Put Message, Get Messages, Delete Message and Update Message through
/// <see cref="QueueClient"/>. Timeouts are sent as whole seconds, rounded up (the service counts seconds).
/// </summary>
public sealed class AzureMessageQueue : IMessageQueue
{
    /// <summary>Largest encoded <c>MessageText</c>: 64 KiB = 65,536 bytes of UTF-8 (learn "Put Message"; Azurite MESSAGETEXT_LENGTH_MAX).</summary>
    public const int MaxEncodedMessageBytes = 64 * 1024;

    /// <summary>Longest visibility timeout Azure accepts: 7 days = 604,800 s.</summary>
    public static readonly TimeSpan MaxVisibilityTimeout = TimeSpan.FromSeconds(604_800);

    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    private readonly QueueClient _client;
    private readonly QueueClient _raw;
    private readonly StorageFailure _failure;

    internal AzureMessageQueue(QueueClient client, QueueClient raw, QueueMessageEncoding encoding, StorageFailure failure)
    {
        _client = client;
        _raw = raw;
        Encoding = encoding;
        _failure = failure;
    }

    /// <inheritdoc />
    public string Name => _client.Name;

    /// <summary>The encoding applied to message text on the wire.</summary>
    public QueueMessageEncoding Encoding { get; }

    /// <inheritdoc />
    /// <remarks>201 (created) and 204 (already there) succeed; so does 409 <c>QueueAlreadyExists</c> (exists with other metadata).</remarks>
    public Task CreateIfNotExistsAsync(CancellationToken cancellationToken = default) =>
        _failure.RunAsync("Create Queue", Name, async () =>
        {
            try
            {
                await _client.CreateIfNotExistsAsync(cancellationToken: cancellationToken).ConfigureAwait(false);
            }
            catch (RequestFailedException ex) when (ex.Status == 409 && ex.ErrorCode == "QueueAlreadyExists")
            {
            }
            return true;
        }, cancellationToken);

    /// <inheritdoc />
    /// <remarks>Clear Messages (<c>DELETE /{queue}/messages</c>); 404 <c>QueueNotFound</c> counts as empty.</remarks>
    public Task ClearAsync(CancellationToken cancellationToken = default) =>
        _failure.RunAsync("Clear Messages", Name, async () =>
        {
            try
            {
                await _client.ClearMessagesAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (RequestFailedException ex) when (ex.Status == 404)
            {
            }
            return true;
        }, cancellationToken);

    /// <inheritdoc />
    /// <exception cref="ArgumentException">
    /// The encoded text exceeds <see cref="MaxEncodedMessageBytes"/> (Base64 length, or UTF-8 length after XML escaping for
    /// <see cref="QueueMessageEncoding.None"/>), or holds characters XML 1.0 cannot carry (encoding None only).
    /// </exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="initialVisibilityDelay"/> is negative or 7 days or more (it must stay below the 7-day TTL).</exception>
    public Task<string> SendAsync(string text, TimeSpan? initialVisibilityDelay = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(text);
        CheckEncodedSize(text, Encoding);
        TimeSpan? delay = null;
        if (initialVisibilityDelay is { } d)
        {
            if (d < TimeSpan.Zero || d >= MaxVisibilityTimeout)
                throw new ArgumentOutOfRangeException(nameof(initialVisibilityDelay), d, "Initial visibility delay must be in [0, 7 days) (learn \"Put Message\").");
            if (CeilingSeconds(d) > 0) delay = TimeSpan.FromSeconds(CeilingSeconds(d));
        }
        return _failure.RunAsync("Put Message", Name, async () =>
        {
            var receipt = await _client.SendMessageAsync(text, delay, timeToLive: null, cancellationToken).ConfigureAwait(false);
            return receipt.Value.MessageId;
        }, cancellationToken);
    }

    /// <inheritdoc />
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="maxMessages"/> outside 1–32 or <paramref name="visibilityTimeout"/> outside (0, 7 days].</exception>
    /// <remarks>
    /// Messages are received without SDK decoding and decoded here: with <see cref="QueueMessageEncoding.Base64"/>, a message
    /// whose text is not Base64 of valid UTF-8 (written by a producer using encoding None) is returned with its raw text rather
    /// than dropped, so the consumer can dead-letter it.
    /// </remarks>
    public Task<IReadOnlyList<QueueMessage>> ReceiveAsync(int maxMessages, TimeSpan visibilityTimeout, CancellationToken cancellationToken = default)
    {
        if (maxMessages is < 1 or > 32)
            throw new ArgumentOutOfRangeException(nameof(maxMessages), maxMessages, "Azure Get Messages takes 1–32 messages (numofmessages).");
        if (visibilityTimeout <= TimeSpan.Zero || visibilityTimeout > MaxVisibilityTimeout)
            throw new ArgumentOutOfRangeException(nameof(visibilityTimeout), visibilityTimeout, "Visibility timeout must be in (0, 7 days] (learn \"Get Messages\": 1–604800 s).");
        return _failure.RunAsync("Get Messages", Name, async () =>
        {
            var received = await _raw.ReceiveMessagesAsync(maxMessages, TimeSpan.FromSeconds(CeilingSeconds(visibilityTimeout)), cancellationToken)
                .ConfigureAwait(false);
            return (IReadOnlyList<QueueMessage>)received.Value.Select(m => new QueueMessage(
                m.MessageId, m.PopReceipt, Decode(m.Body.ToString()), (int)m.DequeueCount,
                m.InsertedOn ?? DateTimeOffset.UnixEpoch)).ToList();
        }, cancellationToken);
    }

    /// <inheritdoc />
    /// <remarks>A stale receipt answers 400 <c>PopReceiptMismatch</c> and a deleted or unknown message 404 <c>MessageNotFound</c> (StorageException).</remarks>
    public Task DeleteAsync(QueueMessage message, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(message);
        return _failure.RunAsync("Delete Message", Name, async () =>
        {
            await _client.DeleteMessageAsync(message.Id, message.PopReceipt, cancellationToken).ConfigureAwait(false);
            return true;
        }, cancellationToken);
    }

    /// <inheritdoc />
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="visibilityTimeout"/> outside [0, 7 days].</exception>
    /// <remarks>Update Message without a body (text unchanged); the returned copy carries the new pop receipt.</remarks>
    public Task<QueueMessage> UpdateVisibilityAsync(QueueMessage message, TimeSpan visibilityTimeout, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(message);
        if (visibilityTimeout < TimeSpan.Zero || visibilityTimeout > MaxVisibilityTimeout)
            throw new ArgumentOutOfRangeException(nameof(visibilityTimeout), visibilityTimeout, "Visibility timeout must be in [0, 7 days] (learn \"Update Message\").");
        return _failure.RunAsync("Update Message", Name, async () =>
        {
            var receipt = await _client.UpdateMessageAsync(message.Id, message.PopReceipt, (string?)null,
                TimeSpan.FromSeconds(CeilingSeconds(visibilityTimeout)), cancellationToken).ConfigureAwait(false);
            return message with { PopReceipt = receipt.Value.PopReceipt };
        }, cancellationToken);
    }

    /// <summary>
    /// Throws <see cref="ArgumentException"/> when <paramref name="text"/> would exceed <see cref="MaxEncodedMessageBytes"/> once
    /// encoded with <paramref name="encoding"/>, or (None) contains characters that XML 1.0 cannot carry.
    /// </summary>
    public static void CheckEncodedSize(string text, QueueMessageEncoding encoding)
    {
        long size;
        if (encoding == QueueMessageEncoding.Base64)
        {
            size = (System.Text.Encoding.UTF8.GetByteCount(text) + 2L) / 3 * 4;
        }
        else
        {
            var bad = IndexOfNonXmlChar(text);
            if (bad >= 0)
                throw new ArgumentException($"Queue message text has a character XML 1.0 cannot carry at index {bad}; use Base64 encoding.", nameof(text));
            size = System.Text.Encoding.UTF8.GetByteCount(text) + text.Sum(c => c switch { '&' => 4, '<' or '>' => 3, '"' or '\'' => 5, '\r' => 4, _ => 0 });
        }
        if (size > MaxEncodedMessageBytes)
            throw new ArgumentException(
                $"Queue message is {size:N0} bytes once encoded ({encoding}); Azure allows at most {MaxEncodedMessageBytes:N0} (64 KiB). " +
                "Store large payloads in a blob and enqueue a reference to it.", nameof(text));
    }

    internal static bool IsValidQueueName(string name) =>
        name.Length is >= 3 and <= 63
        && char.IsAsciiLetterOrDigit(name[0]) && char.IsAsciiLetterOrDigit(name[^1])
        && !name.Contains("--", StringComparison.Ordinal)
        && name.All(c => c is (>= 'a' and <= 'z') or (>= '0' and <= '9') or '-');

    private string Decode(string wireText)
    {
        if (Encoding == QueueMessageEncoding.None) return wireText;
        var buffer = new byte[wireText.Length];
        if (!Convert.TryFromBase64String(wireText, buffer, out var written)) return wireText;
        try
        {
            return StrictUtf8.GetString(buffer, 0, written);
        }
        catch (DecoderFallbackException)
        {
            return wireText;
        }
    }

    private static long CeilingSeconds(TimeSpan value) => (long)Math.Ceiling(value.TotalSeconds);

    /// <summary>Index of the first character (or unpaired surrogate) not allowed by XML 1.0, or -1.</summary>
    private static int IndexOfNonXmlChar(string text)
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
