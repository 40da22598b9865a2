using System.Buffers.Binary;

namespace Ferry.Procfs;

/// <summary>One (AT_* type, value) pair of the ELF auxiliary vector.</summary>
public readonly record struct AuxvEntry(ulong Type, ulong Value)
{
    public const ulong AT_NULL = 0, AT_PHDR = 3, AT_PHENT = 4, AT_PHNUM = 5, AT_PAGESZ = 6, AT_BASE = 7,
        AT_ENTRY = 9, AT_UID = 11, AT_HWCAP = 16, AT_CLKTCK = 17, AT_RANDOM = 25, AT_HWCAP2 = 26,
        AT_EXECFN = 31, AT_SYSINFO_EHDR = 33, AT_MINSIGSTKSZ = 51;
}

/// <summary>Parser of /proc/PID/auxv (native-endian u64 pairs).</summary>
public static class ProcAuxv
{
    /// <summary>The raw words (pairs, including the terminating AT_NULL pair), as PR_SET_MM_MAP wants them.</summary>
    public static ulong[] ReadWords(int pid)
    {
        var bytes = ProcFile.ReadAllBytes(pid, "auxv");
        if (bytes.Length % 16 != 0)
            throw new ProcFormatException(ProcFile.PathOf(pid, "auxv"), bytes.Length, "a multiple of 16 bytes");
        var words = new ulong[bytes.Length / 8];
        for (int i = 0; i < words.Length; i++) words[i] = BinaryPrimitives.ReadUInt64LittleEndian(bytes.AsSpan(i * 8));
        return words;
    }

    /// <summary>The entries up to (not including) AT_NULL.</summary>
    public static List<AuxvEntry> Read(int pid) => Parse(ProcFile.ReadAllBytes(pid, "auxv"));

    public static List<AuxvEntry> Parse(ReadOnlySpan<byte> bytes)
    {
        var entries = new List<AuxvEntry>(bytes.Length / 16);
        for (int i = 0; i + 16 <= bytes.Length; i += 16)
        {
            ulong type = BinaryPrimitives.ReadUInt64LittleEndian(bytes[i..]);
            if (type == AuxvEntry.AT_NULL) break;
            entries.Add(new AuxvEntry(type, BinaryPrimitives.ReadUInt64LittleEndian(bytes[(i + 8)..])));
        }
        return entries;
    }
}
