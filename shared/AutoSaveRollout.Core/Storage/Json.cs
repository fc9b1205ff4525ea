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

    // A surrogate pair written as two \u escapes, not itself escaped (an even number of backslashes before it).
    private static readonly System.Text.RegularExpressions.Regex SurrogateEscape = new(
        @"(?<=(?:^|[^\\])(?:\\\\)*)\\u(D[89AB][0-9A-F]{2})\\u(D[C-F][0-9A-F]{2})",
        System.Text.RegularExpressions.RegexOptions.IgnoreCase | System.Text.RegularExpressions.RegexOptions.CultureInvariant);

    /// <summary>
    /// <paramref name="json"/> with every escaped surrogate pair (<c>\uD83D\uDE80</c>) replaced by the character it
    /// encodes; the JSON value is unchanged. System.Text.Json's encoders always escape characters outside the BMP.
    /// </summary>
    public static string UnescapeSupplementary(string json) =>
        SurrogateEscape.Replace(json, m => new string([
            (char)Convert.ToInt32(m.Groups[1].Value, 16), (char)Convert.ToInt32(m.Groups[2].Value, 16)]));

    /// <summary>Serialises to UTF-8 bytes (pretty).</summary>
    public static byte[] ToBytes<T>(T value) => JsonSerializer.SerializeToUtf8Bytes(value, Pretty);

    /// <summary>Deserialises UTF-8 bytes; throws <see cref="JsonException"/> when the content is not a <typeparamref name="T"/>.</summary>
    public static T FromBytes<T>(byte[] bytes) =>
        JsonSerializer.Deserialize<T>(bytes, Pretty) ?? throw new JsonException($"empty {typeof(T).Name}");
}
