namespace Ferry.Procfs;

[Flags]
public enum MapProt : byte
{
    None = 0,
    Read = 1,
    Write = 2,
    Exec = 4,
}

/// <summary>What a mapping's name column says it is.</summary>
public enum MapKind : byte
{
    /// <summary>No name: plain anonymous memory.</summary>
    Anonymous,
    /// <summary>A path: file-backed (including memfd, SysV shm, deleted files).</summary>
    File,
    Heap,
    Stack,
    Vdso,
    Vvar,
    VvarVclock,
    Vsyscall,
    /// <summary>Anonymous memory named with PR_SET_VMA_ANON_NAME: "[anon:NAME]".</summary>
    AnonNamed,
    /// <summary>Another bracketed kernel name (e.g. "[uprobes]", "[anon_shmem:NAME]").</summary>
    OtherSpecial,
}

/// <summary>One line of /proc/PID/maps.</summary>
/// <param name="Path">The name column without " (deleted)"; "" for plain anonymous memory.</param>
public sealed record MapsEntry(
    ulong Start, ulong End, MapProt Prot, bool Shared, ulong Offset,
    uint DevMajor, uint DevMinor, ulong Inode, string Path, MapKind Kind, bool Deleted)
{
    public ulong Length => End - Start;
    public bool IsReadable => (Prot & MapProt.Read) != 0;
    public bool IsWritable => (Prot & MapProt.Write) != 0;
    public bool IsExecutable => (Prot & MapProt.Exec) != 0;

    /// <summary>For [anon:NAME], the NAME; otherwise null.</summary>
    public string? AnonName => Kind == MapKind.AnonNamed ? Path[6..^1] : null;
}

/// <summary>Parser of /proc/PID/maps.</summary>
public static class ProcMaps
{
    public static List<MapsEntry> Read(int pid) =>
        ProcFile.Parse(pid, "maps", Parse);

    public static List<MapsEntry> Parse(ReadOnlySpan<byte> text, string source = "maps")
    {
        var entries = new List<MapsEntry>();
        var cursor = new ProcText(text, source);
        var names = new NameCache();
        while (!cursor.AtEnd) entries.Add(ParseLine(ref cursor, ref names));
        return entries;
    }

    /// <summary>The last name seen: consecutive VMAs of one file share one path string.</summary>
    internal ref struct NameCache
    {
        public ReadOnlySpan<byte> Name;
        public (string Path, MapKind Kind, bool Deleted) Value;
    }

    /// <summary>Parses the VMA header line at the cursor (also the header lines of smaps) and moves past it.</summary>
    internal static MapsEntry ParseLine(ref ProcText c, ref NameCache names)
    {
        ulong start = c.ReadHex();
        c.Expect((byte)'-');
        ulong end = c.ReadHex();
        if (end < start) throw c.Error("end address >= start address");
        c.Expect((byte)' ');
        var prot = MapProt.None;
        if (c.TryConsume((byte)'r')) prot |= MapProt.Read; else c.Expect((byte)'-');
        if (c.TryConsume((byte)'w')) prot |= MapProt.Write; else c.Expect((byte)'-');
        if (c.TryConsume((byte)'x')) prot |= MapProt.Exec; else c.Expect((byte)'-');
        bool shared;
        if (c.TryConsume((byte)'s')) shared = true;
        else { c.Expect((byte)'p'); shared = false; }
        c.Expect((byte)' ');
        ulong offset = c.ReadHex();
        c.Expect((byte)' ');
        uint major = (uint)c.ReadHex();
        c.Expect((byte)':');
        uint minor = (uint)c.ReadHex();
        c.Expect((byte)' ');
        ulong inode = c.ReadUnsigned();
        c.SkipSpaces();
        var name = c.ReadLine();
        if (name.IsEmpty || !name.SequenceEqual(names.Name))
        {
            names.Name = name;
            names.Value = ClassifyName(name);
        }
        var (path, kind, deleted) = names.Value;
        return new MapsEntry(start, end, prot, shared, offset, major, minor, inode, path, kind, deleted);
    }

    static readonly byte[] DeletedSuffix = " (deleted)"u8.ToArray();

    internal static (string Path, MapKind Kind, bool Deleted) ClassifyName(ReadOnlySpan<byte> name)
    {
        if (name.IsEmpty) return ("", MapKind.Anonymous, false);
        if (name[0] == '[')
        {
            return name switch
            {
                _ when name.SequenceEqual("[heap]"u8) => ("[heap]", MapKind.Heap, false),
                _ when name.SequenceEqual("[stack]"u8) => ("[stack]", MapKind.Stack, false),
                _ when name.SequenceEqual("[vdso]"u8) => ("[vdso]", MapKind.Vdso, false),
                _ when name.SequenceEqual("[vvar]"u8) => ("[vvar]", MapKind.Vvar, false),
                _ when name.SequenceEqual("[vvar_vclock]"u8) => ("[vvar_vclock]", MapKind.VvarVclock, false),
                _ when name.SequenceEqual("[vsyscall]"u8) => ("[vsyscall]", MapKind.Vsyscall, false),
                _ when name.StartsWith("[anon:"u8) && name[^1] == ']' => (ProcText.Decode(name), MapKind.AnonNamed, false),
                _ => (ProcText.Decode(name), MapKind.OtherSpecial, false),
            };
        }
        bool deleted = name.EndsWith(DeletedSuffix);
        if (deleted) name = name[..^DeletedSuffix.Length];
        // The kernel escapes only '\n' (as \012) in this column; other bytes, backslash included, are literal.
        return (ProcText.Decode(name).Replace("\\012", "\n"), MapKind.File, deleted);
    }
}
