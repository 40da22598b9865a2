using System.Buffers.Binary;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Ferry.Images.Json;

/// <summary>
/// IP addresses stored as CRIU stores them in <c>(criu).ipadd</c> fields: one (IPv4) or four (IPv6) u32
/// words holding the address bytes in network order. Text is Python's <c>ipaddress</c> form (dotted quad;
/// compressed IPv6 in lower case with the first longest run of zero groups as "::").
/// </summary>
public static class IpAddressWords
{
    /// <summary>The address text, or null when the word count is neither 1 nor 4.</summary>
    public static string? Format(IReadOnlyList<uint> words)
    {
        if (words.Count == 1)
        {
            Span<byte> v4 = stackalloc byte[4];
            BinaryPrimitives.WriteUInt32LittleEndian(v4, words[0]);
            return string.Join('.', v4.ToArray());
        }
        if (words.Count != 4) return null;
        Span<byte> bytes = stackalloc byte[16];
        for (var i = 0; i < 4; i++) BinaryPrimitives.WriteUInt32LittleEndian(bytes[(4 * i)..], words[i]);
        var groups = new int[8];
        for (var i = 0; i < 8; i++) groups[i] = BinaryPrimitives.ReadUInt16BigEndian(bytes[(2 * i)..]);
        return CompressedIpv6(groups);
    }

    static string CompressedIpv6(int[] groups)
    {
        // Python replaces the first longest run of zero groups, if it is longer than one group.
        int bestStart = -1, bestLength = 0;
        for (var i = 0; i < groups.Length;)
        {
            if (groups[i] != 0) { i++; continue; }
            var start = i;
            while (i < groups.Length && groups[i] == 0) i++;
            if (i - start > bestLength) (bestStart, bestLength) = (start, i - start);
        }
        var hex = groups.Select(g => g.ToString("x", CultureInfo.InvariantCulture)).ToArray();
        if (bestLength <= 1) return string.Join(':', hex);
        var text = new StringBuilder();
        text.Append(string.Join(':', hex[..bestStart])).Append("::").Append(string.Join(':', hex[(bestStart + bestLength)..]));
        return text.ToString();
    }

    /// <summary>The words of an IPv4 or IPv6 address text, or null when it is not one.</summary>
    public static uint[]? Parse(string text)
    {
        if (!IPAddress.TryParse(text, out var address)) return null;
        if (address.AddressFamily == AddressFamily.InterNetwork && text.Count(c => c == '.') != 3) return null;
        if (address.AddressFamily == AddressFamily.InterNetworkV6 && (address.ScopeId != 0 || text.Contains('%'))) return null;
        var bytes = address.GetAddressBytes();
        var words = new uint[bytes.Length / 4];
        for (var i = 0; i < words.Length; i++) words[i] = BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(4 * i));
        return words;
    }
}
