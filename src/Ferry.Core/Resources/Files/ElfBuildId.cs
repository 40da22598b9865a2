using System.Buffers.Binary;

namespace Ferry.Resources.Files;

/// <summary>
/// The GNU build-id note of an ELF file (as CRIU records it for mapped files, so a restore can tell a rebuilt
/// library from the one that was mapped): the note bytes as 32-bit words, or null for non-ELF files.
/// </summary>
internal static class ElfBuildId
{
    const uint PT_NOTE = 4, NT_GNU_BUILD_ID = 3;

    public static uint[]? Read(string path)
    {
        try
        {
            using var handle = File.OpenHandle(path, FileMode.Open, FileAccess.Read);
            Span<byte> header = stackalloc byte[64];
            if (RandomAccess.Read(handle, header, 0) < 64 || !header[..4].SequenceEqual((ReadOnlySpan<byte>)[0x7f, (byte)'E', (byte)'L', (byte)'F']) || header[4] != 2)
                return null;
            var phoff = BinaryPrimitives.ReadUInt64LittleEndian(header[32..]);
            var phentsize = BinaryPrimitives.ReadUInt16LittleEndian(header[54..]);
            var phnum = BinaryPrimitives.ReadUInt16LittleEndian(header[56..]);
            if (phentsize < 56 || phnum > 512) return null;
            var table = new byte[phentsize * phnum];
            if (RandomAccess.Read(handle, table, (long)phoff) < table.Length) return null;
            for (var i = 0; i < phnum; i++)
            {
                var ph = table.AsSpan(i * phentsize, phentsize);
                if (BinaryPrimitives.ReadUInt32LittleEndian(ph) != PT_NOTE) continue;
                var offset = BinaryPrimitives.ReadUInt64LittleEndian(ph[8..]);
                var size = BinaryPrimitives.ReadUInt64LittleEndian(ph[32..]);
                if (size > 65536) continue;
                var notes = new byte[size];
                if (RandomAccess.Read(handle, notes, (long)offset) < notes.Length) continue;
                if (FindBuildId(notes) is { } id) return id;
            }
            return null;
        }
        catch (IOException)
        {
            return null;
        }
        catch (UnauthorizedAccessException)
        {
            return null;
        }
    }

    static uint[]? FindBuildId(ReadOnlySpan<byte> notes)
    {
        var at = 0;
        while (at + 12 <= notes.Length)
        {
            var nameSize = (int)BinaryPrimitives.ReadUInt32LittleEndian(notes[at..]);
            var descSize = (int)BinaryPrimitives.ReadUInt32LittleEndian(notes[(at + 4)..]);
            var type = BinaryPrimitives.ReadUInt32LittleEndian(notes[(at + 8)..]);
            var desc = at + 12 + Align4(nameSize);
            if (nameSize < 0 || descSize < 0 || desc + descSize > notes.Length) return null;
            if (type == NT_GNU_BUILD_ID && nameSize == 4 && notes.Slice(at + 12, 4).SequenceEqual("GNU\0"u8))
            {
                var words = new uint[(descSize + 3) / 4];
                var bytes = new byte[words.Length * 4];
                notes.Slice(desc, descSize).CopyTo(bytes);
                for (var i = 0; i < words.Length; i++) words[i] = BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(i * 4));
                return words;
            }
            at = desc + Align4(descSize);
        }
        return null;
    }

    static int Align4(int value) => (value + 3) & ~3;
}
