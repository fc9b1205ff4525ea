using System.Globalization;
using System.Text.RegularExpressions;

namespace AutoSaveRollout.Core.Telemetry;

/// <summary>
/// Strict RFC 3339 <c>date-time</c> parsing (RFC 3339 §5.6): <c>YYYY-MM-DDTHH:MM:SS[.frac](Z|±HH:MM)</c>; 'T' and 'Z' may be
/// lowercase. A time zone is mandatory; fractions beyond 100 ns are truncated; leap second 60 is rejected (.NET cannot
/// represent it).
/// </summary>
public static partial class Rfc3339
{
    [GeneratedRegex(@"^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?(?:([Zz])|([+-])(\d{2}):(\d{2}))$", RegexOptions.CultureInvariant)]
    private static partial Regex Pattern();

    /// <summary>Parses <paramref name="text"/>; returns false when it is not a valid RFC 3339 date-time.</summary>
    /// <param name="text">Candidate timestamp.</param>
    /// <param name="utc">The instant, converted to UTC (offset zero).</param>
    public static bool TryParse(string text, out DateTimeOffset utc)
    {
        utc = default;
        if (text.Length > 64) return false;
        var m = Pattern().Match(text);
        if (!m.Success) return false;
        int I(int g) => int.Parse(m.Groups[g].ValueSpan, NumberStyles.None, CultureInfo.InvariantCulture);
        int year = I(1), month = I(2), day = I(3), hour = I(4), minute = I(5), second = I(6);
        if (month is < 1 or > 12 || day < 1 || year < 1 || day > DateTime.DaysInMonth(year, month)) return false;
        if (hour > 23 || minute > 59 || second > 59) return false;
        long fractionTicks = 0;
        if (m.Groups[7].Success)
        {
            var frac = m.Groups[7].ValueSpan;
            var digits = frac.Length > 7 ? frac[..7] : frac;
            fractionTicks = long.Parse(digits, NumberStyles.None, CultureInfo.InvariantCulture);
            for (var i = digits.Length; i < 7; i++) fractionTicks *= 10;
        }
        var offset = TimeSpan.Zero;
        if (!m.Groups[8].Success)
        {
            int oh = I(10), om = I(11);
            if (oh > 23 || om > 59) return false;
            offset = new TimeSpan(oh, om, 0);
            if (m.Groups[9].Value == "-") offset = -offset;
        }
        try
        {
            var local = new DateTimeOffset(year, month, day, hour, minute, second, offset).AddTicks(fractionTicks);
            utc = local.ToUniversalTime();
            return true;
        }
        catch (ArgumentOutOfRangeException)
        {
            return false;
        }
    }

    /// <summary>
    /// <see cref="TryParse"/> over ASCII bytes, without allocating: true with the same instant exactly when
    /// <see cref="TryParse"/> accepts the same text. (Non-ASCII input is refused here; <see cref="TryParse"/> decides it.)
    /// </summary>
    public static bool TryParseAscii(ReadOnlySpan<byte> s, out DateTimeOffset utc)
    {
        utc = default;
        if (s.Length is < 20 or > 64) return false;
        if (!Digits(s, 0, 4, out var year) || s[4] != '-' || !Digits(s, 5, 2, out var month) || s[7] != '-' || !Digits(s, 8, 2, out var day)
            || (s[10] | 0x20) != 't' || !Digits(s, 11, 2, out var hour) || s[13] != ':' || !Digits(s, 14, 2, out var minute) || s[16] != ':'
            || !Digits(s, 17, 2, out var second))
            return false;
        var i = 19;
        long fractionTicks = 0;
        if (s[i] == '.')
        {
            var start = ++i;
            while (i < s.Length && (uint)(s[i] - '0') <= 9)
            {
                if (i - start < 7) fractionTicks = fractionTicks * 10 + (s[i] - '0');
                i++;
            }
            if (i == start) return false;
            for (var k = i - start; k < 7; k++) fractionTicks *= 10;
        }
        if (i >= s.Length) return false;
        var offset = TimeSpan.Zero;
        if ((s[i] | 0x20) == 'z')
        {
            if (i + 1 != s.Length) return false;
        }
        else
        {
            if (s[i] is not ((byte)'+' or (byte)'-') || i + 6 != s.Length || s[i + 3] != ':') return false;
            if (!Digits(s, i + 1, 2, out var oh) || !Digits(s, i + 4, 2, out var om) || oh > 23 || om > 59) return false;
            offset = new TimeSpan(oh, om, 0);
            if (s[i] == '-') offset = -offset;
        }
        if (month is < 1 or > 12 || day < 1 || year < 1 || day > DateTime.DaysInMonth(year, month)) return false;
        if (hour > 23 || minute > 59 || second > 59) return false;
        try
        {
            utc = new DateTimeOffset(year, month, day, hour, minute, second, offset).AddTicks(fractionTicks).ToUniversalTime();
            return true;
        }
        catch (ArgumentException)
        {
            utc = default;
            return false;
        }
    }

    private static bool Digits(ReadOnlySpan<byte> s, int at, int count, out int value)
    {
        value = 0;
        for (var i = at; i < at + count; i++)
        {
            var d = (uint)(s[i] - '0');
            if (d > 9) return false;
            value = value * 10 + (int)d;
        }
        return true;
    }

    /// <summary>Writes <see cref="Format"/>'s text as UTF-8 into <paramref name="destination"/> (at least 28 bytes); returns the length.</summary>
    public static int FormatUtf8(DateTimeOffset instant, Span<byte> destination) =>
        instant.UtcDateTime.TryFormat(destination, out var n, "yyyy-MM-dd'T'HH:mm:ss.FFFFFFF'Z'", CultureInfo.InvariantCulture)
            ? n : throw new ArgumentException("destination too small", nameof(destination));

    /// <summary>Formats an instant as UTC RFC 3339 with only the fraction digits needed, e.g. <c>2026-11-20T10:00:03.12Z</c>.</summary>
    public static string Format(DateTimeOffset instant) =>
        instant.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.FFFFFFF'Z'", CultureInfo.InvariantCulture);

    /// <summary>Formats an instant as UTC to the minute, as messages show window starts and deadlines: <c>2026-11-20T10:15Z</c>.</summary>
    public static string FormatMinutes(DateTimeOffset instant) =>
        instant.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm'Z'", CultureInfo.InvariantCulture);
}
