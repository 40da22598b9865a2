namespace Ferry.Procfs;

/// <summary>
/// /proc/PID/stat. <see cref="Field"/> gives every field by its proc(5) number (1 = pid, 2 = comm, 3 = state,
/// 4 = ppid … 52 = exit_code); negative values are stored as their two's-complement bits, use <see cref="SignedField"/>.
/// </summary>
public sealed class ProcStat
{
    readonly ulong[] _fields;

    internal ProcStat(int pid, string comm, char state, ulong[] fields)
    {
        Pid = pid;
        Comm = comm;
        State = state;
        _fields = fields;
    }

    public int Pid { get; }
    public string Comm { get; }
    public char State { get; }

    /// <summary>How many numbered fields the kernel printed (52 on current kernels).</summary>
    public int FieldCount => _fields.Length - 1;

    /// <summary>Field number <paramref name="number"/> (4..FieldCount) as printed; 0 for fields this kernel lacks.</summary>
    public ulong Field(int number) =>
        number >= 4 && number < _fields.Length ? _fields[number]
        : number is >= 4 and <= 52 ? 0UL
        : throw new ArgumentOutOfRangeException(nameof(number), number, "stat numeric fields are 4..52");

    public long SignedField(int number) => (long)Field(number);

    public int PPid => (int)SignedField(4);
    public int Pgrp => (int)SignedField(5);
    public int Session => (int)SignedField(6);
    public int TtyNr => (int)SignedField(7);
    public int Tpgid => (int)SignedField(8);
    public uint Flags => (uint)Field(9);
    public long Priority => SignedField(18);
    public long Nice => SignedField(19);
    public int NumThreads => (int)SignedField(20);
    /// <summary>Start time after boot, in clock ticks.</summary>
    public ulong StartTime => Field(22);
    public ulong Vsize => Field(23);
    public ulong Rss => Field(24);
    public ulong RssLimit => Field(25);
    public ulong StartCode => Field(26);
    public ulong EndCode => Field(27);
    public ulong StartStack => Field(28);
    public int ExitSignal => (int)SignedField(38);
    public int Processor => (int)SignedField(39);
    public uint RtPriority => (uint)Field(40);
    public uint Policy => (uint)Field(41);
    public ulong StartData => Field(45);
    public ulong EndData => Field(46);
    public ulong StartBrk => Field(47);
    public ulong ArgStart => Field(48);
    public ulong ArgEnd => Field(49);
    public ulong EnvStart => Field(50);
    public ulong EnvEnd => Field(51);
    public int ExitCode => (int)SignedField(52);
}

/// <summary>Parser of /proc/PID/stat.</summary>
public static class ProcStatFile
{
    public static ProcStat Read(int pid) => ProcFile.Parse(pid, "stat", Parse);

    public static ProcStat ReadThread(int pid, int tid) =>
        ProcFile.Parse(pid, $"task/{tid}/stat", Parse);

    public static ProcStat Parse(ReadOnlySpan<byte> text, string source = "stat")
    {
        var c = new ProcText(text, source);
        int pid = c.ReadInt32();
        c.Expect((byte)' ');
        c.Expect((byte)'(');
        // The comm may itself contain ") (": it ends at the LAST ')'.
        int close = text.LastIndexOf((byte)')');
        if (close < c.Position) throw c.Error("')' closing the comm");
        string comm = ProcText.Decode(text[c.Position..close]);
        c.Seek(close + 1);
        c.Expect((byte)' ');
        char state = (char)c.ReadToken()[0];
        var fields = new List<ulong>(53) { 0, (ulong)pid, 0, state };
        while (true)
        {
            c.SkipSpaces();
            if (c.AtEnd || c.Peek == '\n') break;
            if (fields.Count > 64) throw c.Error("at most 64 fields");
            fields.Add(c.ReadDecimalBits());
        }
        if (fields.Count < 25) throw c.Error("at least 24 fields");
        return new ProcStat(pid, comm, state, fields.ToArray());
    }
}
