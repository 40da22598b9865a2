using System.Text;

namespace Ferry.Images.Json;

/// <summary>
/// Quoted-printable as Python's <c>quopri.encodestring</c>/<c>decodestring</c> (binascii's b2a_qp/a2b_qp in
/// text mode), which crit uses for unix socket names (<c>(criu).conv = "unix_name"</c>): bytes above 126,
/// '=', control characters and a trailing space or tab become <c>=XX</c>; lines are kept under 76
/// characters with soft breaks (<c>=\n</c>).
/// </summary>
public static class QuotedPrintable
{
    const int MaxLineLength = 76;

    public static string Encode(ReadOnlySpan<byte> data)
    {
        var newline = data.IndexOf((byte)'\n');
        var lineBreak = newline > 0 && data[newline - 1] == '\r' ? "\r\n" : "\n";
        var text = new StringBuilder(data.Length * 3);
        var lineLength = 0;
        var i = 0;
        while (i < data.Length)
        {
            var b = data[i];
            if (MustQuote(data, i, lineLength))
            {
                if (lineLength + 3 >= MaxLineLength)
                {
                    text.Append('=').Append(lineBreak);
                    lineLength = 0;
                }
                AppendQuoted(text, b);
                lineLength += 3;
                i++;
            }
            else if (b == '\n' || (b == '\r' && i + 1 < data.Length && data[i + 1] == '\n'))
            {
                // A space or tab just before a line end would be lost by mail transports: quote it.
                if (text.Length > 0 && text[^1] is ' ' or '\t')
                {
                    var last = text[^1];
                    text.Length--;
                    AppendQuoted(text, (byte)last);
                }
                text.Append(lineBreak);
                lineLength = 0;
                i += b == '\r' ? 2 : 1;
            }
            else
            {
                if (i + 1 != data.Length && data[i + 1] != '\n' && lineLength + 1 >= MaxLineLength)
                {
                    text.Append('=').Append(lineBreak);
                    lineLength = 0;
                }
                text.Append((char)b);
                lineLength++;
                i++;
            }
        }
        return text.ToString();
    }

    static bool MustQuote(ReadOnlySpan<byte> data, int i, int lineLength)
    {
        var b = data[i];
        var last = i + 1 == data.Length;
        return b > 126
            || b == '='
            || (b == '.' && lineLength == 0 && (last || data[i + 1] is (byte)'\n' or (byte)'\r' or 0))
            || (b is (byte)' ' or (byte)'\t' && last)
            || (b < 33 && b != '\r' && b != '\n' && b != '\t' && b != ' ');
    }

    static void AppendQuoted(StringBuilder text, byte b) => text.Append('=').Append(b.ToString("X2"));

    /// <summary>
    /// The bytes of quoted-printable <paramref name="text"/>, or null when it has non-ASCII characters;
    /// malformed escapes stay literal, as in Python.
    /// </summary>
    public static byte[]? Decode(string text)
    {
        if (!Ascii.IsValid(text)) return null;
        var bytes = Encoding.ASCII.GetBytes(text);
        var output = new List<byte>(bytes.Length);
        var i = 0;
        while (i < bytes.Length)
        {
            var b = bytes[i];
            if (b != '=')
            {
                output.Add(b);
                i++;
                continue;
            }
            if (i + 1 < bytes.Length && bytes[i + 1] == '\n')
            {
                i += 2; // soft line break
            }
            else if (i + 2 < bytes.Length && bytes[i + 1] == '\r' && bytes[i + 2] == '\n')
            {
                i += 3;
            }
            else if (i + 2 < bytes.Length && IsHex(bytes[i + 1]) && IsHex(bytes[i + 2]))
            {
                output.Add(Convert.ToByte(Encoding.ASCII.GetString(bytes, i + 1, 2), 16));
                i += 3;
            }
            else if (i + 1 == bytes.Length)
            {
                i++; // a lone '=' at the end is a soft break without its newline
            }
            else
            {
                output.Add(b);
                i++;
            }
        }
        return output.ToArray();
    }

    static bool IsHex(byte b) => b is >= (byte)'0' and <= (byte)'9' or >= (byte)'a' and <= (byte)'f' or >= (byte)'A' and <= (byte)'F';
}
