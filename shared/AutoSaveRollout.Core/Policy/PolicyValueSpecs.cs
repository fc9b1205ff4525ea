using System.Globalization;
using System.Text.RegularExpressions;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace AutoSaveRollout.Core.Policy;

/// <summary>An interval for numeric values; null bounds are open-ended.</summary>
internal sealed record NumberRange(double? Min, bool MinInclusive, double? Max, bool MaxInclusive)
{
    /// <summary>[0, ∞): thresholds.</summary>
    public static readonly NumberRange NonNegative = new(0, true, null, false);

    /// <summary>True when <paramref name="value"/> lies in the interval.</summary>
    public bool Contains(double value) =>
        (Min is not { } lo || (MinInclusive ? value >= lo : value > lo)) &&
        (Max is not { } hi || (MaxInclusive ? value <= hi : value < hi));

    /// <summary><c>&gt;= 0</c>, <c>in (0, 1)</c>, <c>in (0, 100]</c>.</summary>
    public override string ToString()
    {
        static string F(double d) => d.ToString("R", CultureInfo.InvariantCulture);
        return (Min, Max) switch
        {
            ({ } lo, null) => (MinInclusive ? ">= " : "> ") + F(lo),
            (null, { } hi) => (MaxInclusive ? "<= " : "< ") + F(hi),
            ({ } lo, { } hi) => $"in {(MinInclusive ? "[" : "(")}{F(lo)}, {F(hi)}{(MaxInclusive ? "]" : ")")}",
            _ => "any number",
        };
    }
}

/// <summary>
/// A finite number (plain YAML 1.2 int or float, InvariantCulture: <c>2</c>, <c>2.5</c>, <c>-1e3</c>, <c>.5</c>) within
/// <see cref="Range"/>; recorded as <see cref="double"/>. Quoted scalars are strings, not numbers; <c>.inf</c> and
/// <c>.nan</c> are rejected as non-finite.
/// </summary>
internal sealed partial class NumberSpec(double defaultValue, NumberRange range) : NodeSpec
{
    /// <summary>Value recorded when the key is absent.</summary>
    public double Default { get; } = defaultValue;

    /// <summary>Allowed values.</summary>
    public NumberRange Range { get; } = range;

    [GeneratedRegex(@"^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$")]
    private static partial Regex FloatSyntax();

    [GeneratedRegex(@"^([-+]?\.(inf|Inf|INF)|\.(nan|NaN|NAN))$")]
    private static partial Regex SpecialFloat();

    /// <inheritdoc />
    public override void Apply(YamlNode? node, string path, SourcePos keyPos, SchemaContext ctx)
    {
        if (node is null)
        {
            ctx.Values[path] = Default;
            return;
        }

        var pos = SourcePos.Of(node.Start);
        if (node is not YamlScalarNode scalar || IsNull(scalar))
            throw ctx.Fail(pos, path, $"expected a number, got {Describe(node)}");
        var text = scalar.Value ?? "";
        if (scalar.Style != YamlDotNet.Core.ScalarStyle.Plain)
            throw ctx.Fail(pos, path, $"expected a number, got quoted string '{SchemaContext.Shown(text)}'");
        if (SpecialFloat().IsMatch(text))
            throw ctx.Fail(pos, path, $"expected a finite number, got '{SchemaContext.Shown(text)}'");
        if (!FloatSyntax().IsMatch(text))
            throw ctx.Fail(pos, path, $"expected a number, got '{SchemaContext.Shown(text)}'");
        var value = double.Parse(text, NumberStyles.Float, CultureInfo.InvariantCulture);
        if (!double.IsFinite(value))
            throw ctx.Fail(pos, path, $"expected a finite number, got '{SchemaContext.Shown(text)}'");
        if (!Range.Contains(value))
            throw ctx.Fail(pos, path, $"must be {Range}, got {SchemaContext.Shown(text)}");
        ctx.Values[path] = value;
    }
}

/// <summary>A plain decimal integer in [<see cref="Min"/>, <see cref="Max"/>] (no fraction, no exponent); recorded as <see cref="int"/>.</summary>
internal sealed partial class IntegerSpec(int defaultValue, int min, int max = int.MaxValue) : NodeSpec
{
    /// <summary>Value recorded when the key is absent.</summary>
    public int Default { get; } = defaultValue;

    /// <summary>Smallest allowed value.</summary>
    public int Min { get; } = min;

    /// <summary>Largest allowed value.</summary>
    public int Max { get; } = max;

    [GeneratedRegex(@"^[-+]?[0-9]+$")]
    private static partial Regex IntSyntax();

    /// <inheritdoc />
    public override void Apply(YamlNode? node, string path, SourcePos keyPos, SchemaContext ctx)
    {
        if (node is null)
        {
            ctx.Values[path] = Default;
            return;
        }

        var expected = Max == int.MaxValue ? $"an integer >= {Min}" : $"an integer in [{Min}, {Max}]";
        if (node is not YamlScalarNode scalar || IsNull(scalar) || scalar.Style != YamlDotNet.Core.ScalarStyle.Plain
            || !IntSyntax().IsMatch(scalar.Value ?? "")
            || !long.TryParse(scalar.Value, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var value)
            || value < Min || value > Max)
            throw ctx.Fail(SourcePos.Of(node.Start), path, $"expected {expected}, got {Describe(node)}");
        ctx.Values[path] = (int)value;
    }
}

/// <summary>
/// A non-empty, non-blank string (any scalar style), optionally matching <see cref="Pattern"/> (described by
/// <see cref="Rule"/> in the error); recorded as <see cref="string"/>.
/// </summary>
internal sealed class TextSpec(string defaultValue, Regex? pattern = null, string? rule = null) : NodeSpec
{
    /// <summary>Value recorded when the key is absent.</summary>
    public string Default { get; } = defaultValue;

    /// <summary>What a value must match, if anything.</summary>
    public Regex? Pattern { get; } = pattern;

    /// <summary>The pattern in words, for the error: "must be {Rule}, got '…'".</summary>
    public string? Rule { get; } = rule;

    /// <inheritdoc />
    public override void Apply(YamlNode? node, string path, SourcePos keyPos, SchemaContext ctx)
    {
        if (node is null)
        {
            ctx.Values[path] = Default;
            return;
        }

        if (node is not YamlScalarNode scalar)
            throw ctx.Fail(SourcePos.Of(node.Start), path, $"expected a string, got {Describe(node)}");
        if (IsNull(scalar) || string.IsNullOrWhiteSpace(scalar.Value))
            throw ctx.Fail(SourcePos.Of(node.Start), path, "must be a non-empty string");
        if (Pattern is not null && !Pattern.IsMatch(scalar.Value!))
            throw ctx.Fail(SourcePos.Of(node.Start), path, $"must be {Rule}, got '{SchemaContext.Shown(scalar.Value!)}'");
        ctx.Values[path] = scalar.Value!;
    }
}

/// <summary>A plain <c>true</c> or <c>false</c> (YAML 1.2 core schema, any case of the first letter); recorded as <see cref="bool"/>.</summary>
internal sealed class BooleanSpec(bool defaultValue) : NodeSpec
{
    /// <summary>Value recorded when the key is absent.</summary>
    public bool Default { get; } = defaultValue;

    /// <inheritdoc />
    public override void Apply(YamlNode? node, string path, SourcePos keyPos, SchemaContext ctx)
    {
        if (node is null)
        {
            ctx.Values[path] = Default;
            return;
        }

        ctx.Values[path] = node is YamlScalarNode { Style: YamlDotNet.Core.ScalarStyle.Plain, Value: var v } && !IsNull((YamlScalarNode)node)
            ? v switch
            {
                "true" or "True" or "TRUE" => true,
                "false" or "False" or "FALSE" => false,
                _ => throw ctx.Fail(SourcePos.Of(node.Start), path, $"expected true or false, got {Describe(node)}"),
            }
            : throw ctx.Fail(SourcePos.Of(node.Start), path, $"expected true or false, got {Describe(node)}");
    }
}

/// <summary>
/// A non-empty sequence of distinct approver roles (<see cref="ApproverRoleNames.All"/>); recorded as <see cref="ApproverRoles"/>.
/// Errors point at the offending item, whose path is <c>{path}[i]</c>.
/// </summary>
internal sealed class RoleSetSpec(ApproverRoles defaultValue) : NodeSpec
{
    /// <summary>Value recorded when the key is absent.</summary>
    public ApproverRoles Default { get; } = defaultValue;

    /// <inheritdoc />
    public override void Apply(YamlNode? node, string path, SourcePos keyPos, SchemaContext ctx)
    {
        if (node is null)
        {
            ctx.Values[path] = Default;
            return;
        }

        var expected = string.Join(", ", ApproverRoleNames.All.Select(r => r.Name));
        if (node is not YamlSequenceNode sequence)
            throw ctx.Fail(SourcePos.Of(node.Start), path, $"expected a list of roles ({expected}), got {Describe(node)}");
        if (sequence.Children.Count == 0)
            throw ctx.Fail(SourcePos.Of(node.Start), path, $"must list at least one role ({expected})");
        var roles = ApproverRoles.None;
        for (var i = 0; i < sequence.Children.Count; i++)
        {
            var item = sequence.Children[i];
            var itemPath = $"{path}[{i}]";
            var match = item is YamlScalarNode s && !IsNull(s) ? ApproverRoleNames.All.FirstOrDefault(r => r.Name == s.Value) : default;
            if (match.Name is null)
                throw ctx.Fail(SourcePos.Of(item.Start), itemPath, $"unknown role {Describe(item)} (expected one of: {expected})");
            if (roles.HasFlag(match.Role))
                throw ctx.Fail(SourcePos.Of(item.Start), itemPath, $"duplicate role '{match.Name}'");
            roles |= match.Role;
        }
        ctx.Values[path] = roles;
    }
}

/// <summary>
/// A phase's <c>promotion</c> mapping (keys: <see cref="PolicySchema.PromotionKeys"/>), recorded as one
/// <see cref="PromotionRule"/> at its own path. At most one of <c>after_windows</c> and <c>after_hours</c> may be
/// given (error at the second); when neither is, the phase's default criterion applies. <c>after_hours</c> must be a
/// whole number of 15-minute windows.
/// </summary>
internal sealed class PromotionSpec(PromotionRule defaults) : NodeSpec
{
    private readonly MappingSpec _keys = PolicySchema.PromotionKeys(defaults);

    /// <inheritdoc />
    public override void Apply(YamlNode? node, string path, SourcePos keyPos, SchemaContext ctx)
    {
        _keys.Apply(node, path, keyPos, ctx);
        YamlScalarNode? windowsKey = null, hoursKey = null;
        if (node is YamlMappingNode mapping)
            foreach (var key in mapping.Children.Keys.OfType<YamlScalarNode>())
            {
                if (key.Value == "after_windows") windowsKey = key;
                if (key.Value == "after_hours") hoursKey = key;
            }

        if (windowsKey is not null && hoursKey is not null)
        {
            var second = windowsKey.Start.Index > hoursKey.Start.Index ? windowsKey : hoursKey;
            throw ctx.Fail(SourcePos.Of(second.Start), SchemaContext.Join(path, second.Value!),
                "give either after_windows or after_hours, not both");
        }

        var hours = (double)ctx.Values[path + ".after_hours"];
        if (hoursKey is not null && hours * 4 != Math.Floor(hours * 4))
        {
            var value = ((YamlMappingNode)node!).Children[hoursKey];
            throw ctx.Fail(SourcePos.Of(value.Start), path + ".after_hours",
                $"must be a whole number of 15-minute windows (a multiple of 0.25), got {SchemaContext.Shown(((YamlScalarNode)value).Value ?? "")}");
        }

        var inWindows = windowsKey is not null || (hoursKey is null && defaults.AfterWindows is not null);
        ctx.Values[path] = new PromotionRule(
            inWindows ? (int)ctx.Values[path + ".after_windows"] : null,
            inWindows ? null : hours,
            (ApproverRoles)ctx.Values[path + ".approvers"],
            (bool)ctx.Values[path + ".no_critical_alert"],
            (bool)ctx.Values[path + ".no_incident"]);
    }
}
