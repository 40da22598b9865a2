namespace Ferry.Procfs;

/// <summary>The four ids of a Uid:/Gid: line.</summary>
public readonly record struct IdSet(uint Real, uint Effective, uint Saved, uint Filesystem);

/// <summary>The fields of /proc/PID/status that checkpoint/restore needs. Masks are the hex bit masks as printed.</summary>
public sealed class ProcStatus
{
    public string Name { get; internal set; } = "";
    /// <summary>The umask; -1 on kernels that do not print it.</summary>
    public int Umask { get; internal set; } = -1;
    /// <summary>The state letter (R, S, D, T, t, Z, X, I…).</summary>
    public char State { get; internal set; }
    public int Tgid { get; internal set; }
    public int Pid { get; internal set; }
    public int PPid { get; internal set; }
    public int TracerPid { get; internal set; }
    /// <summary>The PID in each pid namespace, outermost first.</summary>
    public int[] NSpid { get; internal set; } = [];
    public int[] NStgid { get; internal set; } = [];
    public int[] NSpgid { get; internal set; } = [];
    public int[] NSsid { get; internal set; } = [];
    public IdSet Uid { get; internal set; }
    public IdSet Gid { get; internal set; }
    public uint[] Groups { get; internal set; } = [];
    public int Threads { get; internal set; }
    public long SigQueued { get; internal set; }
    public long SigQueueLimit { get; internal set; }
    public ulong SigPnd { get; internal set; }
    public ulong ShdPnd { get; internal set; }
    public ulong SigBlk { get; internal set; }
    public ulong SigIgn { get; internal set; }
    public ulong SigCgt { get; internal set; }
    public ulong CapInh { get; internal set; }
    public ulong CapPrm { get; internal set; }
    public ulong CapEff { get; internal set; }
    public ulong CapBnd { get; internal set; }
    public ulong CapAmb { get; internal set; }
    public bool NoNewPrivs { get; internal set; }
    /// <summary>0 disabled, 1 strict, 2 filter.</summary>
    public int Seccomp { get; internal set; }
    public int SeccompFilters { get; internal set; }
}

/// <summary>Parser of /proc/PID/status (and /proc/PID/task/TID/status).</summary>
public static class ProcStatusFile
{
    public static ProcStatus Read(int pid) =>
        ProcFile.Parse(pid, "status", Parse);

    public static ProcStatus ReadThread(int pid, int tid) =>
        ProcFile.Parse(pid, $"task/{tid}/status", Parse);

    public static ProcStatus Parse(ReadOnlySpan<byte> text, string source = "status")
    {
        var s = new ProcStatus();
        var c = new ProcText(text, source);
        while (!c.AtEnd)
        {
            var rest = text[c.Position..];
            int colon = rest.IndexOf((byte)':');
            int newline = rest.IndexOf((byte)'\n');
            if (colon < 0 || (newline >= 0 && newline < colon)) throw c.Error("'Key:' at the start of a line");
            var key = text.Slice(c.Position, colon);
            var line = new ProcText(text, source);
            line.Seek(c.Position + colon + 1);
            c.ReadLine();
            line.SkipSpaces();
            if (key.SequenceEqual("Name"u8)) s.Name = Unescape(line.ReadLine());
            else if (key.SequenceEqual("Umask"u8)) s.Umask = (int)line.ReadOctal();
            else if (key.SequenceEqual("State"u8)) s.State = (char)line.ReadToken()[0];
            else if (key.SequenceEqual("Tgid"u8)) s.Tgid = line.ReadInt32();
            else if (key.SequenceEqual("Pid"u8)) s.Pid = line.ReadInt32();
            else if (key.SequenceEqual("PPid"u8)) s.PPid = line.ReadInt32();
            else if (key.SequenceEqual("TracerPid"u8)) s.TracerPid = line.ReadInt32();
            else if (key.SequenceEqual("NSpid"u8)) s.NSpid = ReadInts(ref line);
            else if (key.SequenceEqual("NStgid"u8)) s.NStgid = ReadInts(ref line);
            else if (key.SequenceEqual("NSpgid"u8)) s.NSpgid = ReadInts(ref line);
            else if (key.SequenceEqual("NSsid"u8)) s.NSsid = ReadInts(ref line);
            else if (key.SequenceEqual("Uid"u8)) s.Uid = ReadIds(ref line);
            else if (key.SequenceEqual("Gid"u8)) s.Gid = ReadIds(ref line);
            else if (key.SequenceEqual("Groups"u8)) s.Groups = Array.ConvertAll(ReadInts(ref line), g => (uint)g);
            else if (key.SequenceEqual("Threads"u8)) s.Threads = line.ReadInt32();
            else if (key.SequenceEqual("SigQ"u8)) ReadSigQ(ref line, s);
            else if (key.SequenceEqual("SigPnd"u8)) s.SigPnd = line.ReadHex();
            else if (key.SequenceEqual("ShdPnd"u8)) s.ShdPnd = line.ReadHex();
            else if (key.SequenceEqual("SigBlk"u8)) s.SigBlk = line.ReadHex();
            else if (key.SequenceEqual("SigIgn"u8)) s.SigIgn = line.ReadHex();
            else if (key.SequenceEqual("SigCgt"u8)) s.SigCgt = line.ReadHex();
            else if (key.SequenceEqual("CapInh"u8)) s.CapInh = line.ReadHex();
            else if (key.SequenceEqual("CapPrm"u8)) s.CapPrm = line.ReadHex();
            else if (key.SequenceEqual("CapEff"u8)) s.CapEff = line.ReadHex();
            else if (key.SequenceEqual("CapBnd"u8)) s.CapBnd = line.ReadHex();
            else if (key.SequenceEqual("CapAmb"u8)) s.CapAmb = line.ReadHex();
            else if (key.SequenceEqual("NoNewPrivs"u8)) s.NoNewPrivs = line.ReadUnsigned() != 0;
            else if (key.SequenceEqual("Seccomp"u8)) s.Seccomp = line.ReadInt32();
            else if (key.SequenceEqual("Seccomp_filters"u8)) s.SeccompFilters = line.ReadInt32();
        }
        return s;
    }

    static void ReadSigQ(ref ProcText line, ProcStatus s)
    {
        s.SigQueued = line.ReadSigned();
        line.Expect((byte)'/');
        s.SigQueueLimit = line.ReadSigned();
    }

    static IdSet ReadIds(ref ProcText line)
    {
        Span<uint> ids = stackalloc uint[4];
        for (int i = 0; i < 4; i++)
        {
            line.SkipSpaces();
            ids[i] = (uint)line.ReadUnsigned();
        }
        return new IdSet(ids[0], ids[1], ids[2], ids[3]);
    }

    static int[] ReadInts(ref ProcText line)
    {
        var values = new List<int>();
        line.SkipSpaces();
        while (!line.AtEnd && line.Peek != '\n')
        {
            values.Add((int)line.ReadDecimalBits());
            line.SkipSpaces();
        }
        return values.ToArray();
    }

    /// <summary>status escapes '\n' as "\n" and '\\' as "\\" in Name.</summary>
    static string Unescape(ReadOnlySpan<byte> name) =>
        ProcText.Decode(name).Replace("\\n", "\n").Replace("\\\\", "\\");
}
