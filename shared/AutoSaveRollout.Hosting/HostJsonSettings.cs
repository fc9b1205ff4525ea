using System.Globalization;
using System.Text.Json;
using AutoSaveRollout.Core.Pipeline;


namespace AutoSaveRollout.Hosting;

/// <summary>
/// The parts of the Azure Functions <c>host.json</c> (schema version 2.0) the standalone host honours, so both hosts retry
/// and poison queue messages the same way: <c>extensions.queues</c> batchSize, maxDequeueCount, visibilityTimeout,
/// maxPollingInterval, messageEncoding (Azure WebJobs Storage Queues extension <c>QueuesOptions</c>).
/// </summary>
/// <param name="Queues">Queue processing settings.</param>
/// <param name="MessageEncoding"><c>base64</c> (Functions default) or <c>none</c>.</param>
public sealed record HostJsonSettings(QueueProcessingOptions Queues, string MessageEncoding)
{
    /// <summary>Functions defaults: batchSize 16, maxDequeueCount 5, visibilityTimeout 0, maxPollingInterval 1 min, base64.</summary>
    public static readonly HostJsonSettings Defaults = new(new QueueProcessingOptions(), "base64");

    /// <summary>Reads <paramref name="path"/>; defaults when the file does not exist. Throws <see cref="ConfigurationException"/> on invalid content.</summary>
    public static HostJsonSettings Load(string path)
    {
        if (!File.Exists(path)) return Defaults;
        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(File.ReadAllText(path), new JsonDocumentOptions { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true });
        }
        catch (JsonException ex)
        {
            throw new ConfigurationException($"{path}: not valid JSON ({ex.Message})");
        }
        using (doc)
        {
            var root = doc.RootElement;
            if (!root.TryGetProperty("version", out var version) || version.GetString() != "2.0")
                throw new ConfigurationException($"{path}: \"version\" must be \"2.0\"");
            var q = Defaults.Queues;
            var encoding = Defaults.MessageEncoding;
            if (root.TryGetProperty("extensions", out var ext) && ext.TryGetProperty("queues", out var queues))
            {
                foreach (var p in queues.EnumerateObject())
                {
                    switch (p.Name)
                    {
                        case "batchSize": q = q with { BatchSize = Int(p, 1, 32, path) }; break;
                        case "maxDequeueCount": q = q with { MaxDequeueCount = Int(p, 1, int.MaxValue, path) }; break;
                        case "newBatchThreshold": Int(p, 0, int.MaxValue, path); break;
                        case "visibilityTimeout": q = q with { VisibilityTimeout = Span(p, path) }; break;
                        case "maxPollingInterval":
                            var max = Span(p, path);
                            if (max < TimeSpan.FromMilliseconds(100)) throw new ConfigurationException($"{path}: extensions.queues.maxPollingInterval must be ≥ 100 ms");
                            q = q with { MaxPollingInterval = max };
                            break;
                        case "messageEncoding":
                            encoding = p.Value.GetString() is "base64" or "none" ? p.Value.GetString()!
                                : throw new ConfigurationException($"{path}: extensions.queues.messageEncoding must be \"base64\" or \"none\"");
                            break;
                    }
                }
            }
            return new HostJsonSettings(q, encoding);
        }
    }

    private static int Int(JsonProperty p, int min, int max, string path) =>
        p.Value.ValueKind == JsonValueKind.Number && p.Value.TryGetInt32(out var v) && v >= min && v <= max ? v
            : throw new ConfigurationException($"{path}: extensions.queues.{p.Name} must be an integer in [{min}, {(max == int.MaxValue ? "∞" : max)}]");

    private static TimeSpan Span(JsonProperty p, string path) =>
        p.Value.ValueKind == JsonValueKind.String && TimeSpan.TryParse(p.Value.GetString(), CultureInfo.InvariantCulture, out var t) && t >= TimeSpan.Zero ? t
            : throw new ConfigurationException($"{path}: extensions.queues.{p.Name} must be a time span like \"00:00:30\"");
}
