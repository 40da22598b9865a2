using System.Runtime.InteropServices;
using Ferry.Images.Protos;
using Ferry.Linux;
using Ferry.Procfs;

namespace Ferry.Resources.Memory;

/// <summary>A run of consecutive pages to save, all with the same pagemap flags.</summary>
internal record struct DumpRun(ulong Address, ulong Pages, uint Flags, bool Readable)
{
    public readonly ulong End => Address + Pages * PageScanner.PageSize;
}

/// <summary>
/// Decides from /proc/PID/pagemap which pages go into the images, following CRIU: pages of private VMAs that are
/// present or swapped and are not the shared zero page; in private file mappings only the pages that were
/// copied-on-write (not file pages); the vDSO whole; never vvar, vsyscall or guard regions. Anonymous private
/// pages are marked lazy (except the pages holding a thread's stack pointer), as CRIU marks them.
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

    public PageScanner(int pid, IReadOnlyList<vma_entry> vmas, IReadOnlyCollection<ulong> stackPointers)
    {
        _stackPages = stackPointers.Select(sp => sp & ~(PageSize - 1)).ToHashSet();
        // Not a managed array: one this large would make the GC commit a whole large-object region.
        var largest = vmas.Where(HasPrivatePages).Select(v => (v.End - v.Start) / PageSize).DefaultIfEmpty(1UL).Max();
        var batch = (int)Math.Min(BatchPages, largest);
        _pagemap = new PagemapReader(pid);
        _buffer = new LargeBuffer(batch * sizeof(ulong));
        _batches = Batches(vmas, batch).GetEnumerator();
    }

    /// <summary>The runs found so far, in address order.</summary>
    public List<DumpRun> Runs { get; } = new();

    /// <summary>Bytes of all pages in <see cref="Runs"/>.</summary>
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
            var flags = PagemapFlags.Present | (lazy && !_stackPages.Contains(address) ? PagemapFlags.Lazy : 0);
            Append(Runs, address, flags, readable);
            Bytes += (long)PageSize;
        }
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
