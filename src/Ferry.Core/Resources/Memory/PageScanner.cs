using System.Runtime.InteropServices;
using Ferry.Images.Protos;
using Ferry.Linux;
using Ferry.Procfs;

namespace Ferry.Resources.Memory;

/// <summary>
/// A dumped process as its children's scan needs it: its VMAs and the physical page (PFN) of each page its dump picked,
/// by ascending address, taken before its pages were read. Reading them changes them: process_vm_readv pins the pages,
/// and the kernel gives a process a copy of its own of a copy-on-write page pinned that way (FOLL_PIN unshares).
/// </summary>
internal sealed record ForkParent(IReadOnlyList<vma_entry> Vmas, IReadOnlyList<(ulong Address, ulong Pfn)> Frames);

/// <summary>A run of consecutive pages to save, all with the same pagemap flags.</summary>
internal record struct DumpRun(ulong Address, ulong Pages, uint Flags, bool Readable)
{
    public readonly ulong End => Address + Pages * PageScanner.PageSize;

    /// <summary>Pages the parent's images hold: the pagemap names them, the pages image does not.</summary>
    public readonly bool InParent => (Flags & InheritedAreas.InParentProcess) != 0;
}

/// <summary>
/// Decides from /proc/PID/pagemap which pages go into the images, following CRIU: pages of private VMAs that are
/// present or swapped and are not the shared zero page; in private file mappings only the pages that were
/// copied-on-write (not file pages); the vDSO whole; never vvar, vsyscall or guard regions. Anonymous private
/// pages are marked lazy (except the pages holding a thread's stack pointer), as CRIU marks them. Given the fork
/// parent (dumped before), a page that is the very page the parent has at the same address (the same PFN, in a VMA
/// both have from the fork: <see cref="InheritedAreas"/>) is marked as the parent's instead of being saved again.
/// The scan goes batch by batch (<see cref="ScanMore"/>), so copying can start on the runs found so far: runs only
/// ever grow at the end (the last run may still get longer), so what has been found stays valid.
/// </summary>
internal sealed unsafe class PageScanner : IDisposable
{
    public const ulong PageSize = 4096;
    const ulong Present = 1UL << 63, Swapped = 1UL << 62, FilePage = 1UL << 61, GuardRegion = 1UL << 58;
    const ulong PfnMask = (1UL << 55) - 1;
    const int BatchPages = 1 << 14; // 64 MiB of address space per pagemap read (128 KiB of entries)

    static readonly Lazy<ulong> ZeroPagePfn = new(FindZeroPagePfn);

    readonly ulong _zero = ZeroPagePfn.Value;
    readonly HashSet<ulong> _stackPages;
    readonly PagemapReader _pagemap;
    readonly LargeBuffer _buffer;
    readonly IEnumerator<(vma_entry Vma, ulong Start, int Pages)> _batches;
    readonly HashSet<vma_entry> _inherited;
    readonly IReadOnlyList<(ulong Address, ulong Pfn)> _parentFrames;
    int _parentFrame; // cursor into _parentFrames: addresses only grow
    readonly List<(ulong Address, ulong Pfn)>? _frames;

    /// <param name="parent">The fork parent whose pages are stored once, or null.</param>
    /// <param name="frames">When not null, receives the PFN of each page picked, for the scans of this process's children.</param>
    public PageScanner(int pid, IReadOnlyList<vma_entry> vmas, IReadOnlyCollection<ulong> stackPointers,
        ForkParent? parent = null, List<(ulong Address, ulong Pfn)>? frames = null)
    {
        _inherited = parent is null ? [] : InheritedAreas.Of(vmas, parent.Vmas).ToHashSet();
        _parentFrames = parent?.Frames ?? [];
        _frames = frames;
        _stackPages = stackPointers.Select(sp => sp & ~(PageSize - 1)).ToHashSet();
        // Not a managed array: one this large would make the GC commit a whole large-object region.
        var largest = vmas.Where(HasPrivatePages).Select(v => (v.End - v.Start) / PageSize).DefaultIfEmpty(1UL).Max();
        var batch = (int)Math.Min(BatchPages, largest);
        _pagemap = new PagemapReader(pid);
        _buffer = new LargeBuffer(batch * sizeof(ulong));
        _batches = Batches(vmas, batch).GetEnumerator();
    }

    /// <summary>The runs found so far, in address order: what the pagemap image lists.</summary>
    public List<DumpRun> Runs { get; } = new();

    /// <summary>The runs of <see cref="Runs"/> whose pages the pages image holds (not the parent's).</summary>
    public List<DumpRun> Stored { get; } = new();

    /// <summary>Bytes of all pages in <see cref="Stored"/>.</summary>
    public long Bytes { get; private set; }

    public bool Done { get; private set; }

    /// <summary>Scans the next batch of pages; false once every VMA is scanned.</summary>
    public bool ScanMore()
    {
        if (Done) return false;
        if (!_batches.MoveNext())
        {
            Done = true;
            return false;
        }
        var (vma, start, pages) = _batches.Current;
        ScanBatch(vma, start, new Span<ulong>(_buffer.Pointer, pages));
        return true;
    }

    static IEnumerable<(vma_entry Vma, ulong Start, int Pages)> Batches(IReadOnlyList<vma_entry> vmas, int batch)
    {
        foreach (var vma in vmas)
        {
            if (!HasPrivatePages(vma)) continue;
            for (var start = vma.Start; start < vma.End; start += (ulong)batch * PageSize)
                yield return (vma, start, (int)Math.Min((ulong)batch, (vma.End - start) / PageSize));
        }
    }

    void ScanBatch(vma_entry vma, ulong start, Span<ulong> entries)
    {
        var dumpAll = (vma.Status & VmaStatus.Vdso) != 0;
        var filePrivate = (vma.Status & VmaStatus.FilePrivate) != 0;
        var lazy = CanBeLazy(vma);
        var readable = (vma.Prot & Mman.PROT_READ) != 0;
        var fromParent = _inherited.Contains(vma);
        var read = _pagemap.Read(start, entries);
        for (var i = 0; i < read; i++)
        {
            var pme = entries[i];
            var address = start + (ulong)i * PageSize;
            if (!dumpAll)
            {
                if ((pme & GuardRegion) != 0) continue;
                if (filePrivate && (pme & FilePage) != 0) continue;
                if ((pme & (Present | Swapped)) == 0 || ((pme & Present) != 0 && (pme & PfnMask) == _zero)) continue;
            }
            if ((pme & Present) != 0) _frames?.Add((address, pme & PfnMask));
            if (fromParent && IsParentFrame(address, pme))
            {
                Append(Runs, address, PagemapFlags.Parent | InheritedAreas.InParentProcess, readable);
                continue;
            }
            var flags = PagemapFlags.Present | (lazy && !_stackPages.Contains(address) ? PagemapFlags.Lazy : 0);
            Append(Runs, address, flags, readable);
            Append(Stored, address, flags, readable);
            Bytes += (long)PageSize;
        }
    }

    /// <summary>
    /// Whether the page at <paramref name="address"/> is the physical page the parent had there (the PFN reads as 0
    /// without CAP_SYS_ADMIN: never the same then).
    /// </summary>
    bool IsParentFrame(ulong address, ulong pme)
    {
        while (_parentFrame < _parentFrames.Count && _parentFrames[_parentFrame].Address < address) _parentFrame++;
        return (pme & Present) != 0 && (pme & PfnMask) != 0 && _parentFrame < _parentFrames.Count
            && _parentFrames[_parentFrame].Address == address && _parentFrames[_parentFrame].Pfn == (pme & PfnMask);
    }

    public void Dispose()
    {
        _batches.Dispose();
        _pagemap.Dispose();
        _buffer.Dispose();
    }

    static void Append(List<DumpRun> runs, ulong address, uint flags, bool readable)
    {
        if (runs.Count > 0)
        {
            var last = runs[^1];
            if (last.End == address && last.Flags == flags && last.Readable == readable)
            {
                runs[^1] = last with { Pages = last.Pages + 1 };
                return;
            }
        }
        runs.Add(new DumpRun(address, 1, flags, readable));
    }

    /// <summary>
    /// Private memory whose pages are the task's own; not MAP_DROPPABLE memory, which the kernel may zero whenever it
    /// likes, so it comes back empty (as CRIU does it).
    /// </summary>
    static bool HasPrivatePages(vma_entry vma) =>
        (vma.Status & (VmaStatus.AnonPrivate | VmaStatus.FilePrivate)) != 0
        && (vma.Status & (VmaStatus.Vsyscall | VmaStatus.Vvar)) == 0
        && (vma.Flags & MapDroppable) == 0;

    const uint MapDroppable = 0x08;

    static bool CanBeLazy(vma_entry vma) =>
        (vma.Flags & Mman.MAP_ANONYMOUS) != 0 && (vma.Flags & Mman.MAP_PRIVATE) != 0
        && (vma.Flags & (0x2000 /* MAP_LOCKED */ | 0x40000 /* MAP_HUGETLB */)) == 0
        && (vma.Status & (VmaStatus.Vdso | VmaStatus.Vvar | VmaStatus.Vsyscall)) == 0;

    /// <summary>The PFN of the kernel's shared zero page: read an untouched anonymous page here and look it up.</summary>
    static unsafe ulong FindZeroPagePfn()
    {
        var page = LibC.syscall(Sys.mmap, 0, (long)PageSize, Mman.PROT_READ, Mman.MAP_PRIVATE | Mman.MAP_ANONYMOUS, -1, 0);
        if (page < 0 && page > -4096) throw LinuxException.FromLastError("mmap");
        try
        {
            _ = System.Threading.Volatile.Read(ref *(byte*)page);
            using var self = new PagemapReader(Environment.ProcessId);
            Span<ulong> entry = stackalloc ulong[1];
            self.Read((ulong)page, entry);
            return (entry[0] & Present) != 0 ? entry[0] & PfnMask : ulong.MaxValue;
        }
        finally
        {
            LibC.syscall(Sys.munmap, page, (long)PageSize, 0, 0, 0, 0);
        }
    }
}
