namespace Ferry.Images.Json;

/// <summary>
/// The name tables behind crit's <c>(criu).flags</c> and <c>(criu).dict</c> field options: which bit or value
/// each name stands for. The values are Linux's and CRIU's own constants.
/// </summary>
public static class CritValueNames
{
    /// <summary>Bit names per <c>(criu).flags</c> value, each list in display order.</summary>
    public static readonly IReadOnlyDictionary<string, IReadOnlyList<(string Name, long Bit)>> FlagMaps =
        new Dictionary<string, IReadOnlyList<(string, long)>>
        {
            ["mmap.prot"] = [("PROT_READ", 0x1), ("PROT_WRITE", 0x2), ("PROT_EXEC", 0x4)],
            ["mmap.flags"] =
            [
                ("MAP_SHARED", 0x1), ("MAP_PRIVATE", 0x2), ("MAP_DROPPABLE", 0x08), ("MAP_ANON", 0x20),
                ("MAP_GROWSDOWN", 0x0100),
            ],
            ["mmap.status"] =
            [
                ("VMA_AREA_NONE", 0), ("VMA_AREA_REGULAR", 1 << 0), ("VMA_AREA_STACK", 1 << 1),
                ("VMA_AREA_VSYSCALL", 1 << 2), ("VMA_AREA_VDSO", 1 << 3), ("VMA_AREA_HEAP", 1 << 5),
                ("VMA_FILE_PRIVATE", 1 << 6), ("VMA_FILE_SHARED", 1 << 7), ("VMA_ANON_SHARED", 1 << 8),
                ("VMA_ANON_PRIVATE", 1 << 9), ("VMA_AREA_SYSVIPC", 1 << 10), ("VMA_AREA_SOCKET", 1 << 11),
                ("VMA_AREA_VVAR", 1 << 12), ("VMA_AREA_AIORING", 1 << 13), ("VMA_AREA_MEMFD", 1 << 14),
                ("VMA_AREA_SHSTK", 1 << 15), ("VMA_AREA_UPROBES", 1 << 17), ("VMA_UNSUPP", 1L << 31),
            ],
            ["rfile.flags"] =
            [
                ("O_WRONLY", 0x1), ("O_RDWR", 0x2), ("O_CREAT", 0x40), ("O_EXCL", 0x80), ("O_NOCTTY", 0x100),
                ("O_TRUNC", 0x200), ("O_APPEND", 0x400), ("O_NONBLOCK", 0x800), ("O_DSYNC", 0x1000),
                ("FASYNC", 0x2000), ("O_DIRECT", 0x4000), ("O_LARGEFILE", 0x8000), ("O_DIRECTORY", 0x10000),
                ("O_NOFOLLOW", 0x20000), ("O_NOATIME", 0x40000), ("O_CLOEXEC", 0x80000),
            ],
            ["pmap.flags"] = [("PE_PARENT", 1 << 0), ("PE_LAZY", 1 << 1), ("PE_PRESENT", 1 << 2)],
            ["seals.flags"] =
            [
                ("F_SEAL_SEAL", 0x1), ("F_SEAL_SHRINK", 0x2), ("F_SEAL_GROW", 0x4), ("F_SEAL_WRITE", 0x8),
                ("F_SEAL_FUTURE_WRITE", 0x10),
            ],
        };

    /// <summary>Value names per <c>(criu).dict</c> value, then per field name.</summary>
    public static readonly IReadOnlyDictionary<string, IReadOnlyDictionary<string, IReadOnlyDictionary<long, string>>> DictMaps =
        new Dictionary<string, IReadOnlyDictionary<string, IReadOnlyDictionary<long, string>>>
        {
            ["gen"] = new Dictionary<string, IReadOnlyDictionary<long, string>>
            {
                ["task_state"] = new Dictionary<long, string> { [1] = "Alive", [3] = "Zombie", [6] = "Stopped" },
            },
            ["sk"] = new Dictionary<string, IReadOnlyDictionary<long, string>>
            {
                ["family"] = new Dictionary<long, string>
                {
                    [1] = "UNIX", [2] = "INET", [10] = "INET6", [16] = "NETLINK", [17] = "PACKET",
                },
                ["type"] = new Dictionary<long, string>
                {
                    [1] = "STREAM", [2] = "DGRAM", [3] = "RAW", [5] = "SEQPACKET", [10] = "PACKET",
                },
                ["state"] = new Dictionary<long, string>
                {
                    [1] = "ESTABLISHED", [2] = "SYN_SENT", [3] = "SYN_RECV", [4] = "FIN_WAIT1", [5] = "FIN_WAIT2",
                    [6] = "TIME_WAIT", [7] = "CLOSE", [8] = "CLOSE_WAIT", [9] = "LAST_ACK", [10] = "LISTEN",
                },
                ["proto"] = new Dictionary<long, string> { [0] = "IP", [6] = "TCP", [17] = "UDP", [136] = "UDPLITE" },
            },
        };

    /// <summary>
    /// crit's rendering of <paramref name="value"/> with a flag map: the names of the set bits joined by
    /// " | ", then any bits without a name as one hex number; "" for zero.
    /// </summary>
    public static string FormatFlags(Int128 value, IReadOnlyList<(string Name, long Bit)> map)
    {
        var parts = new List<string>();
        Int128 known = 0;
        foreach (var (name, bit) in map)
        {
            if ((value & bit) != 0) parts.Add(name);
            known += bit;
        }
        var rest = value & ~known;
        if (rest != 0) parts.Add(PythonInt.Hex(rest));
        return string.Join(" | ", parts);
    }

    /// <summary>
    /// The reverse of <see cref="FormatFlags"/>: the sum of the named bits and numbers (any <c>int(x, 0)</c>
    /// form) between the '|'; null when a part is neither.
    /// </summary>
    public static Int128? ParseFlags(string text, IReadOnlyList<(string Name, long Bit)> map)
    {
        if (text.Length == 0) return 0;
        Int128 sum = 0;
        foreach (var raw in text.Split('|'))
        {
            var part = raw.Trim();
            var named = map.FirstOrDefault(entry => entry.Name == part);
            if (named.Name is not null) sum += named.Bit;
            else if (PythonInt.TryParse(part, out var number)) sum += number;
            else return null;
        }
        return sum;
    }
}
