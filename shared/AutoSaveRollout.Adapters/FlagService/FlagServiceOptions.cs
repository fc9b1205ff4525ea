namespace AutoSaveRollout.Adapters.FlagService;

/// <summary>
/// Rollback flag-service configuration (configuration section <c>FlagService</c>, e.g. env <c>FlagService__BaseUrl</c>,
/// <c>FlagService__Token</c>). The token is a credential: it never appears in messages or <see cref="ToString"/>.
/// </summary>
public sealed record FlagServiceOptions
{
    /// <summary>Configuration section name: <c>FlagService</c>.</summary>
    public const string SectionName = "FlagService";

    /// <summary>
    /// Service root, e.g. <c>https://flags.example.com/api</c>; calls go to <c>{BaseUrl}/flags/{flag}/rollback</c>.
    /// Must be https unless the host is loopback (localhost, 127.0.0.1, ::1). Required.
    /// </summary>
    public Uri? BaseUrl { get; set; }

    /// <summary>Bearer token sent as <c>Authorization: Bearer &lt;token&gt;</c>. Required.</summary>
    public string? Token { get; set; }

    /// <summary>Prints the base URL and whether a token is set; never the token.</summary>
    public override string ToString() =>
        $"FlagServiceOptions {{ BaseUrl = {BaseUrl}, Token = {(string.IsNullOrEmpty(Token) ? "(not set)" : "(redacted)")} }}";
}
