namespace Ferry.Procfs;

public enum TimerNotify : byte { Signal, None, Thread, Unknown }

/// <summary>One POSIX timer from /proc/PID/timers.</summary>
/// <param name="SigValue">The sigev_value pointer printed after the signal number.</param>
/// <param name="ThreadTarget">True for "tid.N" (SIGEV_THREAD_ID), false for "pid.N".</param>
/// <param name="TargetId">The N of "pid.N"/"tid.N".</param>
public sealed record PosixTimer(int Id, int Signal, ulong SigValue, TimerNotify Notify, bool ThreadTarget, int TargetId, int ClockId);

/// <summary>Parser of /proc/PID/timers (blocks of "ID:", "signal:", "notify:", "ClockID:" lines).</summary>
public static class ProcTimers
{
    public static List<PosixTimer> Read(int pid) =>
        ProcFile.Parse(pid, "timers", Parse);

    public static List<PosixTimer> Parse(ReadOnlySpan<byte> text, string source = "timers")
    {
        var timers = new List<PosixTimer>();
        var c = new ProcText(text, source);
        while (!c.AtEnd)
        {
            ExpectKey(ref c, "ID:"u8);
            int id = c.ReadInt32();
            c.ExpectEndOfLine();
            ExpectKey(ref c, "signal:"u8);
            int signal = c.ReadInt32();
            c.Expect((byte)'/');
            ulong value = c.ReadHex();
            c.ExpectEndOfLine();
            ExpectKey(ref c, "notify:"u8);
            var how = c.ReadToken();
            int slash = how.IndexOf((byte)'/');
            int dot = how.LastIndexOf((byte)'.');
            if (slash < 0 || dot < slash) throw c.Error("notify 'kind/pid.N' or 'kind/tid.N'");
            var kind = how[..slash];
            var notify = kind.SequenceEqual("signal"u8) ? TimerNotify.Signal
                : kind.SequenceEqual("none"u8) ? TimerNotify.None
                : kind.SequenceEqual("thread"u8) ? TimerNotify.Thread : TimerNotify.Unknown;
            bool thread = how[(slash + 1)..dot].SequenceEqual("tid"u8);
            var target = new ProcText(how[(dot + 1)..], c.Source);
            int targetId = target.ReadInt32();
            c.ExpectEndOfLine();
            ExpectKey(ref c, "ClockID:"u8);
            int clock = c.ReadInt32();
            c.ExpectEndOfLine();
            timers.Add(new PosixTimer(id, signal, value, notify, thread, targetId, clock));
        }
        return timers;
    }

    static void ExpectKey(ref ProcText c, ReadOnlySpan<byte> key)
    {
        if (!c.ReadToken().SequenceEqual(key)) throw c.Error($"'{ProcText.Decode(key)}'");
        c.SkipSpaces();
    }
}
