namespace Ferry.Procfs;

/// <summary>The two-letter VmFlags of /proc/PID/smaps, one bit each.</summary>
[Flags]
public enum VmFlags : ulong
{
    None = 0,
    rd = 1UL << 0, wr = 1UL << 1, ex = 1UL << 2, sh = 1UL << 3, mr = 1UL << 4, mw = 1UL << 5, me = 1UL << 6,
    ms = 1UL << 7, gd = 1UL << 8, pf = 1UL << 9, lo = 1UL << 10, io = 1UL << 11, sr = 1UL << 12, rr = 1UL << 13,
    dc = 1UL << 14, de = 1UL << 15, ac = 1UL << 16, nr = 1UL << 17, ht = 1UL << 18, sf = 1UL << 19, ar = 1UL << 20,
    /// <summary>MADV_WIPEONFORK.</summary>
    wf = 1UL << 21,
    /// <summary>MADV_DONTDUMP.</summary>
    dd = 1UL << 22,
    bi = 1UL << 23,
    mm = 1UL << 24,
    /// <summary>MADV_HUGEPAGE.</summary>
    hg = 1UL << 25,
    /// <summary>MADV_NOHUGEPAGE.</summary>
    nh = 1UL << 26,
    /// <summary>MADV_MERGEABLE (KSM).</summary>
    mg = 1UL << 27,
    um = 1UL << 28, uw = 1UL << 29, ss = 1UL << 30, sl = 1UL << 31, bt = 1UL << 32, mt = 1UL << 33, ui = 1UL << 34,
    gu = 1UL << 35, lf = 1UL << 36, sd = 1UL << 37, dp = 1UL << 38,
}

/// <summary>One VMA of /proc/PID/smaps: its maps line, a few sizes (bytes) and its VmFlags.</summary>
/// <param name="RawVmFlags">The VmFlags line as printed, so flags this enum does not know are not lost.</param>
public sealed record SmapsEntry(
    MapsEntry Map, ulong Rss, ulong Anonymous, ulong Swap, ulong AnonHugePages, bool ThpEligible,
    VmFlags Flags, string RawVmFlags);

/// <summary>Parser of /proc/PID/smaps.</summary>
public static class ProcSmaps
{
    public static List<SmapsEntry> Read(int pid) =>
        ProcFile.Parse(pid, "smaps", Parse);

    public static List<SmapsEntry> Parse(ReadOnlySpan<byte> text, string source = "smaps")
    {
        var entries = new List<SmapsEntry>();
        var c = new ProcText(text, source);
        var names = new ProcMaps.NameCache();
        while (!c.AtEnd)
        {
            var map = ProcMaps.ParseLine(ref c, ref names);
            ulong rss = 0, anon = 0, swap = 0, anonHuge = 0;
            bool thp = false;
            VmFlags flags = VmFlags.None;
            string rawFlags = "";
            while (!c.AtEnd && IsFieldLine(ref c))
            {
                var key = c.ReadToken();
                c.SkipSpaces();
                if (key.SequenceEqual("VmFlags:"u8))
                {
                    var line = c.ReadLine();
                    rawFlags = ProcText.Decode(line).Trim();
                    flags = ParseFlags(line);
                    continue;
                }
                ulong value = c.ReadUnsigned();
                c.SkipSpaces();
                bool kb = !c.AtEnd && c.Peek == 'k';
                if (kb) c.ReadToken();
                c.ExpectEndOfLine();
                ulong bytes = kb ? value * 1024 : value;
                if (key.SequenceEqual("Rss:"u8)) rss = bytes;
                else if (key.SequenceEqual("Anonymous:"u8)) anon = bytes;
                else if (key.SequenceEqual("Swap:"u8)) swap = bytes;
                else if (key.SequenceEqual("AnonHugePages:"u8)) anonHuge = bytes;
                else if (key.SequenceEqual("THPeligible:"u8)) thp = value != 0;
            }
            entries.Add(new SmapsEntry(map, rss, anon, swap, anonHuge, thp, flags, rawFlags));
        }
        return entries;
    }

    /// <summary>Field lines start with "Name:"; VMA header lines start with "hex-hex".</summary>
    static bool IsFieldLine(ref ProcText c)
    {
        var probe = c;
        var token = probe.ReadToken();
        return token[^1] == ':';
    }

    /// <summary>The codes in bit order of <see cref="VmFlags"/>: code i is bit i.</summary>
    const string Codes = "rdwrexshmrmwmemsgdpflooisrrrdcdeacnrhtsfarwfddbimmhgnhmgumuwssslbtmtuigulfsddp";

    public static VmFlags ParseFlags(ReadOnlySpan<byte> line)
    {
        var flags = VmFlags.None;
        foreach (var range in line.Split((byte)' '))
        {
            var code = line[range];
            if (code.Length != 2) continue;
            for (int i = 0; i < Codes.Length; i += 2)
            {
                if (Codes[i] == code[0] && Codes[i + 1] == code[1])
                {
                    flags |= (VmFlags)(1UL << (i / 2));
                    break;
                }
            }
        }
        return flags;
    }
}
