using Microsoft.Extensions.Logging;

namespace AutoSaveRollout.Tests.Support;

/// <summary>An <see cref="ILoggerFactory"/> that keeps every formatted log line (with its category and level) in memory.</summary>
internal sealed class ListLogger : ILoggerFactory
{
    private readonly List<string> _lines = [];

    /// <summary>Snapshot of the lines logged so far: <c>{level} {category}: {message}</c> (+ exception message).</summary>
    public IReadOnlyList<string> Lines
    {
        get { lock (_lines) return _lines.ToArray(); }
    }

    public ILogger CreateLogger(string categoryName) => new Logger(this, categoryName);

    public ILogger<T> For<T>() => new Logger<T>(this);

    public void AddProvider(ILoggerProvider provider) { }

    public void Dispose() { }

    private sealed class Logger(ListLogger owner, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            var line = $"{logLevel} {category}: {formatter(state, exception)}" + (exception is null ? "" : " | " + exception);
            lock (owner._lines) owner._lines.Add(line);
        }
    }
}
