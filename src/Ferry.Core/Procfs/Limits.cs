namespace Ferry.Procfs;

/// <summary>One row of /proc/PID/limits. <paramref name="Resource"/> is the RLIMIT_* number; "unlimited" is ulong.MaxValue.</summary>
public readonly record struct ResourceLimit(int Resource, string Name, ulong Soft, ulong Hard);

/// <summary>
/// Parser of /proc/PID/limits: the way to read another process's rlimits without prlimit()
/// (prlimit on a foreign process is fine for root, but this needs no extra privilege and no syscall).
/// </summary>
public static class ProcLimits
{
    public const ulong Unlimited = ulong.MaxValue;

    /// <summary>Row names in RLIMIT_* order (RLIMIT_CPU = 0 … RLIMIT_RTTIME = 15).</summary>
    static readonly string[] Names =
    [
        "Max cpu time", "Max file size", "Max data size", "Max stack size", "Max core file size",
        "Max resident set", "Max processes", "Max open files", "Max locked memory", "Max address space",
        "Max file locks", "Max pending signals", "Max msgqueue size", "Max nice priority",
        "Max realtime priority", "Max realtime timeout",
    ];

    public static List<ResourceLimit> Read(int pid) =>
        ProcFile.Parse(pid, "limits", Parse);

    public static List<ResourceLimit> Parse(ReadOnlySpan<byte> text, string source = "limits")
    {
        var c = new ProcText(text, source);
        var header = c.ReadLine();
        if (!header.StartsWith("Limit "u8)) throw c.Error("the 'Limit  Soft Limit  Hard Limit  Units' header");
        var limits = new List<ResourceLimit>(Names.Length);
        while (!c.AtEnd)
        {
            int lineStart = c.Position;
            var line = text[lineStart..];
            int resource = -1;
            for (int i = 0; i < Names.Length && resource < 0; i++)
                if (Matches(line, Names[i])) resource = i;
            if (resource < 0) throw c.Error("a known limit name");
            c.Seek(lineStart + Names[resource].Length);
            c.SkipSpaces();
            ulong soft = ReadValue(ref c);
            c.SkipSpaces();
            ulong hard = ReadValue(ref c);
            c.ReadLine();
            limits.Add(new ResourceLimit(resource, Names[resource], soft, hard));
        }
        return limits;
    }

    static bool Matches(ReadOnlySpan<byte> line, string name)
    {
        if (line.Length <= name.Length || line[name.Length] != ' ') return false;
        for (int i = 0; i < name.Length; i++)
            if (line[i] != name[i]) return false;
        return true;
    }

    static ulong ReadValue(ref ProcText c)
    {
        if (c.Peek == 'u')
        {
            if (!c.ReadToken().SequenceEqual("unlimited"u8)) throw c.Error("a number or 'unlimited'");
            return Unlimited;
        }
        return c.ReadUnsigned();
    }
}
