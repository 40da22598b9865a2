using System.Text;

namespace Ferry.Procfs;

/// <summary>
/// A forward cursor over the bytes of a /proc text file. Every Read* method throws
/// <see cref="ProcFormatException"/> naming the source and offset when the text is not as expected.
/// </summary>
internal ref struct ProcText(ReadOnlySpan<byte> text, string source)
{
    readonly ReadOnlySpan<byte> _text = text;
    int _pos;

    public readonly string Source = source;
    public readonly int Position => _pos;
    public readonly bool AtEnd => _pos >= _text.Length;
    public readonly byte Peek => _pos < _text.Length ? _text[_pos] : (byte)0;

    public readonly ProcFormatException Error(string expected) => new(Source, _pos, expected);

    public void Seek(int position) => _pos = Math.Clamp(position, 0, _text.Length);

    public void SkipSpaces()
    {
        while (_pos < _text.Length && (_text[_pos] == ' ' || _text[_pos] == '\t')) _pos++;
    }

    public void Expect(byte c)
    {
        if (Peek != c || AtEnd) throw Error($"'{(char)c}'");
        _pos++;
    }

    public bool TryConsume(byte c)
    {
        if (AtEnd || _text[_pos] != c) return false;
        _pos++;
        return true;
    }

    public ulong ReadHex()
    {
        int start = _pos;
        ulong value = 0;
        while (_pos < _text.Length && HexValue(_text[_pos]) is int d and >= 0)
        {
            if (_pos - start >= 16) throw Error("at most 16 hex digits");
            value = value << 4 | (uint)d;
            _pos++;
        }
        if (_pos == start) throw Error("hex digits");
        return value;
    }

    public ulong ReadOctal()
    {
        int start = _pos;
        ulong value = 0;
        while (_pos < _text.Length && _text[_pos] is >= (byte)'0' and <= (byte)'7')
        {
            if (value >> 61 != 0) throw Error("an octal number that fits 64 bits");
            value = value << 3 | (uint)(_text[_pos] - '0');
            _pos++;
        }
        if (_pos == start) throw Error("octal digits");
        return value;
    }

    public ulong ReadUnsigned()
    {
        int start = _pos;
        ulong value = 0;
        while (_pos < _text.Length && _text[_pos] is >= (byte)'0' and <= (byte)'9')
        {
            uint digit = (uint)(_text[_pos] - '0');
            if (value > (ulong.MaxValue - digit) / 10) throw Error("a number that fits 64 bits");
            value = value * 10 + digit;
            _pos++;
        }
        if (_pos == start) throw Error("decimal digits");
        return value;
    }

    public long ReadSigned()
    {
        bool negative = TryConsume((byte)'-');
        ulong magnitude = ReadUnsigned();
        if (magnitude > (negative ? 1UL << 63 : long.MaxValue)) throw Error("a number that fits 64 signed bits");
        return negative ? (long)(0 - magnitude) : (long)magnitude;
    }

    /// <summary>A decimal that may be negative, stored as its two's-complement bit pattern.</summary>
    public ulong ReadDecimalBits() => Peek == '-' ? (ulong)ReadSigned() : ReadUnsigned();

    public int ReadInt32()
    {
        long v = ReadSigned();
        if (v is < int.MinValue or > int.MaxValue) throw Error("a 32-bit number");
        return (int)v;
    }

    /// <summary>Bytes up to the next space, tab or newline.</summary>
    public ReadOnlySpan<byte> ReadToken()
    {
        int start = _pos;
        while (_pos < _text.Length && _text[_pos] is not ((byte)' ' or (byte)'\t' or (byte)'\n')) _pos++;
        if (_pos == start) throw Error("a word");
        return _text[start.._pos];
    }

    /// <summary>The rest of the current line (without the newline); moves past the newline.</summary>
    public ReadOnlySpan<byte> ReadLine()
    {
        int start = _pos;
        int nl = _text[_pos..].IndexOf((byte)'\n');
        int end = nl < 0 ? _text.Length : _pos + nl;
        _pos = nl < 0 ? _text.Length : end + 1;
        return _text[start..end];
    }

    public void ExpectEndOfLine()
    {
        SkipSpaces();
        if (AtEnd) return;
        if (_text[_pos] != '\n') throw Error("end of line");
        _pos++;
    }

    static int HexValue(byte c) => c switch
    {
        >= (byte)'0' and <= (byte)'9' => c - '0',
        >= (byte)'a' and <= (byte)'f' => c - 'a' + 10,
        >= (byte)'A' and <= (byte)'F' => c - 'A' + 10,
        _ => -1,
    };

    public static string Decode(ReadOnlySpan<byte> bytes) => Encoding.UTF8.GetString(bytes);

    /// <summary>Undoes the kernel's \ooo escaping of spaces, tabs, newlines and backslashes (mountinfo, maps).</summary>
    public static string Unescape(ReadOnlySpan<byte> bytes)
    {
        if (bytes.IndexOf((byte)'\\') < 0) return Decode(bytes);
        var output = new byte[bytes.Length];
        int n = 0;
        for (int i = 0; i < bytes.Length; i++)
        {
            if (bytes[i] == '\\' && i + 3 < bytes.Length && IsOctal(bytes[i + 1]) && IsOctal(bytes[i + 2]) && IsOctal(bytes[i + 3]))
            {
                output[n++] = (byte)((bytes[i + 1] - '0') << 6 | (bytes[i + 2] - '0') << 3 | (bytes[i + 3] - '0'));
                i += 3;
            }
            else output[n++] = bytes[i];
        }
        return Decode(output.AsSpan(0, n));
    }

    static bool IsOctal(byte c) => c is >= (byte)'0' and <= (byte)'7';
}
