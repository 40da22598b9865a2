namespace Ferry.Images;

/// <summary>
/// Checks that a serialized message carries its required fields (and those of the messages inside it), reading the
/// wire bytes against a table generated from the schemas. Google.Protobuf's IsInitialized() answers the same question
/// but builds the reflection descriptors of the message's whole schema file and its imports, which under NativeAOT
/// costs more than restoring a small process.
/// </summary>
/// <remarks>
/// A singular message field written in several pieces (which protobuf merges) is checked piece by piece, so such an
/// entry is refused even when the merged message would be complete; CRIU and Ferry always write a field whole.
/// </remarks>
internal static partial class RequiredFields
{
    private const int WireVarint = 0, WireFixed64 = 1, WireLengthDelimited = 2, WireStartGroup = 3, WireEndGroup = 4,
        WireFixed32 = 5;

    /// <summary>Required field numbers, and the fields holding messages that have required fields themselves.</summary>
    internal sealed record Rule(int[] Required, (int Field, Type Message)[] Nested);

    /// <summary>The rule of <paramref name="message"/>, or null when neither it nor any message in it has required fields.</summary>
    internal static Rule? For(Type message) => Table.GetValueOrDefault(message);

    /// <summary>The messages that have a rule (for the test that compares the table with the descriptors).</summary>
    internal static IEnumerable<KeyValuePair<Type, Rule>> All => Table;

    /// <summary>
    /// True when <paramref name="wire"/> has every field <paramref name="rule"/> requires, at every depth; false also
    /// when the bytes are not well-formed protobuf.
    /// </summary>
    public static bool AreSet(Rule rule, ReadOnlySpan<byte> wire)
    {
        try
        {
            return Check(rule, wire);
        }
        catch (FormatException)
        {
            return false;
        }
    }

    private static bool Check(Rule rule, ReadOnlySpan<byte> wire)
    {
        Span<bool> seen = stackalloc bool[rule.Required.Length];
        int position = 0;
        while (position < wire.Length)
        {
            uint tag = ReadTag(wire, ref position);
            int field = (int)(tag >> 3);
            int wireType = (int)(tag & 7);
            int required = Array.IndexOf(rule.Required, field);
            if (required >= 0)
                seen[required] = true;
            if (wireType == WireLengthDelimited)
            {
                var payload = ReadLengthDelimited(wire, ref position, field);
                if (NestedRule(rule, field) is { } nested && !Check(nested, payload))
                    return false;
            }
            else
            {
                Skip(wire, ref position, wireType, field);
            }
        }
        return !seen.Contains(false);
    }

    private static Rule? NestedRule(Rule rule, int field)
    {
        foreach (var (number, message) in rule.Nested)
            if (number == field)
                return Table[message];
        return null;
    }

    /// <summary>Skips a field that is not length-delimited (groups only appear among unknown fields).</summary>
    private static void Skip(ReadOnlySpan<byte> wire, ref int position, int wireType, int field)
    {
        switch (wireType)
        {
            case WireVarint:
                ReadVarint(wire, ref position);
                break;
            case WireFixed64:
                position += 8;
                break;
            case WireFixed32:
                position += 4;
                break;
            case WireStartGroup:
                while (true)
                {
                    uint tag = ReadTag(wire, ref position);
                    if ((int)(tag & 7) == WireEndGroup && (int)(tag >> 3) == field)
                        break;
                    if ((int)(tag & 7) == WireLengthDelimited)
                        ReadLengthDelimited(wire, ref position, (int)(tag >> 3));
                    else
                        Skip(wire, ref position, (int)(tag & 7), (int)(tag >> 3));
                }
                break;
            default:
                throw new FormatException($"wire type {wireType} of field {field}");
        }
        if (position > wire.Length)
            throw new FormatException($"field {field} runs past the end of the message");
    }

    /// <summary>Tags and lengths are 32-bit varints: like Google.Protobuf, keep the low 32 bits of a longer one.</summary>
    private static uint ReadTag(ReadOnlySpan<byte> wire, ref int position) => (uint)ReadVarint(wire, ref position);

    private static ReadOnlySpan<byte> ReadLengthDelimited(ReadOnlySpan<byte> wire, ref int position, int field)
    {
        uint length = (uint)ReadVarint(wire, ref position);
        if (length > wire.Length - position)
            throw new FormatException($"field {field} runs past the end of the message");
        var payload = wire.Slice(position, (int)length);
        position += (int)length;
        return payload;
    }

    private static ulong ReadVarint(ReadOnlySpan<byte> wire, ref int position)
    {
        ulong value = 0;
        for (int shift = 0; shift < 64; shift += 7)
        {
            if (position >= wire.Length)
                throw new FormatException("a varint runs past the end of the message");
            byte b = wire[position++];
            value |= (ulong)(b & 0x7f) << shift;
            if (b < 0x80)
                return value;
        }
        throw new FormatException("a varint longer than 10 bytes");
    }
}
