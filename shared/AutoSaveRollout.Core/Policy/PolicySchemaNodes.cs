using System.Text;
using System.Text.RegularExpressions;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace AutoSaveRollout.Core.Policy;

// The schema engine behind PolicyLoader. The *table* (which keys exist, their defaults and ranges) lives in
// PolicySchema.cs; this file only knows how to check one kind of node. To support a new kind of value (a list of
// approvers, a duration such as "15m"), add a NodeSpec subclass here and use it in the table.

/// <summary>1-based position in the policy file.</summary>
internal readonly record struct SourcePos(int Line, int Column)
{
    /// <summary>Position of a YamlDotNet mark (YamlDotNet marks are already 1-based).</summary>
    public static SourcePos Of(Mark mark) => new((int)Math.Min(mark.Line, int.MaxValue), (int)Math.Min(mark.Column, int.MaxValue));
}

/// <summary>State of one validation run: the file name for errors and the flat value table being filled.</summary>
internal sealed class SchemaContext(string file)
{
    /// <summary>File name used in error messages.</summary>
    public string File { get; } = file;

    /// <summary>Every leaf value by dotted path (document value or default), e.g. <c>rollout.phases.A.slo.save_p95_s</c> → 2.5.</summary>
    public Dictionary<string, object> Values { get; } = new(StringComparer.Ordinal);

    /// <summary>Builds the exception for a problem at <paramref name="pos"/>.</summary>
    public PolicyValidationException Fail(SourcePos pos, string key, string reason) =>
        new(File, pos.Line, pos.Column, key.Length == 0 ? PolicyLoader.DocumentKey : key, reason);

    /// <summary>Joins a parent path and a key (as <see cref="Shown"/>) with a dot (no dot at the root).</summary>
    public static string Join(string parent, string key) => parent.Length == 0 ? Shown(key) : parent + "." + Shown(key);

    /// <summary>
    /// A value or key as quoted in an error: on one line (control characters such as line breaks escaped as
    /// <c>\n</c>, <c>\u0000</c>) and at most 40 characters (then "…"), so that every error stays one readable line.
    /// </summary>
    public static string Shown(string value)
    {
        var sb = new StringBuilder();
        foreach (var rune in value.EnumerateRunes())
        {
            if (sb.Length >= 40) return sb.Append('…').ToString();
            if (rune.Value == '\n') sb.Append("\\n");
            else if (rune.Value == '\r') sb.Append("\\r");
            else if (rune.Value == '\t') sb.Append("\\t");
            else if (Rune.IsControl(rune)) sb.Append($"\\u{rune.Value:x4}");
            else sb.Append(rune.ToString());
        }
        return sb.ToString();
    }
}

/// <summary>Checks one YAML node against the schema and records its value(s) in <see cref="SchemaContext.Values"/>.</summary>
internal abstract class NodeSpec
{
    /// <summary>
    /// Validates <paramref name="node"/> (null when the key is absent: record defaults) at <paramref name="path"/>.
    /// <paramref name="keyPos"/> is where the key introducing this node was written (the node itself when absent keys
    /// below must be reported). Throws <see cref="PolicyValidationException"/> on the first problem.
    /// </summary>
    public abstract void Apply(YamlNode? node, string path, SourcePos keyPos, SchemaContext ctx);

    /// <summary><c>a mapping</c>, <c>a sequence</c>, <c>null</c> or <c>'text'</c>, for "got …" in reasons.</summary>
    protected static string Describe(YamlNode node) => node switch
    {
        YamlMappingNode => "a mapping",
        YamlSequenceNode => "a sequence",
        YamlScalarNode s when IsNull(s) => "null",
        YamlScalarNode s => $"'{SchemaContext.Shown(s.Value ?? "")}'",
        _ => "an alias",
    };

    /// <summary>True for an empty plain scalar, <c>~</c> or <c>null</c> (YAML 1.2 core schema null).</summary>
    protected static bool IsNull(YamlScalarNode s) =>
        s.Style == YamlDotNet.Core.ScalarStyle.Plain && s.Value is null or "" or "~" or "null" or "Null" or "NULL";
}

/// <summary>One key of a mapping: its name, its value's spec and whether it must be present.</summary>
internal sealed record FieldSpec(string Name, NodeSpec Spec, bool Required = false);

/// <summary>
/// A mapping with a fixed set of keys. Unknown keys, non-scalar keys and missing required keys are errors; absent
/// optional keys take their defaults. Duplicate keys are caught earlier by <see cref="YamlPreScan"/>.
/// </summary>
internal sealed class MappingSpec : NodeSpec
{
    private readonly IReadOnlyList<FieldSpec> _fields;
    private readonly Dictionary<string, FieldSpec> _byName;

    /// <summary>Creates the spec; field names must be unique.</summary>
    public MappingSpec(params FieldSpec[] fields)
    {
        _fields = fields;
        _byName = fields.ToDictionary(f => f.Name, StringComparer.Ordinal);
    }

    /// <summary>The known keys in declaration order.</summary>
    public IReadOnlyList<FieldSpec> Fields => _fields;

    /// <inheritdoc />
    public override void Apply(YamlNode? node, string path, SourcePos keyPos, SchemaContext ctx)
    {
        if (node is null)
        {
            foreach (var field in _fields)
                ApplyAbsent(field, path, keyPos, ctx);
            return;
        }

        if (node is not YamlMappingNode mapping)
            throw ctx.Fail(SourcePos.Of(node.Start), path, $"expected a mapping, got {Describe(node)}");

        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var (keyNode, valueNode) in mapping.Children)
        {
            if (keyNode is not YamlScalarNode { Value: { } name } || IsNull((YamlScalarNode)keyNode))
                throw ctx.Fail(SourcePos.Of(keyNode.Start), path, $"keys must be plain strings, got {Describe(keyNode)}");
            var childPath = SchemaContext.Join(path, name);
            if (!_byName.TryGetValue(name, out var field))
                throw ctx.Fail(SourcePos.Of(keyNode.Start), childPath,
                    $"unknown key (expected one of: {string.Join(", ", _fields.Select(f => f.Name))})");
            seen.Add(name);
            field.Spec.Apply(valueNode, childPath, SourcePos.Of(keyNode.Start), ctx);
        }

        foreach (var field in _fields)
            if (!seen.Contains(field.Name))
                ApplyAbsent(field, path, keyPos, ctx);
    }

    private static void ApplyAbsent(FieldSpec field, string path, SourcePos keyPos, SchemaContext ctx)
    {
        var childPath = SchemaContext.Join(path, field.Name);
        if (field.Required)
            throw ctx.Fail(keyPos, childPath, "missing required key");
        field.Spec.Apply(null, childPath, keyPos, ctx);
    }
}
