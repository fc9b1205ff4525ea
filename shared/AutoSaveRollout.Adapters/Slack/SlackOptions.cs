namespace AutoSaveRollout.Adapters.Slack;

/// <summary>
/// Slack incoming-webhook configuration: one webhook URL per channel (a Slack incoming webhook is bound to one channel
/// when it is created, so the channel cannot be chosen per message).
/// <para>
/// Configuration keys look like <c>Slack:Webhooks:incident_autosave</c> (environment variable
/// <c>Slack__Webhooks__incident_autosave</c>). Keys are matched after <see cref="NormaliseChannelKey"/>, so
/// <c>#incident-autosave</c>, <c>incident-autosave</c> and <c>INCIDENT_AUTOSAVE</c> all find that entry. Entries with an
/// empty URL count as not configured.
/// </para>
/// <para>The webhook URL is itself the credential: it never appears in messages, logs or <see cref="ToString"/>.</para>
/// </summary>
public sealed record SlackOptions
{
    /// <summary>Configuration section name: <c>Slack</c>.</summary>
    public const string SectionName = "Slack";

    /// <summary>Channel key → incoming-webhook URL (<c>https://hooks.slack.com/services/T…/B…/…</c>).</summary>
    public Dictionary<string, string> Webhooks { get; set; } = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>
    /// Lookup key for a channel: surrounding whitespace and one leading <c>#</c> removed, lowercased (invariant),
    /// <c>-</c> replaced by <c>_</c> (configuration keys cannot reliably carry '-' through environment variables).
    /// Example: <c>#Incident-AutoSave</c> → <c>incident_autosave</c>.
    /// </summary>
    /// <exception cref="ArgumentException">The channel is null, empty or only <c>#</c>.</exception>
    public static string NormaliseChannelKey(string channel)
    {
        ArgumentNullException.ThrowIfNull(channel);
        var key = channel.Trim();
        if (key.StartsWith('#')) key = key[1..];
        key = key.Trim().ToLowerInvariant().Replace('-', '_');
        if (key.Length == 0) throw new ArgumentException("Slack channel name is empty", nameof(channel));
        return key;
    }

    /// <summary>Lists the configured channel keys only; webhook URLs are secrets and are never printed.</summary>
    public override string ToString() =>
        $"SlackOptions {{ Webhooks = [{string.Join(", ", Webhooks.Keys.Order(StringComparer.Ordinal))}] (URLs redacted) }}";
}
