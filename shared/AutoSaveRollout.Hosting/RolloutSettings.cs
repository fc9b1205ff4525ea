using AutoSaveRollout.Adapters.FlagService;
using AutoSaveRollout.Adapters.PagerDuty;
using AutoSaveRollout.Adapters.Slack;
using AutoSaveRollout.Adapters.Telemetry;
using Microsoft.Extensions.Options;

namespace AutoSaveRollout.Hosting;

// The configuration sections the pipeline reads, bound as written (strings, so a bad value is reported by the validators
// below naming the setting, never by a type converter echoing it) and validated at start-up. Each converts to its
// adapter's options once valid. Failure messages name settings and never their values: they are printed as the one line
// that stops start-up.

/// <summary>Section <c>Slack</c>: one incoming-webhook URL per channel key (<c>Slack:Webhooks:incident_autosave</c>); secrets.</summary>
public sealed class SlackSettings
{
    /// <summary>Channel key → webhook URL; blank entries count as not configured.</summary>
    public Dictionary<string, string?> Webhooks { get; set; } = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>The adapter's options: the non-blank entries.</summary>
    public SlackOptions ToOptions()
    {
        var options = new SlackOptions();
        foreach (var (key, url) in Webhooks)
            if (!string.IsNullOrWhiteSpace(url)) options.Webhooks[key] = url;
        return options;
    }
}

/// <summary>Section <c>PagerDuty</c>: Events API v2 and, with <see cref="ApiToken"/>, the REST API v2 used for escalation.</summary>
public sealed class PagerDutySettings
{
    /// <summary><c>PagerDuty:RoutingKey</c> (secret). Required outside dry-run.</summary>
    public string? RoutingKey { get; set; }
    /// <summary><c>PagerDuty:EventsUrl</c>; empty = the public endpoint.</summary>
    public string? EventsUrl { get; set; }
    /// <summary><c>PagerDuty:ApiToken</c> (secret); set = escalation through the REST API is on.</summary>
    public string? ApiToken { get; set; }
    /// <summary><c>PagerDuty:ApiUrl</c>; empty = the public REST API root.</summary>
    public string? ApiUrl { get; set; }
    /// <summary><c>PagerDuty:From</c>, required with <see cref="ApiToken"/>.</summary>
    public string? From { get; set; }
    /// <summary><c>PagerDuty:EscalationPriority</c>; absent = P1, present but blank = an error.</summary>
    public string? EscalationPriority { get; set; }

    /// <summary>True when <c>PagerDuty:ApiToken</c> is set.</summary>
    public bool Escalating => ApiToken is { Length: > 0 };

    /// <summary>The adapter's options; call after validation (values are parsed as validated).</summary>
    public PagerDutyOptions ToOptions()
    {
        var options = new PagerDutyOptions
        {
            RoutingKey = RoutingKey,
            EventsUrl = EventsUrl is { Length: > 0 } u ? new Uri(u) : PagerDutyOptions.DefaultEventsUrl,
        };
        if (Escalating)
        {
            options.ApiToken = ApiToken;
            options.ApiUrl = ApiUrl is { Length: > 0 } a ? new Uri(a) : PagerDutyOptions.DefaultApiUrl;
            options.From = From;
            if (EscalationPriority is { } priority) options.EscalationPriority = priority.Trim();
        }
        return options;
    }
}

/// <summary>Section <c>FlagService</c>: the rollback flag service.</summary>
public sealed class FlagServiceSettings
{
    /// <summary><c>FlagService:BaseUrl</c>. Required outside dry-run.</summary>
    public string? BaseUrl { get; set; }
    /// <summary><c>FlagService:Token</c> (secret). Required outside dry-run.</summary>
    public string? Token { get; set; }

    /// <summary>The adapter's options; call after validation.</summary>
    public FlagServiceOptions ToOptions() => new() { BaseUrl = new Uri(BaseUrl!), Token = Token };
}

/// <summary>Section <c>Telemetry</c> (<see cref="HttpTelemetrySourceOptions.SectionName"/>): a file or folder, else an HTTP endpoint.</summary>
public sealed class TelemetrySettings
{
    /// <summary><c>Telemetry:Path</c>: JSONL file or folder.</summary>
    public string? Path { get; set; }
    /// <summary><c>Telemetry:Url</c>: endpoint returning JSONL, used when no path is set.</summary>
    public string? Url { get; set; }
    /// <summary><c>Telemetry:Token</c>: optional bearer token of <see cref="Url"/> (secret).</summary>
    public string? Token { get; set; }
}

/// <summary>
/// The start-up checks of the settings sections, in the order the ports are built (Slack, PagerDuty, flag service), with
/// the messages the CLI prints as its one line. Nothing is required in dry-run or storage-only hosts.
/// </summary>
internal sealed class RolloutSettingsValidator(RolloutHostOptions host, Func<PagerDutySettings> pagerDuty)
    : IValidateOptions<SlackSettings>, IValidateOptions<PagerDutySettings>, IValidateOptions<FlagServiceSettings>, IValidateOptions<TelemetrySettings>
{
    public ValidateOptionsResult Validate(string? name, SlackSettings options)
    {
        if (!host.Sends || host.FlagServiceOnly) return ValidateOptionsResult.Success; // flag-service-only: webhooks are optional
        var policy = host.Policy!;
        var configured = options.Webhooks.Where(kv => !string.IsNullOrWhiteSpace(kv.Value)).Select(kv => SlackOptions.NormaliseChannelKey(kv.Key))
            .ToHashSet(StringComparer.Ordinal);
        foreach (var channel in new[] { policy.Channels.Ok, policy.Channels.Warn, policy.Channels.Incident }.Distinct())
        {
            var key = SlackOptions.NormaliseChannelKey(channel);
            if (!configured.Contains(key))
                return Fail($"configuration: no Slack webhook for {channel} (set Slack__Webhooks__{key}, or use --dry-run)");
        }
        // With escalation (PagerDuty:ApiToken set) the escalation channel needs a webhook too.
        if (pagerDuty().Escalating && SlackOptions.NormaliseChannelKey(policy.Channels.Escalation) is var escalationKey && !configured.Contains(escalationKey))
            return Fail($"configuration: no Slack webhook for the escalation channel {policy.Channels.Escalation}, required " +
                        $"because PagerDuty:ApiToken is set (set Slack__Webhooks__{escalationKey}, or use --dry-run)");
        return ValidateOptionsResult.Success;
    }

    public ValidateOptionsResult Validate(string? name, PagerDutySettings options)
    {
        if (!host.Sends || (host.FlagServiceOnly && options.RoutingKey is not { Length: > 0 })) return ValidateOptionsResult.Success;
        if (Missing(options.RoutingKey, "PagerDuty:RoutingKey") is { } missing) return missing;
        if (NotAbsolute(options.EventsUrl, "PagerDuty:EventsUrl") is { } events) return events;
        if (!options.Escalating) return ValidateOptionsResult.Success;
        if (NotAbsolute(options.ApiUrl, "PagerDuty:ApiUrl") is { } api) return api;
        if (options.From is not { Length: > 0 })
            return Fail("configuration: PagerDuty:From is not set; it is required with PagerDuty:ApiToken " +
                        "(the email of a PagerDuty user, environment PagerDuty__From)");
        if (options.EscalationPriority is { } priority && priority.Trim().Length == 0)
            return Fail("configuration: PagerDuty:EscalationPriority is empty (omit it for the default P1)");
        return ValidateOptionsResult.Success;
    }

    public ValidateOptionsResult Validate(string? name, FlagServiceSettings options)
    {
        if (!host.Sends) return ValidateOptionsResult.Success;
        return Missing(options.BaseUrl, "FlagService:BaseUrl") ?? NotAbsolute(options.BaseUrl, "FlagService:BaseUrl")
            ?? Missing(options.Token, "FlagService:Token") ?? ValidateOptionsResult.Success;
    }

    public ValidateOptionsResult Validate(string? name, TelemetrySettings options)
    {
        if (!host.RequiresTelemetry || host.TelemetrySource is not null) return ValidateOptionsResult.Success;
        return TelemetryProblem(host, options) is { } problem ? Fail(problem) : ValidateOptionsResult.Success;
    }

    /// <summary>
    /// Why no telemetry source can be built from the <c>--telemetry</c> path, else <c>Telemetry:Path</c>, else
    /// <c>Telemetry:Url</c>; null when one can.
    /// </summary>
    public static string? TelemetryProblem(RolloutHostOptions host, TelemetrySettings options)
    {
        var path = host.TelemetryPath ?? options.Path;
        if (!string.IsNullOrWhiteSpace(path))
            return File.Exists(path) || Directory.Exists(path) ? null : $"telemetry path not found: {path}";
        if (options.Url is { Length: > 0 })
            return Uri.TryCreate(options.Url, UriKind.Absolute, out _) ? null : "configuration: Telemetry:Url is not an absolute URL";
        return "no telemetry source: pass --telemetry <file|folder> or set Telemetry:Path or Telemetry:Url";
    }

    private static ValidateOptionsResult Fail(string message) => ValidateOptionsResult.Fail(message);

    private static ValidateOptionsResult? Missing(string? value, string key) =>
        value is { Length: > 0 } ? null : Fail($"configuration: {key} is not set (environment {key.Replace(":", "__")}, or use --dry-run)");

    // A URL setting (empty = the default); the message names the setting, never the value.
    private static ValidateOptionsResult? NotAbsolute(string? value, string key) =>
        value is not { Length: > 0 } || Uri.TryCreate(value, UriKind.Absolute, out _) ? null : Fail($"configuration: {key} is not an absolute URL");
}
