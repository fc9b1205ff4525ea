namespace AutoSaveRollout.Adapters.PagerDuty;

/// <summary>
/// PagerDuty Events API v2 configuration (configuration section <c>PagerDuty</c>, e.g. env
/// <c>PagerDuty__RoutingKey</c>). The routing key is a credential: it never appears in messages or <see cref="ToString"/>.
/// </summary>
public sealed record PagerDutyOptions
{
    /// <summary>Configuration section name: <c>PagerDuty</c>.</summary>
    public const string SectionName = "PagerDuty";

    /// <summary>Default Events API v2 endpoint (PagerDuty developer docs, events-API-v2).</summary>
    public static readonly Uri DefaultEventsUrl = new("https://events.pagerduty.com/v2/enqueue");

    /// <summary>Integration (routing) key of the service — 32 characters for real PagerDuty integrations. Required.</summary>
    public string? RoutingKey { get; set; }

    /// <summary>Events endpoint; default <c>https://events.pagerduty.com/v2/enqueue</c>. Must be https unless loopback.</summary>
    public Uri EventsUrl { get; set; } = DefaultEventsUrl;

    /// <summary>Prints the endpoint and whether a routing key is set; never the key.</summary>
    public override string ToString() =>
        $"PagerDutyOptions {{ EventsUrl = {EventsUrl}, RoutingKey = {(string.IsNullOrEmpty(RoutingKey) ? "(not set)" : "(redacted)")} }}";
}
