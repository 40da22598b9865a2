using System.Runtime.InteropServices;
using Ferry.Diagnostics;
using Ferry.Images;
using Ferry.Images.Protos;
using Ferry.Linux;
using Ferry.Tracing;

namespace Ferry.Restore;

/// <summary>One restored process while it is being rebuilt: its images and its seized threads (the leader first).</summary>
/// <param name="MemoryFrom">The images of the parent whose rebuilt memory this husk was cloned with; null for the root.</param>
public sealed record HuskProcess(TaskImages Images, IReadOnlyList<TracedTask> Threads, TaskImages? MemoryFrom)
{
    public TracedTask Leader => Threads[0];
}

/// <summary>
/// The dumped tree as husks: the root husk clones each child with its dumped PID (clone3 set_tid run inside the
/// parent, so parentage is the dumped one) once its own memory is rebuilt (so the children inherit it copy-on-write,
/// as they had it from the fork before the dump), each process clones its threads with their
/// TIDs, sessions and process groups are set up as dumped, and zombies exit again with their dumped status. Every
/// clone carries CLONE_PTRACE, so each new task is born seized and stopped before it runs an instruction.
/// </summary>
public sealed class HuskTree
{
    const ulong ThreadFlags = CloneFlags.CLONE_VM | CloneFlags.CLONE_FS | CloneFlags.CLONE_FILES | CloneFlags.CLONE_SIGHAND |
        CloneFlags.CLONE_THREAD | CloneFlags.CLONE_SYSVSEM;

    readonly DumpSet _set;
    readonly Log _log;
    readonly bool _innerPids;
    readonly Action<HuskProcess> _restoreMemory;
    readonly List<HuskProcess> _processes = [];
    readonly List<(ZombieImages Images, TracedTask Task)> _zombies = [];
    readonly Dictionary<uint, pstree_entry> _entries;

    /// <summary>
    /// Placeholder tasks cloned from the root husk first, each holding a PID or TID of the tree until the real task
    /// is cloned with it: a parent's memory is rebuilt before its children and threads are cloned, and meanwhile
    /// Ferry's own new threads (the pages are written by a pool of them) could take one of those numbers.
    /// </summary>
    readonly Dictionary<int, TracedTask> _held = [];
    TracedTask? _root;

    HuskTree(DumpSet set, Log log, bool innerPids, Action<HuskProcess> restoreMemory)
    {
        _set = set;
        _log = log;
        _innerPids = innerPids;
        _restoreMemory = restoreMemory;
        _entries = set.Tasks.Select(t => t.Process).Concat(set.Zombies.Select(z => z.Process)).ToDictionary(p => p.Pid);
    }

    /// <summary>The living processes in pstree order (parents before children).</summary>
    public IReadOnlyList<HuskProcess> Processes => _processes;

    /// <summary>
    /// Builds the tree under <paramref name="root"/>, the husk already started with the root's PID. With
    /// <paramref name="innerPids"/> the tree lives in a pid namespace of its own: the dumped PIDs are the ones inside,
    /// and each new task is found on this side by its NSpid. <paramref name="restoreMemory"/> rebuilds a process's memory
    /// while it is one thread without children. On failure every task made so far is killed and reaped.
    /// </summary>
    public static HuskTree Build(DumpSet set, TracedTask root, bool innerPids, Action<HuskProcess> restoreMemory, Log log)
    {
        CheckShape(set);
        var tree = new HuskTree(set, log, innerPids, restoreMemory);
        try
        {
            tree.HoldIds(root);
            tree.Populate(set.Root, root, null);
            tree.JoinGroups();
            tree.EndZombies();
        }
        catch
        {
            tree.Kill(root);
            throw;
        }
        return tree;
    }

    /// <summary>Refuses, before anything is made, trees whose shape the clone order here cannot give back.</summary>
    static void CheckShape(DumpSet set)
    {
        var entries = set.Tasks.Select(t => t.Process).Concat(set.Zombies.Select(z => z.Process)).ToDictionary(p => p.Pid);
        foreach (var process in entries.Values)
        {
            if (process.Pid == set.Root.Process.Pid || process.Sid == process.Pid)
                continue;
            var parent = entries[process.Ppid];
            // A child inherits its parent's session; one that was moved into another session after its fork (its
            // parent called setsid later, or it is in its grandparent's) needs helper tasks CRIU-style.
            if (process.Sid != parent.Sid)
                throw new FerryException(
                    $"process {process.Pid} is in session {process.Sid} but its parent {parent.Pid} in session {parent.Sid}; " +
                    "restoring a session a parent left after the fork is not supported yet");
        }
        foreach (var task in set.Tasks.Skip(1))
        {
            var parent = set.Tasks.First(t => t.Process.Pid == task.Process.Ppid);
            if (task.Ids.VmId == parent.Ids.VmId)
                throw new FerryException($"process {task.Pid} shares its memory with its parent {parent.Pid} (vfork); not supported yet");
        }
    }

    void Populate(TaskImages images, TracedTask leader, TaskImages? memoryFrom)
    {
        if (images.Process.Sid == images.Process.Pid)
            leader.SyscallOrThrow(Sys.setsid);
        var threads = new List<TracedTask> { leader };
        var process = new HuskProcess(images, threads, memoryFrom);
        _processes.Add(process);
        _restoreMemory(process);

        var children = _set.Tasks.Where(t => t.Process.Ppid == images.Process.Pid).ToList();
        var zombies = _set.Zombies.Where(z => z.Process.Ppid == images.Process.Pid).ToList();
        var created = new List<(TaskImages Images, TracedTask Task)>();
        using (var scratch = leader.MapScratch())
        {
            // Children first, while the husk is still one thread: each is a copy of this one, its memory rebuilt.
            foreach (var child in children)
            {
                ulong sharing = (child.Ids.FilesId == images.Ids.FilesId ? CloneFlags.CLONE_FILES : 0)
                    | (child.Ids.FsId == images.Ids.FsId ? CloneFlags.CLONE_FS : 0);
                created.Add((child, Clone(leader, scratch, child.Pid, sharing, Signals.SIGCHLD, thread: false)));
            }
            foreach (var zombie in zombies)
                _zombies.Add((zombie, Clone(leader, scratch, zombie.Pid, 0, Signals.SIGCHLD, thread: false)));
            foreach (uint tid in images.Process.Threads.Skip(1))
                threads.Add(Clone(leader, scratch, (int)tid, ThreadFlags, 0, thread: true));
        }
        if (threads.Count > 1 || created.Count > 0 || zombies.Count > 0)
            _log.Debug($"pid {images.Pid}: {threads.Count - 1} thread(s), {created.Count} child(ren) and {zombies.Count} zombie(s) cloned");
        foreach (var (child, task) in created)
            Populate(child, task, images);
        foreach (var (zombie, task) in _zombies.Where(z => z.Images.Process.Ppid == images.Process.Pid))
            if (zombie.Process.Sid == zombie.Process.Pid)
                task.SyscallOrThrow(Sys.setsid);
    }

    void HoldIds(TracedTask root)
    {
        _root = root;
        var ids = _set.Tasks.SelectMany(t => t.Process.Threads).Concat(_set.Zombies.Select(z => z.Process.Pid)).Distinct()
            .Where(id => id != _set.Root.Process.Pid).ToList();
        if (ids.Count == 0)
            return;
        using var scratch = root.MapScratch();
        foreach (uint id in ids)
            _held[(int)id] = Clone(root, scratch, (int)id, 0, 0, thread: false);
    }

    /// <summary>Frees <paramref name="tid"/> for the real task: its placeholder is killed and reaped by the root husk, its parent.</summary>
    void Release(int tid)
    {
        if (!_held.Remove(tid, out var holder))
            return;
        holder.Kill();
        _root!.SyscallOrThrow(Sys.wait4, tid, 0, Wait.__WALL, 0);
    }

    /// <summary>Runs clone3 with set_tid = [<paramref name="tid"/>] in <paramref name="parent"/> and seizes the new task.</summary>
    TracedTask Clone(TracedTask parent, RemoteScratch scratch, int tid, ulong flags, int exitSignal, bool thread)
    {
        Release(tid);
        int argsSize = Marshal.SizeOf<CloneArgs>();
        scratch.Write(argsSize, tid);
        scratch.Write(0, new CloneArgs
        {
            flags = flags | CloneFlags.CLONE_PTRACE,
            exit_signal = (ulong)exitSignal,
            set_tid = (ulong)scratch.At(argsSize),
            set_tid_size = 1,
        });
        long result = parent.Syscall(Sys.clone3, scratch.At(0), argsSize);
        if (result == -Errno.EEXIST)
            throw new FerryException($"{(thread ? "TID" : "PID")} {tid} was taken while the restore ran ({PidCheck.Holder(tid) ?? "now free"}); run the restore again");
        if (result < 0)
            throw new FerryException($"cannot create {(thread ? "thread" : "process")} {tid} in {parent}: clone3 failed with {Errno.Name((int)-result)}");
        int hostTid = _innerPids ? HostTid(parent, (int)result, thread) : (int)result;
        return parent.Tracer.Adopt(hostTid);
    }

    /// <summary>The TID on this side of a task cloned inside a pid namespace: the one whose NSpid ends in <paramref name="innerTid"/>.</summary>
    static int HostTid(TracedTask parent, int innerTid, bool thread) =>
        Procfs.ProcTasks.WithInnerPid(thread ? Procfs.ProcTasks.ReadThreadIds(parent.Pid) : Procfs.ProcTasks.ReadChildren(parent.Pid, parent.Tid), innerTid)
        ?? throw new FerryException($"the task cloned with inner PID {innerTid} by {parent} is not visible from here");

    /// <summary>
    /// Process groups, once every process of every session exists: group leaders first, then the members join
    /// (setpgid only works towards a group of the caller's own session, which now exists). A group whose leader was
    /// gone at dump time is made by a helper with the leader's PID, cloned by a member's parent: it makes the group,
    /// the members join, and it exits and is reaped by that parent before anything of the tree runs.
    /// </summary>
    void JoinGroups()
    {
        var all = _processes.Select(p => (p.Images.Process, Task: p.Leader)).Concat(_zombies.Select(z => (z.Images.Process, z.Task))).ToList();
        foreach (var (process, task) in all.Where(p => p.Process.Pgid == p.Process.Pid && p.Process.Sid != p.Process.Pid))
            task.SyscallOrThrow(Sys.setpgid, 0, 0);
        var helpers = new Dictionary<uint, (TracedTask Helper, TracedTask Parent)>();
        var needHelpers = _set.GroupHelpers.ToHashSet();
        foreach (var (process, task) in all.Where(p => p.Process.Pgid != p.Process.Pid))
        {
            if (needHelpers.Contains(process.Pgid) && !helpers.ContainsKey(process.Pgid))
                helpers[process.Pgid] = StartGroupHelper(process);
            if (_entries.ContainsKey(process.Pgid) || helpers.ContainsKey(process.Pgid))
            {
                long result = task.Syscall(Sys.setpgid, 0, process.Pgid);
                if (result < 0)
                    throw new FerryException($"process {process.Pid} cannot join its process group {process.Pgid}: setpgid failed with {Errno.Name((int)-result)}");
            }
            else if (process.Pid == _set.Root.Process.Pid)
                _log.Warn($"pid {process.Pid}: its process group {process.Pgid} was not dumped; it joins Ferry's");
        }
        foreach (var (pgid, (helper, parent)) in helpers)
            EndGroupHelper(pgid, helper, parent);
    }

    (TracedTask Helper, TracedTask Parent) StartGroupHelper(pstree_entry member)
    {
        var parent = _processes.First(p => p.Images.Process.Pid == member.Ppid).Leader;
        using var scratch = parent.MapScratch();
        var helper = Clone(parent, scratch, (int)member.Pgid, 0, Signals.SIGCHLD, thread: false);
        helper.SyscallOrThrow(Sys.setpgid, 0, 0);
        _log.Debug($"pid {member.Pgid}: a helper making process group {member.Pgid} for {member.Pid}");
        return (helper, parent);
    }

    static void EndGroupHelper(uint pid, TracedTask helper, TracedTask parent)
    {
        DetachInto(helper, Sys.exit_group, 0);
        parent.SyscallOrThrow(Sys.wait4, pid, 0, Wait.__WALL, 0);
        TakeBackSigchld(parent);
    }

    /// <summary>
    /// Each zombie husk runs exit_group (or is killed by its signal, without a core dump) with the dumped status and
    /// waits for its parent to reap it, as it did at dump time. The SIGCHLD this sends the parent is taken back: the
    /// parent had already received it before the dump (its pending signals are restored from the images).
    /// </summary>
    void EndZombies()
    {
        foreach (var (zombie, task) in _zombies)
        {
            int signal = zombie.WaitStatus & 0x7f;
            if (signal != 0)
                signal = Fatal(signal);
            int code = (zombie.WaitStatus >> 8) & 0xff;
            using (var scratch = task.MapScratch())
            {
                Resources.Process.ThreadPropertiesRestorer.SetName(task, scratch, zombie.Comm);
                if (signal != 0 && signal != Signals.SIGKILL)
                {
                    task.SyscallOrThrow(Sys.prctl, Prctl.PR_SET_DUMPABLE, 0);
                    scratch.Write(0, new KernelSigAction { handler = Signals.SIG_DFL });
                    task.SyscallOrThrow(Sys.rt_sigaction, signal, scratch.At(0), 0, Signals.KernelSigSetSize);
                }
            }
            task.SetSigMask(0);
            // An exit runs exit_group with the code; a death by signal waits in pause() for the signal sent once
            // the husk is no longer traced (SIGKILL would not wait for the detach).
            DetachInto(task, signal == 0 ? Sys.exit_group : Sys.pause, code);
            if (signal != 0 && LibC.kill(task.Pid, signal) < 0)
                throw LinuxException.FromLastError("kill", task.Pid);
            Poll(() => Procfs.ProcStatFile.Read(task.Pid).State == 'Z', $"zombie {zombie.Pid} to exit");
            var parent = _processes.First(p => p.Images.Process.Pid == zombie.Process.Ppid).Leader;
            TakeBackSigchld(parent);
            _log.Debug($"pid {zombie.Pid}: a zombie again (wait status 0x{zombie.WaitStatus:x})");
        }
    }

    /// <summary>Lets a husk go with its registers set to run one last system call (exit_group or pause) with one argument.</summary>
    static void DetachInto(TracedTask task, long syscall, long argument)
    {
        var regs = task.GetRegisters();
        regs.rip = task.SyscallInstruction;
        regs.rax = (ulong)syscall;
        regs.orig_rax = ulong.MaxValue;
        regs.rdi = (ulong)argument;
        task.SetRegisters(regs);
        task.Detach();
    }

    /// <summary>Like CRIU: a status naming a signal whose default action is not to terminate becomes SIGABRT.</summary>
    static int Fatal(int signal) =>
        signal is Signals.SIGCHLD or Signals.SIGCONT or Signals.SIGSTOP or Signals.SIGTSTP or Signals.SIGTTIN or Signals.SIGTTOU
            or Signals.SIGURG or Signals.SIGWINCH || signal > 31 ? Signals.SIGABRT : signal;

    static unsafe void TakeBackSigchld(TracedTask parent)
    {
        using var scratch = parent.MapScratch();
        scratch.Write(0, 1UL << (Signals.SIGCHLD - 1));
        scratch.Write(16, new TimeSpec());
        while (parent.Syscall(Sys.rt_sigtimedwait, scratch.At(0), 0, scratch.At(16), Signals.KernelSigSetSize) == Signals.SIGCHLD) { }
    }

    static void Poll(Func<bool> done, string what)
    {
        var deadline = DateTime.UtcNow.AddSeconds(5);
        while (!done())
        {
            if (DateTime.UtcNow > deadline)
                throw new FerryException($"timed out waiting for {what}");
            Thread.Sleep(1);
        }
    }

    /// <summary>
    /// Lets every task run: children before parents, the root last, threads before their leader. A process that was
    /// job-control stopped at dump time gets its stop signal queued first, so it stops again before it runs an
    /// instruction of its own.
    /// </summary>
    public void Release()
    {
        foreach (var process in Enumerable.Reverse(_processes))
        {
            if (process.Images.Leader.Tc is { TaskState: TaskStates.Stopped } tc)
            {
                int signal = tc.HasStopSigno && tc.StopSigno != 0 ? (int)tc.StopSigno : Signals.SIGSTOP;
                if (LibC.kill(process.Leader.Pid, signal) < 0)
                    throw LinuxException.FromLastError($"kill({signal}) to stop it again", process.Leader.Pid);
            }
            foreach (var thread in process.Threads.Reverse())
                thread.Detach();
        }
    }

    /// <summary>SIGKILLs every process made (deepest first) and reaps what is ours to reap: nothing is left behind.</summary>
    public void Kill(TracedTask root)
    {
        var processes = _processes.Count > 0 ? _processes.Select(p => p.Threads).ToList() : [[root]];
        var all = processes.Concat(_zombies.Select(z => (IReadOnlyList<TracedTask>)[z.Task]))
            .Concat(_held.Values.Select(h => (IReadOnlyList<TracedTask>)[h])).Reverse().ToList();
        foreach (var threads in all)
        {
            LibC.kill(threads[0].Pid, Signals.SIGKILL);
            foreach (var thread in threads.Reverse().Where(t => t.IsAttached))
                thread.WaitGone();
        }
        // Children outlived their killed husk parents as zombies and came to Ferry, the subreaper.
        foreach (var threads in all.Where(t => t[0].Pid != root.Pid))
            ReapOrphan(threads[0].Pid);
    }

    static unsafe void ReapOrphan(int pid)
    {
        int status;
        for (int attempt = 0; attempt < 100; attempt++)
        {
            long result = LibC.waitpid(pid, &status, Wait.WNOHANG | Wait.__WALL);
            if (result == pid || (result < 0 && Marshal.GetLastPInvokeError() == Errno.ECHILD))
                return;
            Thread.Sleep(1);
        }
    }
}
