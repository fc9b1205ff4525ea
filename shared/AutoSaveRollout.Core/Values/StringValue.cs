using System.Text.Json;
using System.Text.Json.Serialization;

namespace AutoSaveRollout.Core.Values;

/// <summary>
/// A small typed value carried as a string on the wire (an "extensible enum", like the Azure SDK's <c>BlobErrorCode</c>):
/// known values are static members of the type; an unknown string read from storage survives as it is.
/// </summary>
/// <typeparam name="T">The value type.</typeparam>
public interface IStringValue<T> where T : struct, IStringValue<T>
{
    /// <summary>The wire string; null only for <c>default</c> (a missing or null value in a hand-edited record).</summary>
    string? Value { get; }

    /// <summary>The value of <paramref name="value"/> (null gives <c>default</c>).</summary>
    static abstract T From(string? value);
}

/// <summary>Writes an <see cref="IStringValue{T}"/> as its string (or null) and reads it back; any string is accepted.</summary>
/// <typeparam name="T">The value type.</typeparam>
public sealed class StringValueJsonConverter<T> : JsonConverter<T> where T : struct, IStringValue<T>
{
    /// <inheritdoc/>
    public override bool HandleNull => true;

    /// <inheritdoc/>
    public override T Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
        reader.TokenType switch
        {
            JsonTokenType.Null => default,
            JsonTokenType.String => T.From(reader.GetString()),
            _ => throw new JsonException($"expected a string for {typeof(T).Name}, got {reader.TokenType}"),
        };

    /// <inheritdoc/>
    public override void Write(Utf8JsonWriter writer, T value, JsonSerializerOptions options)
    {
        if (value.Value is { } s) writer.WriteStringValue(s);
        else writer.WriteNullValue();
    }
}
