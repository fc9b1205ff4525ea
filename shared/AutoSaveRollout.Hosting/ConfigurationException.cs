namespace AutoSaveRollout.Hosting;

/// <summary>Configuration is missing or invalid; the CLI prints the one-line message and exits with code 2.</summary>
public sealed class ConfigurationException(string message) : Exception(message);
