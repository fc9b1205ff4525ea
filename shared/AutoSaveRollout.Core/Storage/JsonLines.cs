using System.Buffers;

namespace AutoSaveRollout.Core.Storage;

/// <summary>Handles one UTF-8 line (without LF or CR).</summary>
public delegate void Utf8LineHandler(ReadOnlySpan<byte> line);

/// <summary>Streams a UTF-8 JSONL stream line by line with a pooled buffer; memory does not grow with the stream size.</summary>
public static class JsonLines
{
    /// <summary>Calls <paramref name="handler"/> for every non-empty line of <paramref name="stream"/>; returns the line count.</summary>
    public static async Task<long> ForEachLineAsync(Stream stream, Utf8LineHandler handler, CancellationToken ct = default)
    {
        var buffer = ArrayPool<byte>.Shared.Rent(64 * 1024);
        var filled = 0;
        long lines = 0;
        try
        {
            while (true)
            {
                if (filled == buffer.Length)
                {
                    var bigger = ArrayPool<byte>.Shared.Rent(buffer.Length * 2);
                    Buffer.BlockCopy(buffer, 0, bigger, 0, filled);
                    ArrayPool<byte>.Shared.Return(buffer);
                    buffer = bigger;
                }
                var read = await stream.ReadAsync(buffer.AsMemory(filled), ct).ConfigureAwait(false);
                var end = filled + read;
                var start = 0;
                var eof = read == 0;
                while (true)
                {
                    var nl = Array.IndexOf(buffer, (byte)'\n', start, end - start);
                    if (nl < 0)
                    {
                        if (eof && end > start) { lines += Emit(buffer.AsSpan(start, end - start), handler); start = end; }
                        break;
                    }
                    lines += Emit(buffer.AsSpan(start, nl - start), handler);
                    start = nl + 1;
                }
                if (eof) return lines;
                Buffer.BlockCopy(buffer, start, buffer, 0, end - start);
                filled = end - start;
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private static int Emit(ReadOnlySpan<byte> line, Utf8LineHandler handler)
    {
        if (line.Length > 0 && line[^1] == (byte)'\r') line = line[..^1];
        if (line.IsEmpty) return 0;
        handler(line);
        return 1;
    }
}
