using System.Security.Cryptography;
using System.Text;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace AutoSaveRollout.Core.Policy;

/// <summary>
/// Loads and validates <c>policy.yaml</c> into a <see cref="RolloutPolicy"/>. The accepted keys, defaults and ranges
/// are listed once in <see cref="PolicySchema"/>; only <c>rollout.phases.&lt;A|B|C&gt;.slo</c> (a mapping) is
/// required, everything else defaults. The first problem found stops loading with a
/// <see cref="PolicyValidationException"/> whose message is <c>{file}:{line}:{column}: {key}: {reason}</c>
/// (1-based; unknown and duplicate keys point at the key, bad values at the value, missing keys at the key that
/// introduces the enclosing mapping, YAML syntax errors at the parser's mark with key <c>(document)</c>).
/// </summary>
public static class PolicyLoader
{
    /// <summary>Key used for errors that concern the whole document (syntax, emptiness).</summary>
    public const string DocumentKey = "(document)";

    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    /// <summary>
    /// Reads <paramref name="path"/> (UTF-8, optional BOM) and validates it; <see cref="RolloutPolicy.Sha256"/> is the
    /// lowercase hex SHA-256 of the file's bytes as stored. Errors name the file as <paramref name="path"/> was given.
    /// Throws <see cref="PolicyValidationException"/> for invalid content (including invalid UTF-8) and the usual
    /// <see cref="IOException"/>/<see cref="FileNotFoundException"/>/<see cref="UnauthorizedAccessException"/> when the
    /// file cannot be read.
    /// </summary>
    public static RolloutPolicy LoadFile(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        var bytes = File.ReadAllBytes(path);
        var bom = bytes.AsSpan().StartsWith(new byte[] { 0xEF, 0xBB, 0xBF }) ? 3 : 0;
        string text;
        try
        {
            text = StrictUtf8.GetString(bytes, bom, bytes.Length - bom);
        }
        catch (DecoderFallbackException ex)
        {
            throw new PolicyValidationException(path, 1, 1, DocumentKey, "file is not valid UTF-8", ex);
        }

        return ParseCore(text, path, Convert.ToHexStringLower(SHA256.HashData(bytes)));
    }

    /// <summary>
    /// Validates <paramref name="yaml"/>; <paramref name="fileName"/> is used only in error messages.
    /// <see cref="RolloutPolicy.Sha256"/> is the lowercase hex SHA-256 of the text's UTF-8 bytes (no BOM).
    /// Throws <see cref="PolicyValidationException"/> on any problem.
    /// </summary>
    public static RolloutPolicy Parse(string yaml, string fileName)
    {
        ArgumentNullException.ThrowIfNull(yaml);
        ArgumentNullException.ThrowIfNull(fileName);
        return ParseCore(yaml, fileName, Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(yaml))));
    }

    private static RolloutPolicy ParseCore(string yaml, string file, string sha256)
    {
        var ctx = new SchemaContext(file);
        var root = ReadSingleDocument(yaml, ctx);
        PolicySchema.Document.Apply(root, "", SourcePos.Of(root.Start), ctx);
        return Build(ctx.Values, sha256);
    }

    /// <summary>Parses the YAML into one root node; YAML-level problems are reported by <see cref="YamlPreScan"/>.</summary>
    private static YamlNode ReadSingleDocument(string yaml, SchemaContext ctx)
    {
        YamlPreScan.Check(yaml, ctx);
        var stream = new YamlStream();
        try
        {
            stream.Load(new StringReader(yaml));
        }
        catch (YamlException ex)
        {
            // Not expected after the pre-scan; kept so no YamlDotNet exception escapes untranslated.
            throw new PolicyValidationException(ctx.File, SourcePos.Of(ex.Start).Line, SourcePos.Of(ex.Start).Column,
                DocumentKey, "invalid YAML: " + ex.Message.TrimEnd('.'), ex);
        }

        if (stream.Documents.Count == 0)
            throw ctx.Fail(new SourcePos(1, 1), DocumentKey, "empty document (expected a mapping with key 'rollout')");
        if (stream.Documents.Count > 1)
            throw ctx.Fail(SourcePos.Of(stream.Documents[1].RootNode.Start), DocumentKey,
                $"expected a single YAML document, found {stream.Documents.Count}");
        var root = stream.Documents[0].RootNode;
        if (root is YamlScalarNode { Style: ScalarStyle.Plain, Value: null or "" or "~" or "null" or "Null" or "NULL" })
            throw ctx.Fail(SourcePos.Of(root.Start), DocumentKey, "empty document (expected a mapping with key 'rollout')");
        return root;
    }

    /// <summary>Builds the model from the validated flat value table (every schema leaf is present).</summary>
    private static RolloutPolicy Build(IReadOnlyDictionary<string, object> v, string sha256)
    {
        double Num(string path) => (double)v[path];

        var phases = new Dictionary<Phase, PhasePolicy>();
        foreach (var phase in new[] { Phase.A, Phase.B, Phase.C })
        {
            var p = $"rollout.phases.{phase}";
            phases[phase] = new PhasePolicy(
                phase,
                Num($"{p}.exposure_pct"),
                new SloThresholds(
                    Num($"{p}.slo.save_p95_s"),
                    Num($"{p}.slo.error_rate_pct"),
                    Num($"{p}.slo.history_drift"),
                    Num($"{p}.slo.collector_latency_s")))
            {
                Promotion = (PromotionRule)v[$"{p}.promotion"],
            };
        }

        return new RolloutPolicy(
            Flag: (string)v["rollout.flag"],
            WarnRatio: Num("rollout.warn_ratio"),
            MinSamples: (int)v["rollout.min_samples"],
            Phases: phases.AsReadOnly(),
            Channels: new ChannelPolicy(
                (string)v["rollout.channels.ok"],
                (string)v["rollout.channels.warn"],
                (string)v["rollout.channels.incident"],
                (string)v["rollout.channels.escalation"]),
            Sha256: sha256)
        {
            // gates: rollout.gate (issue 11)
            Gate = new GatePolicy((string)v["rollout.gate.mode"] == GatePolicy.PointMode ? GateMode.Point : GateMode.Confidence,
                Num("rollout.gate.confidence")),
        };
    }
}
