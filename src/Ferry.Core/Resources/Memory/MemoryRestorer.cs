using Ferry.Resources.Files;
using System.Globalization;
using Ferry.Diagnostics;
using Ferry.Images.Protos;
using Ferry.Linux;
using Ferry.Procfs;
using Ferry.Resources.Memfd;
using Ferry.Restore;
using Ferry.Tracing;

namespace Ferry.Resources.Memory;

/// <summary>
/// Rebuilds a task's address space inside the husk: the husk's own mappings go, the kernel's vvar/vdso block moves to
/// where it was at dump time, every dumped VMA is mapped at its address (files opened by Ferry and handed over),
/// dumped pages are written with process_vm_writev straight from an mmap of pages-ID.img, and then each VMA gets its
/// final protection and madvise flags. A husk cloned from its rebuilt parent keeps the private VMAs it inherited
/// as they are (<see cref="InheritedPages"/>), so pages the two shared before the dump are shared again.
/// </summary>
/// <param name="parent">The images of the process whose rebuilt memory the husk was cloned with; null for a fresh husk.</param>
public sealed class MemoryRestorer(TracedTask task, TaskImages images, TaskImages? parent, DumpSet set, SharedObjects sharedObjects,
    FdTransfer fds, Log log)
{
    static readonly ulong PageSize = (ulong)Environment.SystemPageSize;

    public void Restore()
    {
        var husk = ProcMaps.Read(task.Pid);
        var kernelBlock = husk.Where(InKernelBlock).ToList();
        if (!kernelBlock.Any(m => m.Kind == MapKind.Vdso))
            throw new FerryException("the husk has no [vdso]; Ferry needs one to run syscalls in the restored task");

        var inherited = InheritedPages.Find(task, images, parent, husk.Select(m => (m.Start, m.End)).ToList());
        // Remote syscalls run on the `syscall` in the vdso from here on; the husk's code is about to go.
        _ = task.SyscallInstruction;
        foreach (var mapping in husk)
            if (!kernelBlock.Contains(mapping) && mapping.Kind != MapKind.Vsyscall)
                foreach (var (start, end) in inherited.Outside(mapping.Start, mapping.End))
                    task.SyscallOrThrow(Sys.munmap, (long)start, (long)(end - start));
        log.Debug($"pid {task.Pid}: unmapped the husk's {husk.Count - kernelBlock.Count} own mappings" +
            (inherited.Areas.Count > 0 ? $" but {inherited.Areas.Count} VMAs inherited from pid {parent!.Pid}" : ""));

        // A process that had unmapped its vdso (zdtm's vdso02) comes back without one: the husk's block only serves
        // the remote syscalls until the restored code is in place, and must not sit where a dumped area goes.
        bool dumpedVdso = images.Mm.Vmas.Any(v => Vma.Is(v, Vma.Vdso));
        if (dumpedVdso)
            MoveKernelBlock(kernelBlock);
        else
            MoveKernelBlockAside(kernelBlock);
        var written = MapAreas(inherited);
        FillPages(inherited);
        FinishAreas(written);
        if (!dumpedVdso)
            DropKernelBlock();
    }

    /// <summary>Moves the husk's vvar/vdso block to the highest gap that no dumped area and no husk mapping uses, if it is in the way.</summary>
    void MoveKernelBlockAside(List<MapsEntry> block)
    {
        ulong hereStart = block.Min(m => m.Start), hereEnd = block.Max(m => m.End), size = hereEnd - hereStart;
        var used = images.Mm.Vmas.Where(v => !Vma.IsKernelArea(v)).Select(v => (v.Start, v.End))
            .Concat(ProcMaps.Read(task.Pid).Select(m => (m.Start, m.End))).OrderByDescending(r => r.End).ToList();
        if (!used.Any(r => r.Start < hereEnd && hereStart < r.End && !block.Any(m => m.Start == r.Start && m.End == r.End)))
            return;
        // Top-down from the end of the 47-bit user address space, like the kernel's own placement.
        ulong gapEnd = 0x7fff_ffff_f000;
        foreach (var (start, end) in used)
        {
            if (end <= gapEnd && gapEnd - end >= size)
                break;
            gapEnd = Math.Min(gapEnd, start);
        }
        if (gapEnd < size)
            throw new FerryException($"pid {task.Pid}: no free {size}-byte gap for the husk's vvar/vdso block");
        MoveBlock(block, hereStart, gapEnd - size);
        log.Debug($"pid {task.Pid}: moved the husk's vvar/vdso out of the dumped areas' way to 0x{gapEnd - size:x}");
    }

    /// <summary>Remote syscalls move to a `syscall` in the restored code, then the husk's vvar/vdso areas go.</summary>
    void DropKernelBlock()
    {
        task.SyscallInstruction = task.FindSyscallInstruction(skipVdso: true);
        foreach (var piece in ProcMaps.Read(task.Pid).Where(InKernelBlock))
            task.SyscallOrThrow(Sys.munmap, (long)piece.Start, (long)(piece.End - piece.Start));
        log.Debug($"pid {task.Pid}: the dump has no vdso; unmapped the husk's, remote syscalls run at 0x{task.SyscallInstruction:x}");
    }

    /// <summary>
    /// glibc keeps pointers into the vdso, and the vdso reaches its vvar pages by fixed offsets, so the whole block
    /// ([vvar], [vvar_vclock], [vdso]) moves together to the dumped address, keeping its layout.
    /// </summary>
    void MoveKernelBlock(List<MapsEntry> block)
    {
        var dumped = images.Mm.Vmas.Where(v => Vma.Is(v, Vma.Vdso) || Vma.Is(v, Vma.Vvar)).ToList();
        ulong hereStart = block.Min(m => m.Start), hereEnd = block.Max(m => m.End);
        ulong hereVdso = block.First(m => m.Kind == MapKind.Vdso).Start;
        ulong thenStart = dumped.Min(v => v.Start), thenEnd = dumped.Max(v => v.End);
        ulong thenVdso = dumped.First(v => Vma.Is(v, Vma.Vdso)).Start;
        if (thenEnd - thenStart != hereEnd - hereStart || thenVdso - thenStart != hereVdso - hereStart)
            throw new FerryException(
                $"the dumped vvar/vdso layout ({thenEnd - thenStart} bytes, vdso at +0x{thenVdso - thenStart:x}) differs from this kernel's " +
                $"({hereEnd - hereStart} bytes, vdso at +0x{hereVdso - hereStart:x}); restoring on another kernel is not supported");
        CheckVdsoContents(block.First(m => m.Kind == MapKind.Vdso), thenVdso);
        if (thenStart == hereStart)
            return;

        ulong size = hereEnd - hereStart;
        bool overlaps = thenStart < hereEnd && hereStart < thenEnd;
        ulong from = hereStart;
        if (overlaps)
        {
            // mremap cannot move onto an overlapping range: go through a free spot first.
            ulong spot = (ulong)task.SyscallOrThrow(Sys.mmap, 0, (long)size, Mman.PROT_NONE, Mman.MAP_PRIVATE | Mman.MAP_ANONYMOUS, -1, 0);
            MoveBlock(block, from, spot);
            from = spot;
        }
        MoveBlock(block, from, thenStart);
        log.Debug($"pid {task.Pid}: moved vvar/vdso from 0x{hereStart:x} to 0x{thenStart:x}");
    }

    void MoveBlock(List<MapsEntry> block, ulong from, ulong to)
    {
        ulong hereStart = block.Min(m => m.Start);
        // The vdso goes last: the syscalls moving the other pieces run on its syscall instruction.
        foreach (var piece in block.OrderBy(m => m.Kind == MapKind.Vdso))
        {
            ulong oldAddress = piece.Start - hereStart + from, length = piece.End - piece.Start;
            task.SyscallOrThrow(Sys.mremap, (long)oldAddress, (long)length, (long)length,
                Mman.MREMAP_MAYMOVE | Mman.MREMAP_FIXED, (long)(piece.Start - hereStart + to));
        }
        task.SyscallInstruction = task.SyscallInstruction - from + to;
    }

    /// <summary>
    /// The restored program jumps into vdso code through pointers it cached. If the dumped vdso (its pages are in the
    /// dump) exports its functions at other offsets than this kernel's, those jumps would land in the wrong code, so
    /// refuse instead of crashing later.
    /// </summary>
    void CheckVdsoContents(MapsEntry vdso, ulong dumpedVdso)
    {
        ulong length = vdso.End - vdso.Start;
        var dumpedImage = new byte[length];
        bool complete = false;
        using (var pages = File.OpenHandle(images.Pages.PagesPath))
            foreach (var run in images.Pages.Runs.Where(r => r.Address >= dumpedVdso && r.End <= dumpedVdso + length))
            {
                RandomAccess.Read(pages, dumpedImage.AsSpan((int)(run.Address - dumpedVdso), (int)run.Length), run.FileOffset);
                complete |= run.Address == dumpedVdso;
            }
        if (!complete)
            return; // the dump did not keep the vdso's pages: nothing to compare
        var here = new byte[length];
        task.Memory.Read(vdso.Start, here);
        var dumped = VdsoSymbols.Read(dumpedImage);
        var current = VdsoSymbols.Read(here);
        if (dumped is null || current is null || !VdsoSymbols.Same(dumped, current))
            throw new FerryException("the dumped vdso exports other functions or offsets than this kernel's; restoring on another kernel is not supported");
    }

    /// <summary>Maps every dumped VMA; returns those mapped writable only so their pages can be written.</summary>
    List<vma_entry> MapAreas(InheritedPages inherited)
    {
        var writable = new List<vma_entry>();
        var taskFds = new Dictionary<(ulong Id, int Flags), int>();
        try
        {
            var shared = CreateSharedObjects(taskFds);
            Dictionary<int, Ipc.IpcSegment>? sysvSegments = null;
            int run = 0;
            var runs = images.Pages.Runs;
            foreach (var vma in images.Mm.Vmas)
            {
                if (Vma.IsKernelArea(vma))
                    continue;
                if (Ipc.SysvShmAttacher.IsSysv(vma))
                {
                    Ipc.SysvShmAttacher.Map(task, vma, sysvSegments ??= set.IpcNamespace!.Segments.ToDictionary(s => s.Id));
                    continue;
                }
                while (run < runs.Count && runs[run].End <= vma.Start) run++;
                bool hasPages = run < runs.Count && runs[run].Address < vma.End;
                int prot = (int)vma.Prot;
                if (hasPages && (prot & Mman.PROT_WRITE) == 0)
                {
                    prot |= Mman.PROT_WRITE;
                    writable.Add(vma);
                }
                if (inherited.Contains(vma))
                {
                    // Already there; mprotect keeps the shared pages shared (a write copies only the page written).
                    if (prot != (int)vma.Prot)
                        task.SyscallOrThrow(Sys.mprotect, (long)vma.Start, (long)(vma.End - vma.Start), prot);
                    continue;
                }
                long fd = -1;
                int flags = (int)vma.Flags | Mman.MAP_FIXED;
                if (Vma.IsFileBacked(vma))
                {
                    int openFlags = Vma.Is(vma, Vma.FileShared) ? (int)(vma.Fdflags & 3) : OpenFlags.O_RDONLY;
                    if (!taskFds.TryGetValue((vma.Shmid, openFlags), out int taskFd))
                    {
                        using var local = Vma.Is(vma, Vma.Memfd) ? sharedObjects.Memfds.OpenForMapping((uint)vma.Shmid, openFlags)
                            : RegularFiles.Open(set, sharedObjects.Ghosts, set.Files[(uint)vma.Shmid].Reg, openFlags, $"mapped at 0x{vma.Start:x}");
                        taskFds[(vma.Shmid, openFlags)] = taskFd = fds.Take(local.Fd);
                    }
                    fd = taskFd;
                    flags &= ~Mman.MAP_ANONYMOUS;
                }
                else if (shared.TryGetValue(vma.Shmid, out int objectFd) && TaskImages.IsSharedAnonymous(vma))
                {
                    fd = objectFd;
                    flags &= ~Mman.MAP_ANONYMOUS;
                }
                long got = task.SyscallOrThrow(Sys.mmap, (long)vma.Start, (long)(vma.End - vma.Start), prot, flags, fd, (long)vma.Pgoff);
                if ((ulong)got != vma.Start)
                    throw new FerryException($"mmap of 0x{vma.Start:x}-0x{vma.End:x} in pid {task.Pid} landed at 0x{got:x}");
            }
            log.Debug($"pid {task.Pid}: mapped {images.Mm.Vmas.Count} VMAs");
        }
        finally
        {
            foreach (int taskFd in taskFds.Values)
                if (task.IsAttached)
                    fds.CloseRemote(taskFd);
        }
        return writable;
    }

    void FillPages(InheritedPages inherited)
    {
        var runs = SplitAtAreas(images.Pages.Runs.Where(r => !InKernelArea(r)));
        var started = System.Diagnostics.Stopwatch.GetTimestamp();
        if (inherited.Areas.Count > 0)
        {
            ulong dropped = inherited.DropAbsent();
            var differing = inherited.Differing(runs.Where(inherited.Contains).ToList(), out ulong same);
            runs = runs.Where(r => !inherited.Contains(r)).Concat(differing).OrderBy(r => r.Address).ToList();
            log.Debug($"pid {task.Pid}: of the inherited memory {same} bytes kept as dumped, {images.Pages.ParentRuns.Aggregate(0UL, (sum, r) => sum + r.Length)} " +
                $"bytes stored once in the parent's images, {dropped} bytes dropped; {differing.Aggregate(0UL, (sum, r) => sum + r.Length)} bytes differ " +
                $"({System.Diagnostics.Stopwatch.GetElapsedTime(started).TotalMilliseconds:F1} ms)");
        }
        if (runs.Count == 0)
            return;
        // Runs wholly inside one anonymous private VMA go by UFFDIO_COPY when the kernel allows it; not those mapped
        // MAP_LOCKED or MAP_POPULATE, whose pages mmap already faulted in (UFFDIO_COPY would find them: EEXIST).
        var anonymous = images.Mm.Vmas.Where(v => Vma.Is(v, Vma.AnonPrivate) && !Vma.IsKernelArea(v) && !Vma.IsFileBacked(v)
            && (v.Flags & (Mman.MAP_LOCKED | Mman.MAP_POPULATE)) == 0 && !inherited.Contains(v)).ToList();
        var copierRuns = runs.Where(r => anonymous.Any(v => r.Address >= v.Start && r.End <= v.End)).ToList();
        using var copier = copierRuns.Count > 0 ? UffdPageCopier.TryOpen(task) : null;
        if (copier is not null)
        {
            foreach (var vma in anonymous.Where(v => copierRuns.Any(r => r.Address >= v.Start && r.End <= v.End)))
                if (!copier.Register(vma.Start, vma.End - vma.Start))
                    copierRuns.RemoveAll(r => r.Address >= vma.Start && r.End <= vma.End);
        }
        else
            copierRuns.Clear();
        var others = runs.Except(copierRuns).ToList();
        ulong bytes = PageWriter.Write(task.Pid, images.Pages.PagesPath, others, copierRuns, copier);
        var seconds = System.Diagnostics.Stopwatch.GetElapsedTime(started).TotalSeconds;
        log.Debug($"pid {task.Pid}: wrote {bytes} bytes of pages in {runs.Count} runs, {copierRuns.Count} by UFFDIO_COPY ({seconds * 1000:F1} ms)");
    }

    /// <summary>
    /// Gives the task an fd of each shared anonymous object it maps, so every VMA of the object maps the same memory at
    /// its own offset; the first process of the tree to need an object makes it (<see cref="CreateSharedObject"/>), the
    /// others get the same one. Returns the task's fd by shmid.
    /// </summary>
    Dictionary<ulong, int> CreateSharedObjects(Dictionary<(ulong Id, int Flags), int> taskFds)
    {
        var objects = new Dictionary<ulong, int>();
        foreach (ulong shmid in images.Mm.Vmas.Where(TaskImages.IsSharedAnonymous).Select(v => v.Shmid).Distinct())
        {
            var held = sharedObjects.SharedMemory(shmid) ?? CreateSharedObject(shmid);
            objects[shmid] = fds.Take(held.Fd);
            // Kept with the file fds so the same cleanup closes it in the task.
            taskFds[(shmid, -1)] = objects[shmid];
        }
        return objects;
    }

    /// <summary>
    /// Makes a shared anonymous object with its dumped contents: a temporary MAP_SHARED|MAP_ANONYMOUS mapping of the
    /// whole object is filled (the image's addresses are offsets in the object), Ferry opens it through
    /// /proc/PID/map_files and keeps that fd for every process of the tree, and the temporary mapping goes.
    /// </summary>
    HeldFd CreateSharedObject(ulong shmid)
    {
        var image = set.SharedMemory[shmid];
        ulong at = (ulong)task.SyscallOrThrow(Sys.mmap, 0, (long)image.Size, Mman.PROT_READ | Mman.PROT_WRITE,
            Mman.MAP_SHARED | Mman.MAP_ANONYMOUS, -1, 0);
        PageWriter.Write(task.Pid, image.Contents.PagesPath, image.Contents.Runs.Select(r => r with { Address = at + r.Address }).ToList());
        var held = HeldFd.Open($"/proc/{task.Pid}/map_files/{at:x}-{at + image.Size:x}", OpenFlags.O_RDWR, $"shared anonymous memory {shmid}");
        sharedObjects.AddSharedMemory(shmid, held);
        task.SyscallOrThrow(Sys.munmap, (long)at, (long)image.Size);
        return held;
    }

    /// <summary>
    /// A run of present pages may span adjacent VMAs (a thread's stack beside its neighbour, say). Each piece must be
    /// written by the way its own VMA allows: a process_vm_writev into a VMA registered with userfaultfd would wait
    /// forever on the first missing page, since the only one who could resolve the fault is Ferry itself.
    /// </summary>
    List<PageRange> SplitAtAreas(IEnumerable<PageRange> runs)
    {
        var pieces = new List<PageRange>();
        var areas = images.Mm.Vmas;
        int area = 0;
        foreach (var run in runs)
        {
            while (area < areas.Count && areas[area].End <= run.Address) area++;
            ulong at = run.Address;
            for (int i = area; at < run.End; i++)
            {
                ulong end = i < areas.Count && areas[i].Start <= at ? Math.Min(run.End, areas[i].End) : run.End;
                pieces.Add(new PageRange(at, end - at, run.FileOffset + (long)(at - run.Address)));
                at = end;
            }
        }
        return pieces;
    }

    bool InKernelArea(PageRange run) =>
        images.Mm.Vmas.Any(v => Vma.IsKernelArea(v) && run.Address >= v.Start && run.Address < v.End);

    void FinishAreas(List<vma_entry> writable)
    {
        foreach (var vma in writable)
            task.SyscallOrThrow(Sys.mprotect, (long)vma.Start, (long)(vma.End - vma.Start), vma.Prot);
        foreach (var vma in images.Mm.Vmas)
        {
            if (Vma.IsKernelArea(vma) || !vma.HasMadv || vma.Madv == 0)
                continue;
            for (int advice = 0; advice < 64; advice++)
                if ((vma.Madv & (1UL << advice)) != 0)
                    task.SyscallOrThrow(Sys.madvise, (long)vma.Start, (long)(vma.End - vma.Start), advice);
        }
    }

    /// <summary>The kernel's vvar/vvar_vclock/vdso areas, which move (or go) together.</summary>
    static bool InKernelBlock(MapsEntry m) => m.Kind is MapKind.Vvar or MapKind.VvarVclock or MapKind.Vdso;
}
