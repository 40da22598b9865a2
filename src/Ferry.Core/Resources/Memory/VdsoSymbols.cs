using System.Buffers.Binary;
using System.Text;

namespace Ferry.Resources.Memory;

/// <summary>
/// The exported functions of a vdso image and their offsets, read from its ELF dynamic symbol table. Two vdsos with
/// the same table are interchangeable for a program that cached pointers into one of them (what CRIU checks too);
/// the rest of the image (build id, build path) may differ between builds of the same kernel.
/// </summary>
public static class VdsoSymbols
{
    const uint SectionDynSym = 11;

    /// <summary>name → offset of every defined symbol, or null when <paramref name="image"/> is not a readable ELF.</summary>
    public static SortedDictionary<string, ulong>? Read(ReadOnlySpan<byte> image)
    {
        if (image.Length < 64 || image[0] != 0x7f || !image[1..4].SequenceEqual("ELF"u8))
            return null;
        ulong sectionTable = BinaryPrimitives.ReadUInt64LittleEndian(image[40..]);
        int entrySize = BinaryPrimitives.ReadUInt16LittleEndian(image[58..]);
        int count = BinaryPrimitives.ReadUInt16LittleEndian(image[60..]);
        if (entrySize < 64 || sectionTable + (ulong)(entrySize * count) > (ulong)image.Length)
            return null;
        for (int i = 0; i < count; i++)
        {
            var section = image[((int)sectionTable + i * entrySize)..];
            if (BinaryPrimitives.ReadUInt32LittleEndian(section[4..]) != SectionDynSym)
                continue;
            ulong offset = BinaryPrimitives.ReadUInt64LittleEndian(section[24..]);
            ulong size = BinaryPrimitives.ReadUInt64LittleEndian(section[32..]);
            int link = (int)BinaryPrimitives.ReadUInt32LittleEndian(section[40..]);
            if (link >= count || offset + size > (ulong)image.Length)
                return null;
            var strings = image[((int)sectionTable + link * entrySize)..];
            ulong stringsOffset = BinaryPrimitives.ReadUInt64LittleEndian(strings[24..]);
            ulong stringsSize = BinaryPrimitives.ReadUInt64LittleEndian(strings[32..]);
            if (stringsOffset + stringsSize > (ulong)image.Length)
                return null;
            var names = image.Slice((int)stringsOffset, (int)stringsSize);
            var symbols = new SortedDictionary<string, ulong>(StringComparer.Ordinal);
            for (ulong at = offset; at + 24 <= offset + size; at += 24)
            {
                var symbol = image[(int)at..];
                int name = (int)BinaryPrimitives.ReadUInt32LittleEndian(symbol);
                ulong value = BinaryPrimitives.ReadUInt64LittleEndian(symbol[8..]);
                if (value == 0 || name <= 0 || name >= names.Length)
                    continue;
                int end = names[name..].IndexOf((byte)0);
                symbols[Encoding.ASCII.GetString(end < 0 ? names[name..] : names.Slice(name, end))] = value;
            }
            return symbols;
        }
        return null;
    }

    public static bool Same(SortedDictionary<string, ulong> a, SortedDictionary<string, ulong> b) =>
        a.Count == b.Count && a.All(pair => b.TryGetValue(pair.Key, out var value) && value == pair.Value);
}
