using YamlDotNet.Core;
using YamlDotNet.Core.Events;

namespace AutoSaveRollout.Core.Policy;

/// <summary>
/// Walks the YAML event stream once before <c>YamlStream</c> builds the tree, so that problems the representation
/// model reports poorly get a dotted key path and a useful position: the first repeated scalar key of any mapping
/// (<c>duplicate key</c>, at the second occurrence), aliases to undefined anchors (at the alias), nesting deeper than
/// <see cref="MaxDepth"/> (at the node that goes too deep), syntax errors
/// (at YamlDotNet's mark) and parser failures that YamlDotNet raises as non-YAML exceptions (at the end of the last
/// event that parsed).
/// </summary>
internal static class YamlPreScan
{
    /// <summary>
    /// Deepest nesting of mappings and sequences accepted. The schema needs 4 levels; the limit keeps a hostile document
    /// from overflowing the stack of YamlDotNet's recursive tree builder (a crash no handler can catch).
    /// </summary>
    public const int MaxDepth = 64;

    private sealed class Frame(bool isMapping, string path)
    {
        public bool IsMapping { get; } = isMapping;
        public string Path { get; } = path;
        public HashSet<string> Keys { get; } = new(StringComparer.Ordinal);
        public bool ExpectKey { get; set; } = true;
        public string CurrentKey { get; set; } = "?";
        public int Index { get; set; }
    }

    /// <summary>Throws <see cref="PolicyValidationException"/> for the first problem described above; returns otherwise.</summary>
    public static void Check(string yaml, SchemaContext ctx)
    {
        var parser = new Parser(new StringReader(yaml));
        var stack = new Stack<Frame>();
        var anchors = new HashSet<string>(StringComparer.Ordinal);
        var lastEnd = new SourcePos(1, 1);
        while (true)
        {
            try
            {
                if (!parser.MoveNext()) break;
            }
            catch (YamlException ex)
            {
                var reason = ex.Message.TrimEnd('.');
                if (reason.Length > 0) reason = char.ToLowerInvariant(reason[0]) + reason[1..];
                var at = SourcePos.Of(ex.Start);
                // YamlDotNet marks a tab in the indentation at the enclosing mapping (often 1:1): point at the tab itself.
                if (reason.Contains("tab", StringComparison.Ordinal) && (TabIndentation(yaml, at.Line) ?? TabIndentation(yaml, 1)) is { } tab)
                    throw new PolicyValidationException(ctx.File, tab.Line, tab.Column, PolicyLoader.DocumentKey,
                        "invalid YAML: tab in the indentation (YAML indents with spaces)", ex);
                throw new PolicyValidationException(ctx.File, at.Line, at.Column, PolicyLoader.DocumentKey, "invalid YAML: " + reason, ex);
            }
            catch (Exception ex) when (ex is InvalidOperationException or ArgumentException or IndexOutOfRangeException)
            {
                // YamlDotNet 16.3.0 throws InvalidOperationException for some malformed flow collections.
                throw new PolicyValidationException(ctx.File, lastEnd.Line, lastEnd.Column, PolicyLoader.DocumentKey,
                    "invalid YAML: cannot parse beyond this point", ex);
            }

            var ev = parser.Current!;
            lastEnd = SourcePos.Of(ev.End);
            switch (ev)
            {
                case DocumentStart:
                    stack.Clear();
                    anchors.Clear();
                    break;
                case MappingEnd or SequenceEnd:
                    stack.Pop();
                    break;
                case AnchorAlias alias:
                    var aliasPath = PathOf(alias, stack, ctx);
                    if (!anchors.Contains(alias.Value.Value))
                        throw ctx.Fail(SourcePos.Of(alias.Start), aliasPath, $"undefined alias *{alias.Value.Value}");
                    break;
                case NodeEvent node:
                    var path = PathOf(node, stack, ctx);
                    if (!node.Anchor.IsEmpty)
                        anchors.Add(node.Anchor.Value);
                    if (node is MappingStart or SequenceStart && stack.Count >= MaxDepth)
                        throw ctx.Fail(SourcePos.Of(node.Start), path, $"nested deeper than {MaxDepth} levels");
                    if (node is MappingStart) stack.Push(new Frame(true, path));
                    else if (node is SequenceStart) stack.Push(new Frame(false, path));
                    break;
            }
        }
    }

    /// <summary>Dotted path of <paramref name="node"/>; records keys and throws on a duplicate.</summary>
    private static string PathOf(ParsingEvent node, Stack<Frame> stack, SchemaContext ctx)
    {
        if (!stack.TryPeek(out var top))
            return "";
        if (!top.IsMapping)
            return $"{top.Path}[{top.Index++}]";
        if (!top.ExpectKey)
        {
            top.ExpectKey = true;
            return SchemaContext.Join(top.Path, top.CurrentKey);
        }

        top.ExpectKey = false;
        if (node is Scalar key)
        {
            var keyPath = SchemaContext.Join(top.Path, key.Value);
            if (!top.Keys.Add(key.Value))
                throw ctx.Fail(SourcePos.Of(key.Start), keyPath, "duplicate key");
            top.CurrentKey = key.Value;
            return keyPath;
        }

        top.CurrentKey = "?";
        return SchemaContext.Join(top.Path, "?");
    }

    /// <summary>
    /// The first tab in the leading whitespace of a line at or after <paramref name="fromLine"/> (1-based line and column),
    /// skipping blank and comment-only lines; null when there is none.
    /// </summary>
    internal static SourcePos? TabIndentation(string yaml, int fromLine)
    {
        var lines = yaml.ReplaceLineEndings("\n").Split('\n');
        for (var i = Math.Max(0, fromLine - 1); i < lines.Length; i++)
        {
            var line = lines[i];
            var indent = line.Length - line.TrimStart(' ', '\t').Length;
            var rest = line[indent..];
            if (rest.Length == 0 || rest.StartsWith('#')) continue;
            var tab = line.IndexOf('\t', 0, indent);
            if (tab >= 0) return new SourcePos(i + 1, tab + 1);
        }
        return null;
    }
}
