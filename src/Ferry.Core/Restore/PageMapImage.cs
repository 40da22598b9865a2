using Ferry.Images;
using Ferry.Images.Protos;

namespace Ferry.Restore;

/// <summary>A run of dumped pages: where they go and where their bytes are in pages-ID.img.</summary>
/// <param name="FileOffset">Offset in the pages file, or -1 when the run has no data there (a hole).</param>
public readonly record struct PageRange(ulong Address, ulong Length, long FileOffset)
{
    public ulong End => Address + Length;
}

/// <summary>pagemap-PID.img checked against the VMAs and the size of its pages-ID.img.</summary>
public sealed class PageMapImage
{
    const uint PeParent = 1, PePresent = 4;

    PageMapImage(string pagesPath, IReadOnlyList<PageRange> runs, IReadOnlyList<PageRange> parentRuns)
    {
        PagesPath = pagesPath;
        Runs = runs;
        ParentRuns = parentRuns;
    }

    /// <summary>The pages-ID.img this pagemap points into.</summary>
    public string PagesPath { get; }

    /// <summary>Runs with data, in pagemap order (ascending addresses).</summary>
    public IReadOnlyList<PageRange> Runs { get; }

    /// <summary>
    /// Runs whose pages are the parent process's, stored once in the parent's images (Ferry's
    /// <see cref="Resources.Memory.InheritedAreas.InParentProcess"/> marking); their FileOffset is -1.
    /// </summary>
    public IReadOnlyList<PageRange> ParentRuns { get; }

    public ulong PresentBytes => Runs.Aggregate(0UL, (sum, run) => sum + run.Length);

    internal static PageMapImage Load(DumpSet.Loader set, uint pid, mm_entry mm)
    {
        int vma = 0;
        return Load(set, $"pagemap-{pid}.img", $"inside the VMAs of mm-{pid}.img", ofProcess: true, (start, end) =>
        {
            while (vma < mm.Vmas.Count && mm.Vmas[vma].End <= start)
                vma++;
            return Covered(mm, vma, start, end);
        });
    }

    /// <summary>
    /// pagemap-shmem-SHMID.img of shared anonymous memory: its addresses are offsets in the shared object, which
    /// is <paramref name="size"/> bytes long.
    /// </summary>
    internal static PageMapImage LoadShmem(DumpSet.Loader set, ulong shmid, ulong size) =>
        Load(set, $"pagemap-shmem-{shmid}.img", $"inside the {size} bytes of the shared memory", ofProcess: false, (_, end) => end <= size);

    static PageMapImage Load(DumpSet.Loader set, string name, string where, bool ofProcess, Func<ulong, ulong, bool> inside)
    {
        var entries = set.Entries(name, ImageKinds.Pagemap, optional: false);
        if (entries.Count == 0)
            throw set.Defect(name, 0, "a pagemap_head entry");
        uint pagesId = entries[0].As<pagemap_head>().PagesId;
        string pagesName = $"pages-{pagesId}.img";
        string pagesPath = Path.Combine(set.Directory, pagesName);

        ulong pageSize = (ulong)Environment.SystemPageSize;
        var runs = new List<PageRange>();
        var parentRuns = new List<PageRange>();
        long offset = 0;
        ulong previousEnd = 0;
        foreach (var entry in entries.Skip(1))
        {
            var pe = entry.As<pagemap_entry>();
            ulong pages = pe.HasNrPages ? pe.NrPages : pe.CompatNrPages;
            uint flags = pe.HasFlags ? pe.Flags : PePresent;
            if (pe.Vaddr % pageSize != 0 || pages == 0 || pages > (ulong.MaxValue - pe.Vaddr) / pageSize || pe.Vaddr < previousEnd)
                throw set.Defect(name, entry.Offset, $"page-aligned, ascending, non-empty runs, found {pages} pages at 0x{pe.Vaddr:x}");
            bool inParentProcess = (flags & Resources.Memory.InheritedAreas.InParentProcess) != 0;
            if (((flags & PeParent) != 0 || pe.InParent) && !inParentProcess)
                throw set.Defect(name, entry.Offset, "pages in this dump (pages in a parent dump, --prev-images-dir, are not supported)");
            ulong end = pe.Vaddr + pages * pageSize;
            if (!inside(pe.Vaddr, end))
                throw set.Defect(name, entry.Offset, $"pages 0x{pe.Vaddr:x}-0x{end:x} {where}");
            previousEnd = end;
            if (inParentProcess)
            {
                if ((flags & PePresent) != 0 || !ofProcess)
                    throw set.Defect(name, entry.Offset, !ofProcess
                        ? $"pages of this dump only (the pages at 0x{pe.Vaddr:x} are marked as the parent process's)"
                        : $"pages at 0x{pe.Vaddr:x} either present here or the parent process's, not both");
                parentRuns.Add(new PageRange(pe.Vaddr, end - pe.Vaddr, -1));
                continue;
            }
            if ((flags & PePresent) == 0)
                continue;
            runs.Add(new PageRange(pe.Vaddr, end - pe.Vaddr, offset));
            offset += (long)(end - pe.Vaddr);
        }

        long size = File.Exists(pagesPath) ? new FileInfo(pagesPath).Length : -1;
        if (size < offset)
            throw new ImageFormatException(pagesPath, Math.Max(size, 0), size < 0
                ? $"a pages image of {offset} bytes for {name}"
                : $"{offset} bytes of pages for {name}, but the file has {size}");
        return new PageMapImage(pagesPath, runs, parentRuns);
    }

    /// <summary>Whether VMAs from index <paramref name="vma"/> on cover [start, end) without a gap (a run may span neighbours).</summary>
    static bool Covered(mm_entry mm, int vma, ulong start, ulong end)
    {
        ulong at = start;
        for (; vma < mm.Vmas.Count && at < end; vma++)
        {
            if (mm.Vmas[vma].Start > at)
                return false;
            at = mm.Vmas[vma].End;
        }
        return at >= end;
    }
}
