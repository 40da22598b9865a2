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
/// what it needs: memory first (<see cref="RestoreMemory"/>, before the husk clones its children and threads, so the
/// children inherit it copy-on-write; the husk's own code goes, so syscalls run in the moved vdso), then the mm bookkeeping
/// and exe, files, fs, file locks, identity, signal actions and limits, timers and pending signals; then each thread's own state
/// with its credentials; registers last.
/// </summary>
/// <param name="ownsFileTable">
/// False when the process shares its fd table (CLONE_FILES) with one restored before it: the table is complete already.
/// </param>
public sealed class TaskRestorer(HuskProcess process, DumpSet set, SharedObjects shared, bool ownsFileTable, Log log)
{
    int FirstFreeFd => process.Images.Fds.Count == 0 ? 0 : (int)process.Images.Fds.Max(f => f.Fd) + 1;

    /// <summary>The memory, while the husk is one thread and has no children yet (its descriptors go first, too).</summary>
    public void RestoreMemory()
    {
        var task = process.Leader;
        // Nothing may be delivered into the half-built task; the dumped masks are set at the very end.
        task.SetSigMask(ulong.MaxValue);
        if (ownsFileTable)
            task.SyscallOrThrow(Sys.close_range, 0, uint.MaxValue, 0);
        using var fds = new FdTransfer(task, FirstFreeFd);
        new MemoryRestorer(task, process.Images, process.MemoryFrom, set, shared, fds, log).Restore();
    }

    /// <summary>The rest, once the whole tree exists: leaves every thread stopped, fully rebuilt, with its final registers and signal mask.</summary>
    public void Rebuild()
    {
        var task = process.Leader;
        var images = process.Images;
        foreach (var thread in process.Threads)
            thread.SetSigMask(ulong.MaxValue);
        using var fds = new FdTransfer(task, FirstFreeFd);
        // The threads share the memory: their syscalls run on the same instruction in the moved vdso.
        foreach (var thread in process.Threads.Skip(1))
            thread.SyscallInstruction = task.SyscallInstruction;

        using var scratch = task.MapScratch();
        new MmMapRestorer(task, images, set, fds, scratch, log).Restore();
        shared.Terminals.RestoreControllingTerminal(task, images.Process, fds, scratch);
        if (ownsFileTable)
            new FileRestorer(task, images, set, shared, fds, scratch, log).Restore();
        var properties = new TaskPropertiesRestorer(task, images, set, fds, scratch, log);
        properties.RestoreFs(shared.Ghosts);
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
