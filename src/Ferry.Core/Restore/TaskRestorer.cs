using Ferry.Diagnostics;
using Ferry.Linux;
using Ferry.Resources.Credentials;
using Ferry.Resources.Files;
using Ferry.Resources.Memory;
using Ferry.Resources.Process;
using Ferry.Resources.Registers;
using Ferry.Resources.Scheduling;
using Ferry.Resources.Signals;
using Ferry.Resources.Timers;
using Ferry.Tracing;

namespace Ferry.Restore;

/// <summary>
/// Rebuilds one process of the husk tree into the dumped process by remote syscalls, in an order where each step finds
/// what it needs: memory first (the husk's own code goes, so syscalls run in the moved vdso), then the mm bookkeeping
/// and exe, files, fs, file locks, identity, signal actions and limits, timers and pending signals; then each thread's own state
/// with its credentials; registers last.
/// </summary>
/// <param name="ownsFileTable">
/// False when the process shares its fd table (CLONE_FILES) with one restored before it: the table is complete already.
/// </param>
public sealed class TaskRestorer(HuskProcess process, DumpSet set, SharedObjects shared, bool ownsFileTable, Log log)
{
    /// <summary>Leaves every thread stopped, fully rebuilt, with its final registers and signal mask.</summary>
    public void Rebuild()
    {
        var task = process.Leader;
        var images = process.Images;
        // Nothing may be delivered into the half-built task; the dumped masks are set at the very end.
        foreach (var thread in process.Threads)
            thread.SetSigMask(ulong.MaxValue);
        if (ownsFileTable)
            task.SyscallOrThrow(Sys.close_range, 0, uint.MaxValue, 0);

        int firstFree = images.Fds.Count == 0 ? 0 : (int)images.Fds.Max(f => f.Fd) + 1;
        using var fds = new FdTransfer(task, firstFree);
        new MemoryRestorer(task, images, set, shared, fds, log).Restore();
        // The threads share the memory: their syscalls run on the same instruction in the moved vdso.
        foreach (var thread in process.Threads.Skip(1))
            thread.SyscallInstruction = task.SyscallInstruction;

        using var scratch = task.MapScratch();
        new MmMapRestorer(task, images, set, fds, scratch, log).Restore();
        if (ownsFileTable)
            new FileRestorer(task, images, set, shared, fds, scratch, log).Restore();
        var properties = new TaskPropertiesRestorer(task, images, set, fds, scratch, log);
        properties.RestoreFs();
        fds.Dispose();
        new FileLockRestorer(task, set.FileLocks.Where(l => l.Pid == images.Pid), scratch, log).Restore();
        properties.RestoreIdentity();

        var signals = new SignalRestorer(task, scratch, log);
        signals.RestoreActions(images.Leader.Tc);
        properties.RestoreLimits();
        new TimerRestorer(task, images, scratch, log).Restore();
        signals.RestoreSharedPending(images.Leader.Tc);
        // Each thread's own state, its credentials last; the leader last of all, as it runs the cleanup below.
        foreach (var (thread, core) in process.Threads.Zip(images.Threads).Reverse())
        {
            new ThreadPropertiesRestorer(thread, core, scratch, log).Restore();
            new SchedulingRestorer(thread, core.ThreadCore, scratch, log).Restore();
            var threadSignals = new SignalRestorer(thread, scratch, log);
            threadSignals.RestoreAltStack(core.ThreadCore);
            threadSignals.RestoreThreadPending(core);
            new CredentialRestorer(thread, core, scratch, log).Restore();
        }
        scratch.Dispose();

        foreach (var (thread, core) in process.Threads.Zip(images.Threads))
        {
            new RegisterRestorer(thread, core, log).Restore();
            thread.SetSigMask(SignalRestorer.BlockedMask(core));
        }
    }
}
