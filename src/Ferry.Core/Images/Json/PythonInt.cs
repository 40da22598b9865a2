using System.Globalization;

namespace Ferry.Images.Json;

/// <summary>
/// The two integer conversions crit relies on: <c>"0x%x" % value</c> for display and <c>int(text, 0)</c>
/// for reading back (decimal, 0x/0o/0b prefixes, a sign, '_' between digits, surrounding whitespace).
/// Int128 holds every protobuf integer type, signed or not.
/// </summary>
public static class PythonInt
{
    public static string Hex(Int128 value) =>
        value < 0
            ? "-0x" + ((UInt128)(-value)).ToString("x", CultureInfo.InvariantCulture)
            : "0x" + ((UInt128)value).ToString("x", CultureInfo.InvariantCulture);

    public static bool TryParse(string text, out Int128 value)
    {
        value = 0;
        var s = text.AsSpan().Trim();
        var negative = false;
        if (s.Length > 0 && s[0] is '+' or '-')
        {
            negative = s[0] == '-';
            s = s[1..];
        }
        var radix = 10;
        if (s.Length >= 2 && s[0] == '0' && char.ToLowerInvariant(s[1]) is 'x' or 'o' or 'b')
        {
            radix = char.ToLowerInvariant(s[1]) switch { 'x' => 16, 'o' => 8, _ => 2 };
            s = s[2..];
            if (s.Length > 0 && s[0] == '_') s = s[1..]; // Python allows "0x_1f"
        }
        else if (s.Length > 1 && s[0] == '0' && s.ContainsAnyExcept("0_"))
        {
            return false; // "010" is ambiguous and Python refuses it with base 0
        }
        if (s.Length == 0 || s[0] == '_' || s[^1] == '_') return false;

        UInt128 magnitude = 0;
        var previousUnderscore = false;
        foreach (var c in s)
        {
            if (c == '_')
            {
                if (previousUnderscore) return false;
                previousUnderscore = true;
                continue;
            }
            previousUnderscore = false;
            var digit = HexDigitValue(c);
            if (digit < 0 || digit >= radix) return false;
            if (magnitude > (UInt128.MaxValue - (UInt128)digit) / (UInt128)radix) return false;
            magnitude = magnitude * (UInt128)radix + (UInt128)digit;
        }
        if (magnitude > (UInt128)Int128.MaxValue) return false;
        value = negative ? -(Int128)magnitude : (Int128)magnitude;
        return true;
    }

    static int HexDigitValue(char c) => c switch
    {
        >= '0' and <= '9' => c - '0',
        >= 'a' and <= 'f' => c - 'a' + 10,
        >= 'A' and <= 'F' => c - 'A' + 10,
        _ => -1,
    };
}
