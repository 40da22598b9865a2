using System.Text;

namespace Ferry.Images.Json;

/// <summary>
/// Base64 as Python's <c>base64.encodebytes</c>/<c>decodebytes</c> (what crit uses for bytes fields and
/// payloads): a newline after every 76 output characters and at the end; nothing at all for no bytes.
/// Decoding skips characters outside the alphabet, as Python's non-strict decoder does.
/// </summary>
public static class PythonBase64
{
    const int BytesPerLine = 57; // 57 bytes become 76 characters

    public static string Encode(ReadOnlySpan<byte> data)
    {
        var text = new StringBuilder((data.Length + 2) / 3 * 4 + data.Length / BytesPerLine + 1);
        for (var start = 0; start < data.Length; start += BytesPerLine)
        {
            var chunk = data.Slice(start, Math.Min(BytesPerLine, data.Length - start));
            text.Append(Convert.ToBase64String(chunk)).Append('\n');
        }
        return text.ToString();
    }

    /// <summary>The bytes of <paramref name="text"/>, or null when its padding or length is wrong.</summary>
    public static byte[]? Decode(string text)
    {
        var alphabet = new StringBuilder(text.Length);
        foreach (var c in text)
        {
            if (c is >= 'A' and <= 'Z' or >= 'a' and <= 'z' or >= '0' and <= '9' or '+' or '/' or '=')
                alphabet.Append(c);
        }
        var clean = alphabet.ToString();
        // Python stops at the padding that completes the last group; anything after it is ignored.
        var padding = clean.IndexOf('=');
        if (padding >= 0)
        {
            var data = clean[..padding];
            var needed = (4 - data.Length % 4) % 4;
            if (!clean.AsSpan(padding).StartsWith(new string('=', needed))) return null;
            clean = data + new string('=', needed);
        }
        try
        {
            return Convert.FromBase64String(clean);
        }
        catch (FormatException)
        {
            return null;
        }
    }
}
