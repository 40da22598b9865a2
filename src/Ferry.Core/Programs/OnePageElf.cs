using System.Buffers.Binary;

namespace Ferry.Programs;

/// <summary>
/// The file layout of Ferry's own tiny programs: a static x86-64 ELF executable whose whole file is loaded as one
/// read-write-execute page at a chosen address (the rest of the page zero-filled by the loader, room for buffers),
/// with a PT_GNU_STACK header so the stack is not executable. Code starts right after the headers.
/// </summary>
internal static class OnePageElf
{
    public const int PageSize = 4096;
    const int ElfHeaderSize = 64, ProgramHeaderSize = 56, ProgramHeaderCount = 2;

    /// <summary>Where the code starts in the file (and in the page): the entry point.</summary>
    public const int CodeOffset = ElfHeaderSize + ProgramHeaderSize * ProgramHeaderCount;

    /// <summary>Writes the ELF and program headers into the first <see cref="CodeOffset"/> bytes of <paramref name="file"/>.</summary>
    public static void WriteHeaders(Span<byte> file, ulong baseAddress)
    {
        if (file.Length > PageSize)
            throw new ArgumentException($"a one-page program of {file.Length} bytes", nameof(file));
        "\x7f"u8.CopyTo(file);
        "ELF"u8.CopyTo(file[1..]);
        file[4] = 2; file[5] = 1; file[6] = 1;                                          // 64-bit, little endian, version 1
        BinaryPrimitives.WriteUInt16LittleEndian(file[16..], 2);                        // ET_EXEC
        BinaryPrimitives.WriteUInt16LittleEndian(file[18..], 0x3e);                     // x86-64
        BinaryPrimitives.WriteUInt32LittleEndian(file[20..], 1);
        BinaryPrimitives.WriteUInt64LittleEndian(file[24..], baseAddress + CodeOffset); // entry
        BinaryPrimitives.WriteUInt64LittleEndian(file[32..], ElfHeaderSize);            // program headers
        BinaryPrimitives.WriteUInt16LittleEndian(file[52..], ElfHeaderSize);
        BinaryPrimitives.WriteUInt16LittleEndian(file[54..], ProgramHeaderSize);
        BinaryPrimitives.WriteUInt16LittleEndian(file[56..], ProgramHeaderCount);
        ProgramHeader(file[ElfHeaderSize..], baseAddress, type: 1, flags: 7, (ulong)file.Length, PageSize);   // PT_LOAD RWX
        ProgramHeader(file[(ElfHeaderSize + ProgramHeaderSize)..], baseAddress, type: 0x6474e551, flags: 6, 0, 0); // PT_GNU_STACK RW
    }

    static void ProgramHeader(Span<byte> h, ulong baseAddress, uint type, uint flags, ulong fileSize, ulong memorySize)
    {
        bool load = type == 1;
        BinaryPrimitives.WriteUInt32LittleEndian(h, type);
        BinaryPrimitives.WriteUInt32LittleEndian(h[4..], flags);
        BinaryPrimitives.WriteUInt64LittleEndian(h[16..], load ? baseAddress : 0); // p_vaddr (p_offset 0)
        BinaryPrimitives.WriteUInt64LittleEndian(h[24..], load ? baseAddress : 0); // p_paddr
        BinaryPrimitives.WriteUInt64LittleEndian(h[32..], fileSize);
        BinaryPrimitives.WriteUInt64LittleEndian(h[40..], memorySize);
        BinaryPrimitives.WriteUInt64LittleEndian(h[48..], load ? (ulong)PageSize : 16);
    }
}
