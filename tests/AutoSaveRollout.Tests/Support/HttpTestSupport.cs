using System.Text.Json.Nodes;
using AutoSaveRollout.Core.Ports;

namespace AutoSaveRollout.Tests.Support;

/// <summary>Helpers shared by the HTTP adapter tests.</summary>
internal static class HttpTestSupport
{
    /// <summary>A fresh client with the given timeout (default 10 s so a hung test fails rather than blocks).</summary>
    public static HttpClient NewClient(TimeSpan? timeout = null) => new() { Timeout = timeout ?? TimeSpan.FromSeconds(10) };

    /// <summary>Asserts that none of <paramref name="secrets"/> occurs in <paramref name="ex"/>.ToString() (message, inner exceptions, stack).</summary>
    public static void AssertNoSecrets(Exception ex, params string[] secrets)
    {
        var text = ex.ToString();
        foreach (var secret in secrets)
            Assert.False(text.Contains(secret, StringComparison.OrdinalIgnoreCase), $"secret '{secret}' leaked into: {text}");
    }

    /// <summary>Asserts a JSON object has exactly the given property names.</summary>
    public static void AssertKeys(JsonNode? node, params string[] keys)
    {
        var obj = Assert.IsType<JsonObject>(node);
        Assert.Equal(keys.Order(StringComparer.Ordinal), obj.Select(p => p.Key).Order(StringComparer.Ordinal));
    }

    /// <summary>A string property of a JSON object.</summary>
    public static string? Str(JsonNode? node, string name) => node?[name]?.GetValue<string>();

    /// <summary>Awaits <paramref name="call"/> and returns the <see cref="DeliveryException"/> it throws.</summary>
    public static Task<DeliveryException> DeliveryFailure(Func<Task> call) => Assert.ThrowsAsync<DeliveryException>(call);
}

/// <summary>A clock fixed at <see cref="Now"/>.</summary>
internal sealed class FixedTimeProvider(DateTimeOffset now) : TimeProvider
{
    public DateTimeOffset Now { get; set; } = now;

    public override DateTimeOffset GetUtcNow() => Now;
}
