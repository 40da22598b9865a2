using System.Buffers.Binary;
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

    /// <summary>Every task cloned for the tree (placeholders apart), in the order made: what <see cref="Kill"/> ends.</summary>
    readonly List<TracedTask> _made = [];

    /// <summary>The clone3s (and the wait4s before them) of one batch: each takes two calls at most, and 512 fit.</summary>
    const int ClonesPerBatch = 200;

    /// <summary>A clone_args and its one-entry set_tid array, per clone of a batch.</summary>
    const int CloneSlot = 96;

    TracedTask? _root;
    RemoteScratch? _rootScratch;

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
            tree._rootScratch?.Dispose();
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
        // Children first, while the husk is still one thread: each is a copy of this one, its memory rebuilt.
        var requests = children.Select(child => new CloneRequest(child.Pid,
                (child.Ids.FilesId == images.Ids.FilesId ? CloneFlags.CLONE_FILES : 0) | (child.Ids.FsId == images.Ids.FsId ? CloneFlags.CLONE_FS : 0),
                Signals.SIGCHLD, Thread: false))
            .Concat(zombies.Select(zombie => new CloneRequest(zombie.Pid, 0, Signals.SIGCHLD, Thread: false)))
            .Concat(images.Process.Threads.Skip(1).Select(tid => new CloneRequest((int)tid, ThreadFlags, 0, Thread: true)))
            .ToList();
        var made = CloneAll(leader, requests, placeholders: false);
        var created = children.Zip(made.Take(children.Count)).ToList();
        _zombies.AddRange(zombies.Zip(made.Skip(children.Count).Take(zombies.Count)));
        threads.AddRange(made.Skip(children.Count + zombies.Count));
        if (threads.Count > 1 || created.Count > 0 || zombies.Count > 0)
            _log.Debug($"pid {images.Pid}: {threads.Count - 1} thread(s), {created.Count} child(ren) and {zombies.Count} zombie(s) cloned");
        foreach (var (child, task) in created)
            Populate(child, task, images);
        foreach (var (zombie, task) in _zombies.Where(z => z.Images.Process.Ppid == images.Process.Pid))
            if (zombie.Process.Sid == zombie.Process.Pid)
                task.SyscallOrThrow(Sys.setsid);
    }

    /// <summary>
    /// Clones the placeholders, all in batches of one resume each. They share the root husk's memory (CLONE_VM, not
    /// a thread of it): a placeholder never runs an instruction, so there is nothing to copy at its birth nor to tear
    /// down at its death.
    /// </summary>
    void HoldIds(TracedTask root)
    {
        _root = root;
        var ids = _set.Tasks.SelectMany(t => t.Process.Threads).Concat(_set.Zombies.Select(z => z.Process.Pid))
            .Concat(_set.GroupHelpers).Distinct().Where(id => id != _set.Root.Process.Pid).ToList();
        CloneAll(root, ids.Select(id => new CloneRequest((int)id, CloneFlags.CLONE_VM, 0, Thread: false)).ToList(), placeholders: true);
    }

    /// <summary>One task to clone: the PID or TID it gets, its clone flags and exit signal.</summary>
    readonly record struct CloneRequest(int Tid, ulong Flags, int ExitSignal, bool Thread);

    /// <summary>
    /// Runs clone3 with set_tid for each request in <paramref name="parent"/>, a batch of them per resume, and seizes
    /// the new tasks (in request order). Placeholders holding those numbers are ended first: killed, and reaped by
    /// the root husk, their parent, in the same batch when the parent is the root. Every task made is recorded
    /// before a failed clone throws, so <see cref="Kill"/> finds it.
    /// </summary>
    List<TracedTask> CloneAll(TracedTask parent, IReadOnlyList<CloneRequest> requests, bool placeholders) =>
        // On the tracer thread throughout: a hop per adopted task would cost more than its clone.
        parent.Tracer.Run(() => CloneAllOnTracer(parent, requests, placeholders));

    List<TracedTask> CloneAllOnTracer(TracedTask parent, IReadOnlyList<CloneRequest> requests, bool placeholders)
    {
        var made = new List<TracedTask>(requests.Count);
        if (requests.Count == 0)
            return made;
        using var scratch = parent.MapScratch(Math.Min(requests.Count, ClonesPerBatch) * CloneSlot);
        foreach (var chunk in requests.Chunk(ClonesPerBatch))
        {
            var reaps = EndPlaceholders(chunk.Select(r => r.Tid));
            var calls = new List<RemoteCall>(reaps.Count + chunk.Length);
            if (parent == _root)
                calls.AddRange(reaps);
            else
                Reap(reaps);
            int argsSize = Marshal.SizeOf<CloneArgs>();
            var arguments = new byte[chunk.Length * CloneSlot];
            for (int i = 0; i < chunk.Length; i++)
            {
                int slot = i * CloneSlot;
                var args = new CloneArgs
                {
                    flags = chunk[i].Flags | CloneFlags.CLONE_PTRACE,
                    exit_signal = (ulong)chunk[i].ExitSignal,
                    set_tid = (ulong)scratch.At(slot + argsSize),
                    set_tid_size = 1,
                };
                MemoryMarshal.Write(arguments.AsSpan(slot), in args);
                BinaryPrimitives.WriteInt32LittleEndian(arguments.AsSpan(slot + argsSize), chunk[i].Tid);
                calls.Add(new RemoteCall(Sys.clone3, scratch.At(slot), argsSize));
            }
            scratch.Write(0, arguments);
            var results = parent.SyscallBatch(scratch, calls);
            // The tasks made are recorded before any failure of the batch is thrown.
            var reapFailure = parent == _root ? ReapFailure(reaps, results) : null;
            var hostTids = _innerPids ? HostTids(parent, chunk) : null;
            FerryException? failure = null;
            for (int i = 0; i < chunk.Length; i++)
            {
                long result = results[calls.Count - chunk.Length + i];
                if (result < 0)
                {
                    failure ??= CloneFailed(parent, chunk[i], result);
                    continue;
                }
                int tid = hostTids is null ? (int)result : HostTid(hostTids, parent, (int)result);
                var task = parent.Tracer.Adopt(tid, chunk[i].Thread ? parent.Pid : tid);
                if (placeholders)
                    _held[chunk[i].Tid] = task;
                else
                    _made.Add(task);
                made.Add(task);
            }
            if ((reapFailure ?? failure) is { } error)
                throw error;
        }
        return made;
    }

    static FerryException CloneFailed(TracedTask parent, CloneRequest request, long result)
    {
        string kind = request.Thread ? "TID" : "PID";
        return result == -Errno.EEXIST
            ? new FerryException($"{kind} {request.Tid} was taken while the restore ran ({PidCheck.Holder(request.Tid) ?? "now free"}); run the restore again")
            : new FerryException($"cannot create {(request.Thread ? "thread" : "process")} {request.Tid} in {parent}: clone3 failed with {Errno.Name((int)-result)}");
    }

    /// <summary>
    /// Kills the placeholders holding <paramref name="tids"/> and reaps their ptrace exits; the wait4s returned free
    /// the numbers once the root husk, their parent, runs them.
    /// </summary>
    List<RemoteCall> EndPlaceholders(IEnumerable<int> tids)
    {
        // The wait4s name each by its number where the root husk is (inside its pid namespace with inner PIDs).
        var holders = tids.Where(_held.ContainsKey).Select(tid => (Tid: tid, Task: _held[tid])).ToList();
        if (holders.Count == 0)
            return [];
        foreach (var (tid, _) in holders)
            _held.Remove(tid);
        _root!.Tracer.Run(() =>
        {
            foreach (var (_, task) in holders)
                LibC.kill(task.Pid, Signals.SIGKILL);
            foreach (var (_, task) in holders)
                task.WaitGone();
        });
        return holders.Select(holder => new RemoteCall(Sys.wait4, holder.Tid, 0, Wait.__WALL, 0)).ToList();
    }

    /// <summary>Runs the wait4s of ended placeholders in the root husk (its scratch is mapped once, after its memory is rebuilt).</summary>
    void Reap(List<RemoteCall> reaps)
    {
        if (reaps.Count == 0)
            return;
        _rootScratch ??= _root!.MapScratch();
        if (ReapFailure(reaps, _root!.SyscallBatch(_rootScratch, reaps)) is { } error)
            throw error;
    }

    FerryException? ReapFailure(List<RemoteCall> reaps, long[] results)
    {
        for (int i = 0; i < reaps.Count; i++)
            if (results[i] != reaps[i].A1)
                return new FerryException($"the placeholder holding {reaps[i].A1} could not be reaped by {_root}: wait4 returned {Errno.Name((int)-results[i])}");
        return null;
    }

    /// <summary>Who took which inner number among the threads and children of <paramref name="parent"/>: each NSpid read once.</summary>
    static Dictionary<int, int> HostTids(TracedTask parent, IEnumerable<CloneRequest> requests)
    {
        var candidates = new List<int>();
        if (requests.Any(r => r.Thread))
            candidates.AddRange(Procfs.ProcTasks.ReadThreadIds(parent.Pid));
        if (requests.Any(r => !r.Thread))
            candidates.AddRange(Procfs.ProcTasks.ReadChildren(parent.Pid, parent.Tid));
        var hostTids = new Dictionary<int, int>();
        foreach (int candidate in candidates)
        {
            try
            {
                if (Procfs.ProcStatusFile.Read(candidate).NSpid is [.., var inner])
                    hostTids[inner] = candidate;
            }
            catch (Procfs.ProcessNotFoundException) { }
        }
        return hostTids;
    }

    static int HostTid(Dictionary<int, int> hostTids, TracedTask parent, int innerTid) =>
        hostTids.TryGetValue(innerTid, out int host) ? host
            : throw new FerryException($"the task cloned with inner PID {innerTid} by {parent} is not visible from here");

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
        var helper = CloneAll(parent, [new CloneRequest((int)member.Pgid, 0, Signals.SIGCHLD, Thread: false)], placeholders: false)[0];
        helper.SyscallOrThrow(Sys.setpgid, 0, 0);
        _log.Debug($"pid {member.Pgid}: a helper making process group {member.Pgid} for {member.Pid}");
        return (helper, parent);
    }

    void EndGroupHelper(uint pid, TracedTask helper, TracedTask parent)
    {
        DetachInto(helper, Sys.exit_group, 0);
        parent.SyscallOrThrow(Sys.wait4, pid, 0, Wait.__WALL, 0);
        _made.Remove(helper);
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
        // Creation order puts parents before children and leaders before their threads; the leader's exit is reported last.
        var all = _made.Concat(_held.Values).Prepend(root).Reverse().ToList();
        foreach (var task in all.Where(t => t.Tid == t.Pid))
            LibC.kill(task.Pid, Signals.SIGKILL);
        foreach (var task in all.Where(t => t.IsAttached))
            task.WaitGone();
        // Children outlived their killed husk parents as zombies and came to Ferry, the subreaper.
        foreach (var task in all.Where(t => t.Tid == t.Pid && t.Pid != root.Pid))
            ReapOrphan(task.Pid);
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
