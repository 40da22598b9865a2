using System.Diagnostics;
using Ferry.Diagnostics;
using Ferry.Images.Protos;
using Ferry.Procfs;
using Ferry.Resources.Files;
using Ferry.Resources.Memory;
using Ferry.Resources.TaskState;

namespace Ferry.Checkpoint;

/// <summary>A live process of the tree checked and ready to collect; nothing has been asked of it yet.</summary>
/// <param name="Fds">Its descriptors; null when its descriptor table is shared with a process collected before.</param>
/// <param name="Maps">Its /proc/PID/maps as found frozen (before any scratch of the dump was mapped).</param>
internal sealed record CheckedProcess(TreeProcess Process, ProcStat Stat, ProcStatus Status, IReadOnlyList<MapsEntry> Maps, task_kobj_ids_entry Ids, List<FdEntry>? Fds);

/// <summary>What the memory dump of one process wrote and how long it took.</summary>
internal readonly record struct ProcessMemory(long Pages, long Bytes, TimeSpan Time);

/// <summary>
/// Collects one frozen process of the tree into its per-process images (cores of every thread, ids, mm, fs, fdinfo,
/// pagemap + pages) and adds what it shares with the others to the tree-wide tables: open file descriptions to
/// <see cref="FileTable"/>, shared anonymous memory to <see cref="ShmemDumper"/>.
/// </summary>
internal sealed class ProcessCollector(FileTable files, ShmemDumper shmem, string imagesDir, Func<uint> nextPagesId, Log log)
{
    /// <summary>--cow-pages-once: a page a child shares with its parent since the fork is stored in the parent's images only.</summary>
    public bool CowPagesOnce { get; init; }

    /// <summary>The processes collected so far as their children's memory dump needs them, by PID, for <see cref="CowPagesOnce"/>.</summary>
    readonly Dictionary<int, ForkParent> _collected = new();

    /// <summary>
    /// What can be refused without touching the process: its limits, descriptor kinds and shared kernel objects.
    /// <paramref name="ids"/> gives a process's ids (and whether its descriptor table is met for the first time).
    /// </summary>
    /// <param name="inOwnPidNamespace">The tree lives in a pid and mount namespace of its own (ferry-init's, or one whose init is
    /// the root), which a restore recreates.</param>
    public static CheckedProcess Check(TreeProcess process, TaskIds ids, bool inOwnPidNamespace)
    {
        var pid = process.Pid;
        var stat = ProcStatFile.Read(pid);
        var status = process.Status; // read once the tree was frozen
        var maps = ProcMaps.Read(pid);
        var taskIds = ids.Of(pid, stat.PPid, out var newFileTable);
        DumpLimits.Check(pid, status, maps, taskIds, ids, inOwnPidNamespace);
        var fds = ProcFds.Read(pid);
        FdDumper.RefuseUnsupported(pid, fds);
        return new CheckedProcess(process, stat, status, maps, taskIds, newFileTable ? fds : null);
    }

    public (ProcessImages Images, ProcessMemory Memory) Collect(CheckedProcess process)
    {
        var tasks = process.Process.Threads;
        var virtualTids = process.Process.Pstree.Threads;
        var leader = tasks[0];
        var pid = leader.Pid;

        List<fdinfo_entry>? fds = null;
        if (process.Fds is not null)
        {
            fds = new FdDumper(pid, process.Process.Vpid, files).Dump(process.Fds);
            log.Debug($"process {pid}: {fds.Count} descriptors saved");
        }

        var cores = new List<(int, core_entry)>(tasks.Count);
        ProcessAnswers facts;
        // Found in the maps read already; every thread runs code of the same address space.
        var syscallInstruction = leader.FindSyscallInstruction(mappings: process.Maps);
        foreach (var task in tasks) task.SyscallInstruction = syscallInstruction;
        using (var scratch = leader.MapBatchScratch())
        {
            var (leaderAnswers, processAnswers) = TaskQuestions.AskLeader(leader, scratch);
            facts = processAnswers;
            for (var i = 0; i < tasks.Count; i++)
            {
                // Every thread runs its batch from the leader's scratch: they share the address space.
                var answers = i == 0 ? leaderAnswers : TaskQuestions.AskThread(tasks[i], scratch);
                // The leader's /proc/PID/stat and status tell its own nice, priority, comm and credentials.
                var (stat, status) = i == 0 ? (process.Stat, process.Status)
                    : (ProcStatFile.ReadThread(pid, tasks[i].Tid), ProcStatusFile.ReadThread(pid, tasks[i].Tid));
                var core = ThreadDumper.Dump(tasks[i], answers, stat, status, isLeader: i == 0);
                if (i == 0) core.Tc = ProcessCoreDumper.Dump(leader, facts, scratch, process.Stat);
                cores.Add(((int)virtualTids[i], core));
            }
        }
        log.Debug($"process {pid}: task state of {tasks.Count} thread(s) saved");

        // The scratch page is gone again: the VMAs read now are the task's own.
        var vmas = VmaCollector.Collect(pid, files);
        var mm = MmDumper.Dump(pid, process.Stat, facts, files, vmas);
        var stackPointers = tasks.Select(t => t.GetRegisters().rsp).ToList();
        var memoryClock = Stopwatch.StartNew();
        var frames = CowPagesOnce ? new List<(ulong Address, ulong Pfn)>() : null;
        var parent = CowPagesOnce ? _collected.GetValueOrDefault(process.Status.PPid) : null;
        var memory = MemoryDumper.Dump(pid, process.Process.Vpid, vmas, stackPointers, imagesDir, nextPagesId(), parent, frames);
        if (frames is not null) _collected[pid] = new ForkParent(vmas, frames);
        shmem.Add(pid, vmas);
        var memoryTime = memoryClock.Elapsed;
        log.Info($"process {pid}: {vmas.Count} VMAs, {memory.Pages} pages in {memory.Runs} runs written in {memoryTime.TotalMilliseconds:F2} ms"
            + $" (pagemap scan {memory.Scan.TotalMilliseconds:F2} ms, copying {memory.Read.TotalMilliseconds:F2} ms, waiting for writes {memory.WriteWait.TotalMilliseconds:F2} ms)");

        var images = new ProcessImages
        {
            Pid = process.Process.Vpid,
            Ids = process.Ids,
            Cores = cores,
            Mm = mm,
            Fs = FsDumper.Dump(pid, files, process.Status),
            Fds = fds,
        };
        return (images, new ProcessMemory(memory.Pages, memory.Bytes, memoryTime));
    }
}
