using System.Text.Json;
using System.Text.Json.Serialization;

namespace AutoSaveRollout.Core.Storage;

/// <summary>JSON settings shared by every record the pipeline writes: snake_case names, nulls written, enums as strings.</summary>
public static class Json
{
    /// <summary>Indented, for records humans read (decisions, manifests, dashboard, state).</summary>
    public static readonly JsonSerializerOptions Pretty = Create(indented: true);

    /// <summary>Compact, for JSONL lines and queue messages.</summary>
    public static readonly JsonSerializerOptions Compact = Create(indented: false);

    private static JsonSerializerOptions Create(bool indented) => new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        WriteIndented = indented,
        DefaultIgnoreCondition = JsonIgnoreCondition.Never,
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.SnakeCaseLower) },
        Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    /// <summary>Serialises to UTF-8 bytes (pretty).</summary>
    public static byte[] ToBytes<T>(T value) => JsonSerializer.SerializeToUtf8Bytes(value, Pretty);

    /// <summary>Deserialises UTF-8 bytes; throws <see cref="JsonException"/> when the content is not a <typeparamref name="T"/>.</summary>
    public static T FromBytes<T>(byte[] bytes) =>
        JsonSerializer.Deserialize<T>(bytes, Pretty) ?? throw new JsonException($"empty {typeof(T).Name}");
}
