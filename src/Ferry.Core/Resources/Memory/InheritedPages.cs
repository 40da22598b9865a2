using Ferry.Diagnostics;
using Ferry.Images.Protos;
using Ferry.Linux;
using Ferry.Restore;
using Ferry.Tracing;
using Microsoft.Win32.SafeHandles;

namespace Ferry.Resources.Memory;

/// <summary>
/// The memory a child husk got from its parent: the parent's memory was rebuilt before the child was cloned from it,
/// so the VMAs the two had in common (<see cref="InheritedAreas"/>) are there already, their pages shared
/// copy-on-write as they were before the dump. Such a VMA is kept; of its pages only those whose dumped bytes differ
/// from the inherited ones are written, and the pages the child did not have are dropped (MADV_DONTNEED: zero again
/// for anonymous memory, the file's page again for a private file mapping). This works for every image set: CRIU's,
/// which store a child's pages in full, are compared page by page, as CRIU itself does; Ferry's stored-once pages
/// (<see cref="InheritedAreas.InParentProcess"/>) are simply kept.
/// </summary>
internal sealed class InheritedPages
{
    static readonly ulong PageSize = (ulong)Environment.SystemPageSize;

    readonly TracedTask _task;
    readonly TaskImages _images;
    readonly TaskImages? _parent;

    readonly HashSet<vma_entry> _kept;

    InheritedPages(TracedTask task, TaskImages images, TaskImages? parent, List<vma_entry> areas)
    {
        _task = task;
        _images = images;
        _parent = parent;
        Areas = areas;
        _kept = areas.ToHashSet<vma_entry>(ReferenceEqualityComparer.Instance);
    }

    /// <summary>The child's VMAs to keep as the husk has them, sorted by address.</summary>
    public IReadOnlyList<vma_entry> Areas { get; }

    /// <param name="parent">The images of the process whose rebuilt memory the husk was cloned with; null for a fresh husk.</param>
    /// <param name="mapped">The husk's mappings now, sorted: a VMA is kept only if the husk has its whole range.</param>
    public static InheritedPages Find(TracedTask task, TaskImages images, TaskImages? parent, IReadOnlyList<(ulong Start, ulong End)> mapped)
    {
        var areas = parent is null ? [] : InheritedAreas.Of(images.Mm.Vmas, parent.Mm.Vmas).Where(v => Covered(mapped, v.Start, v.End)).ToList();
        var inherited = new InheritedPages(task, images, parent, areas);
        inherited.CheckParentRuns();
        return inherited;
    }

    public bool Contains(vma_entry vma) => _kept.Contains(vma);

    /// <summary>Whether the run lies in a kept VMA.</summary>
    public bool Contains(PageRange run)
    {
        int low = 0, high = Areas.Count - 1;
        while (low <= high)
        {
            int middle = (low + high) / 2;
            var vma = Areas[middle];
            if (run.Address < vma.Start) high = middle - 1;
            else if (run.Address >= vma.End) low = middle + 1;
            else return run.End <= vma.End;
        }
        return false;
    }

    /// <summary>The parts of [start, end) outside every kept VMA.</summary>
    public IEnumerable<(ulong Start, ulong End)> Outside(ulong start, ulong end)
    {
        foreach (var vma in Areas)
        {
            if (vma.End <= start) continue;
            if (vma.Start >= end) break;
            if (vma.Start > start) yield return (start, vma.Start);
            start = vma.End;
        }
        if (start < end) yield return (start, end);
    }

    /// <summary>Pages marked as the parent's must land in a VMA the child keeps; anything else is a broken image set.</summary>
    void CheckParentRuns()
    {
        // A run may span neighbouring VMAs (the pagemap merges consecutive pages): each part must be kept.
        foreach (var run in _images.Pages.ParentRuns.Where(r => Outside(r.Address, r.End).Any()))
            throw new FerryException($"pagemap-{_images.Pid}.img marks the pages at 0x{run.Address:x}-0x{run.End:x} as the parent process's, " +
                $"but {(_parent is null ? "process " + _images.Pid + " has no parent in the dump" : $"no VMA there is inherited from process {_parent.Pid}")}");
    }

    /// <summary>
    /// Of <paramref name="runs"/> (each inside a kept VMA) the pages whose dumped bytes differ from the inherited
    /// ones: only they need writing. The inherited page is the parent's as its images have it (its memory was rebuilt
    /// from them), so where the parent's pages image holds it the two images are compared, with no access to the task;
    /// where the parent's page is itself stored in an ancestor's images (--cow-pages-once) the task's memory is read
    /// (/proc/PID/mem: process_vm_readv would pin the page, and the kernel unshares a copy-on-write page pinned so);
    /// where the parent had no page (zero, or the file's), the dumped page is written without a look.
    /// </summary>
    public unsafe List<PageRange> Differing(IReadOnlyList<PageRange> runs, out ulong sameBytes)
    {
        sameBytes = 0;
        var differing = new List<PageRange>();
        if (runs.Count == 0 || _parent is null)
            return differing;
        using var dumped = MappedImage.Open(_images.Pages.PagesPath);
        using var inherited = MappedImage.Open(_parent.Pages.PagesPath);
        SafeFileHandle? memory = null;
        var here = new byte[PageSize];
        var parentRuns = _parent.Pages.Runs;
        var parentOnce = _parent.Pages.ParentRuns;
        int run = 0, once = 0;
        try
        {
            foreach (var piece in runs)
                for (ulong done = 0; done < piece.Length; done += PageSize)
                {
                    ulong address = piece.Address + done;
                    long offset = piece.FileOffset + (long)done;
                    var page = dumped.Page(offset);
                    while (run < parentRuns.Count && parentRuns[run].End <= address) run++;
                    while (once < parentOnce.Count && parentOnce[once].End <= address) once++;
                    bool same;
                    if (run < parentRuns.Count && parentRuns[run].Address <= address)
                        same = page.SequenceEqual(inherited.Page(parentRuns[run].FileOffset + (long)(address - parentRuns[run].Address)));
                    else if (once < parentOnce.Count && parentOnce[once].Address <= address)
                    {
                        memory ??= File.OpenHandle($"/proc/{_task.Pid}/mem", FileMode.Open, FileAccess.Read);
                        ReadFully(memory, here, (long)address, $"the memory of pid {_task.Pid}");
                        same = page.SequenceEqual(here);
                    }
                    else
                        same = false;
                    if (same)
                        sameBytes += PageSize;
                    else if (differing.Count > 0 && differing[^1].End == address && differing[^1].FileOffset + (long)differing[^1].Length == offset)
                        differing[^1] = differing[^1] with { Length = differing[^1].Length + PageSize };
                    else
                        differing.Add(new PageRange(address, PageSize, offset));
                }
        }
        finally
        {
            memory?.Dispose();
        }
        return differing;
    }

    /// <summary>A pages image mapped read-only, to compare pages straight from the page cache.</summary>
    sealed unsafe class MappedImage : IDisposable
    {
        readonly byte* _start;
        readonly long _length;

        MappedImage(byte* start, long length)
        {
            _start = start;
            _length = length;
        }

        public static MappedImage Open(string path)
        {
            using var file = File.OpenHandle(path);
            long length = RandomAccess.GetLength(file);
            if (length == 0)
                return new MappedImage(null, 0);
            nint mapping = LibC.mmap(0, (nuint)length, Mman.PROT_READ, Mman.MAP_PRIVATE, (int)file.DangerousGetHandle(), 0);
            if (mapping == -1)
                throw new FerryException($"cannot map {path}: {Errno.Name(System.Runtime.InteropServices.Marshal.GetLastPInvokeError())}");
            return new MappedImage((byte*)mapping, length);
        }

        /// <summary>The page at <paramref name="offset"/> (the pagemap was checked against the file's size when loaded).</summary>
        public ReadOnlySpan<byte> Page(long offset) =>
            offset >= 0 && offset + (long)PageSize <= _length ? new ReadOnlySpan<byte>(_start + offset, (int)PageSize)
                : throw new FerryException($"page at offset {offset} beyond the {_length} bytes of a pages image");

        public void Dispose()
        {
            if (_start != null)
                LibC.munmap((nint)_start, (nuint)_length);
        }
    }

    /// <summary>
    /// Drops the inherited pages the child did not have: those the parent had (its dumped or inherited pages) in a
    /// kept VMA where the child's images have none. Returns the bytes dropped.
    /// </summary>
    public ulong DropAbsent()
    {
        if (_parent is null || Areas.Count == 0)
            return 0;
        var parentPages = Sorted(_parent.Pages.Runs.Concat(_parent.Pages.ParentRuns).Select(r => (r.Address, r.End)));
        var kept = Sorted(Areas.Select(v => (v.Start, v.End)));
        var childPages = Sorted(_images.Pages.Runs.Concat(_images.Pages.ParentRuns).Select(r => (r.Address, r.End)));
        ulong dropped = 0;
        foreach (var (start, end) in Subtract(Intersect(parentPages, kept), childPages))
        {
            _task.SyscallOrThrow(Sys.madvise, (long)start, (long)(end - start), Mman.MADV_DONTNEED);
            dropped += end - start;
        }
        return dropped;
    }

    /// <summary>Address ranges sorted and merged.</summary>
    static List<(ulong Start, ulong End)> Sorted(IEnumerable<(ulong Start, ulong End)> ranges)
    {
        var merged = new List<(ulong Start, ulong End)>();
        foreach (var (start, end) in ranges.OrderBy(r => r.Start))
        {
            if (merged.Count > 0 && merged[^1].End >= start)
                merged[^1] = (merged[^1].Start, Math.Max(merged[^1].End, end));
            else
                merged.Add((start, end));
        }
        return merged;
    }

    static List<(ulong Start, ulong End)> Intersect(List<(ulong Start, ulong End)> a, List<(ulong Start, ulong End)> b)
    {
        var both = new List<(ulong Start, ulong End)>();
        for (int i = 0, j = 0; i < a.Count && j < b.Count;)
        {
            ulong start = Math.Max(a[i].Start, b[j].Start), end = Math.Min(a[i].End, b[j].End);
            if (start < end) both.Add((start, end));
            if (a[i].End < b[j].End) i++; else j++;
        }
        return both;
    }

    /// <summary>The parts of the ranges of <paramref name="a"/> outside every range of <paramref name="b"/>.</summary>
    static List<(ulong Start, ulong End)> Subtract(List<(ulong Start, ulong End)> a, List<(ulong Start, ulong End)> b)
    {
        var left = new List<(ulong Start, ulong End)>();
        int j = 0;
        foreach (var (start, end) in a)
        {
            ulong at = start;
            while (j < b.Count && b[j].End <= at) j++;
            for (int k = j; k < b.Count && b[k].Start < end; k++)
            {
                if (b[k].Start > at) left.Add((at, b[k].Start));
                at = Math.Max(at, b[k].End);
            }
            if (at < end) left.Add((at, end));
        }
        return left;
    }

    static bool Covered(IReadOnlyList<(ulong Start, ulong End)> mapped, ulong start, ulong end)
    {
        ulong at = start;
        foreach (var (from, to) in mapped)
            if (from <= at && to > at)
                at = to;
        return at >= end;
    }

    static void ReadFully(SafeFileHandle file, Span<byte> buffer, long offset, string what)
    {
        int done = 0;
        while (done < buffer.Length)
        {
            int n = RandomAccess.Read(file, buffer[done..], offset + done);
            if (n <= 0)
                throw new FerryException($"cannot read {buffer.Length} bytes of {what} at offset 0x{offset:x}");
            done += n;
        }
    }
}
