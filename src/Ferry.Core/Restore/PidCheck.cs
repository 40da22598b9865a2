using System.Diagnostics;
using Ferry.Diagnostics;
using Ferry.Procfs;

namespace Ferry.Restore;

/// <summary>Restore keeps every PID and TID as dumped, so each must be free here before anything is created.</summary>
public static class PidCheck
{
    /// <summary>How long a PID held by a task on its way out is waited for.</summary>
    public static readonly TimeSpan DyingHolderWait = TimeSpan.FromSeconds(2);

    /// <summary>
    /// Throws one line listing every PID and TID of the dump that is in use here, each with its holder. A PID held
    /// only by tasks on their way out (killed, exiting, or zombies their parent has not reaped yet: what a dump that
    /// killed the tree a moment ago leaves) is waited for up to <see cref="DyingHolderWait"/>; a live holder fails at once.
    /// </summary>
    public static void EnsureFree(DumpSet set, Log log) => EnsureFree(set.AllTids, log);

    /// <inheritdoc cref="EnsureFree(DumpSet, Log)"/>
    public static void EnsureFree(IEnumerable<int> tids, Log log)
    {
        // One cheap look (a stat of /proc/TID) at each; only the numbers in use are looked into and waited for.
        var held = tids.Distinct().Where(InUse).ToList();
        if (held.Count == 0)
            return;
        var taken = Holders(held);
        if (taken.Count == 0)
            return;
        if (taken.Any(t => !t.Holder.Dying))
            throw Taken(taken);
        log.Info($"waiting up to {DyingHolderWait.TotalSeconds} s for PID(s) {string.Join(", ", taken.Select(t => t.Tid))} held by tasks on their way out");
        // A dying holder stays dying until its number is free, so only whether each is still in use is polled.
        var deadline = Stopwatch.GetTimestamp() + (long)(DyingHolderWait.TotalSeconds * Stopwatch.Frequency);
        held = taken.Select(t => t.Tid).ToList();
        while (true)
        {
            held.RemoveAll(tid => !InUse(tid));
            if (held.Count == 0)
                return;
            if (Stopwatch.GetTimestamp() > deadline)
                break;
            Thread.Sleep(2);
        }
        // Still taken: say by whom now (a number freed and taken again by a live process is named too).
        taken = Holders(held);
        if (taken.Count > 0)
            throw Taken(taken);
    }

    /// <summary>Whether a task (thread, process or zombie) has <paramref name="tid"/> here: /proc/TID exists for each.</summary>
    static bool InUse(int tid) => Directory.Exists($"/proc/{tid}");

    static List<(int Tid, PidHolder Holder)> Holders(List<int> tids) =>
        tids.Select(tid => (Tid: tid, Holder: Find(tid))).Where(t => t.Holder is not null).Select(t => (t.Tid, t.Holder!)).ToList();

    static FerryException Taken(List<(int Tid, PidHolder Holder)> taken)
    {
        string list = string.Join("; ", taken.Select(t => $"{t.Tid} by {t.Holder.Description}"));
        string which = taken.Count == 1 ? $"PID {taken[0].Tid} is taken by {taken[0].Holder.Description}" : $"{taken.Count} PIDs are taken: {list}";
        return new FerryException(
            $"{which}; stop those processes (or wait until they are reaped) and run the restore again, or restore with --pidns new");
    }

    /// <summary>Describes the process holding <paramref name="pid"/> (as a process or a thread), or null if it is free.</summary>
    public static string? Holder(int pid) => Find(pid)?.Description;

    /// <summary>Who holds a PID, and whether it is on its way out.</summary>
    sealed record PidHolder(string Description, bool Dying);

    static PidHolder? Find(int pid)
    {
        if (!InUse(pid))
            return null;
        ProcStatus status;
        uint flags;
        try
        {
            status = ProcStatusFile.Read(pid);
            flags = ProcStatFile.Read(pid).Flags;
        }
        catch (ProcessNotFoundException)
        {
            return null;
        }
        string comm = (ReadOrNull($"/proc/{status.Tgid}/comm") ?? "?").TrimEnd('\n');
        string cmdline = (ReadOrNull($"/proc/{status.Tgid}/cmdline") ?? "").TrimEnd('\0').Replace('\0', ' ');
        string who = status.Tgid == pid ? $"pid {pid}" : $"a thread of pid {status.Tgid}";
        bool zombie = status.State == 'Z';
        string note = zombie ? ", a zombie not yet reaped by its parent" : "";
        // A leader that left by itself while its other threads run on is a zombie too, but its process lives.
        bool wholeProcessGone = zombie && status.Threads <= 1;
        return new PidHolder($"{who} (comm '{comm}', cmdline '{cmdline}'{note})",
            wholeProcessGone || status.State == 'X' || Exiting(status, flags));
    }

    /// <summary>Killed (SIGKILL pending) or already in exit (PF_EXITING in /proc/PID/stat's flags).</summary>
    static bool Exiting(ProcStatus status, uint flags)
    {
        const ulong sigkill = 1UL << 8;
        const uint pfExiting = 0x4;
        return ((status.SigPnd | status.ShdPnd) & sigkill) != 0 || (flags & pfExiting) != 0;
    }

    static string? ReadOrNull(string path)
    {
        try
        {
            return File.ReadAllText(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }
}
