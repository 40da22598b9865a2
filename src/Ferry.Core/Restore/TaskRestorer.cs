using Ferry.Diagnostics;
using Ferry.Linux;
using Ferry.Resources.Files;
using Ferry.Resources.Memory;
using Ferry.Resources.Process;
using Ferry.Resources.Registers;
using Ferry.Resources.Signals;
using Ferry.Resources.Timers;
using Ferry.Tracing;

namespace Ferry.Restore;

/// <summary>
/// Rebuilds one seized husk into the dumped process by remote syscalls, in an order where each step finds what it
/// needs: memory first (the husk's own code goes, so syscalls run in the moved vdso), then the mm bookkeeping and exe,
/// files, fs, session, identity, signals and limits, timers and pending signals, and registers last.
/// </summary>
public sealed class TaskRestorer(TracedTask task, TaskImages images, DumpSet set, Log log)
{
    /// <summary>Leaves the task stopped, fully rebuilt, with its final registers and signal mask.</summary>
    public void Rebuild()
    {
        // Nothing may be delivered into the half-built task; the dumped mask is set at the very end.
        task.SetSigMask(ulong.MaxValue);
        task.SyscallOrThrow(Sys.close_range, 0, uint.MaxValue, 0);

        int firstFree = images.Fds.Count == 0 ? 0 : (int)images.Fds.Max(f => f.Fd) + 1;
        using var fds = new FdTransfer(task, firstFree);
        new MemoryRestorer(task, images, set, fds, log).Restore();

        using var scratch = task.MapScratch();
        new MmMapRestorer(task, images, set, fds, scratch, log).Restore();
        new FileRestorer(task, images, set, fds, log).Restore();
        var properties = new TaskPropertiesRestorer(task, images, set, fds, scratch, log);
        properties.RestoreFs();
        fds.Dispose();
        properties.RestoreSession();
        properties.RestoreIdentity();
        properties.RestoreThreadAddresses(images.Leader);

        var signals = new SignalRestorer(task, images, scratch, log);
        signals.RestoreActions();
        signals.RestoreAltStack(images.Leader.ThreadCore);
        properties.RestoreLimits();
        new TimerRestorer(task, images, scratch, log).Restore();
        signals.RestorePending();
        scratch.Dispose();

        new RegisterRestorer(task, images.Leader, log).Restore();
        task.SetSigMask(SignalRestorer.BlockedMask(images.Leader));
    }
}
