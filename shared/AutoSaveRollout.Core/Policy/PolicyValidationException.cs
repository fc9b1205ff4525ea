namespace AutoSaveRollout.Core.Policy;

/// <summary>
/// <c>policy.yaml</c> is invalid. <see cref="Exception.Message"/> is exactly
/// <c>{File}:{Line}:{Column}: {Key}: {Reason}</c>, e.g.
/// <c>policy.yaml:7:7: rollout.phases.A.slo.save_p95: unknown key (expected one of: ...)</c>, so editors and CI logs
/// can jump to the spot. Thrown only by <see cref="PolicyLoader"/>.
/// </summary>
public sealed class PolicyValidationException : Exception
{
    /// <summary>Creates the exception; the message is built from the parts.</summary>
    /// <param name="file">File name or path as given to the loader.</param>
    /// <param name="line">1-based line of the offending node.</param>
    /// <param name="column">1-based column of the offending node.</param>
    /// <param name="key">Dotted key path, e.g. <c>rollout.phases.B.slo.save_p95_s</c>; <c>(document)</c> for whole-document errors.</param>
    /// <param name="reason">What is wrong, in lower case without a trailing period.</param>
    /// <param name="inner">Underlying parser exception, if any.</param>
    public PolicyValidationException(string file, int line, int column, string key, string reason, Exception? inner = null)
        : base($"{file}:{line}:{column}: {key}: {reason}", inner)
    {
        File = file;
        Line = line;
        Column = column;
        Key = key;
        Reason = reason;
    }

    /// <summary>File name or path as given to the loader.</summary>
    public string File { get; }

    /// <summary>1-based line of the offending node (for a missing key: of the key that introduces its mapping).</summary>
    public int Line { get; }

    /// <summary>1-based column of the offending node.</summary>
    public int Column { get; }

    /// <summary>Dotted key path, e.g. <c>rollout.phases.B.slo.save_p95_s</c>; <c>(document)</c> for whole-document errors.</summary>
    public string Key { get; }

    /// <summary>What is wrong, e.g. <c>unknown key</c>, <c>expected a number, got 'fast'</c>.</summary>
    public string Reason { get; }
}
