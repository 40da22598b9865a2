using Ferry.Images.Protos;
using Microsoft.Win32.SafeHandles;

namespace Ferry.Images;

/// <summary>Receives a piece of dumped memory: <paramref name="data"/> was at <paramref name="address"/>.</summary>
public delegate void PageDataHandler(ulong address, ReadOnlySpan<byte> data);

/// <summary>
/// The dumped memory of one process: pagemap-&lt;pid&gt;.img (runs of pages) over pages-&lt;id&gt;.img (the data of the
/// present runs, concatenated in pagemap order). Validated on open: runs are page-aligned, ascending and disjoint,
/// and the present runs add up to exactly the size of the pages file.
/// </summary>
public sealed class PageMap : IDisposable
{
    /// <summary>Chunk size of the sequential path: large enough that a read costs little besides the copy.</summary>
    public const int DefaultChunkSize = 8 << 20;

    private readonly PageRun[] runs;
    private readonly SafeFileHandle pages;
    private readonly string pagesName;

    /// <summary>Name of the link from a dump directory to the previous dump of a chain (CRIU's --prev-images-dir).</summary>
    public const string ParentLink = "parent";

    /// <summary>Bounds a chain of parent dumps, so that a link loop cannot recurse forever.</summary>
    private const int MaxParentDepth = 64;

    private readonly string pagemapPath;
    private readonly int depth;
    private PageMap? parent;

    private PageMap(string pagemapPath, int depth, uint pagesId, PageRun[] runs, long presentBytes, SafeFileHandle pages, string pagesName)
    {
        this.pagemapPath = pagemapPath;
        this.depth = depth;
        PagesId = pagesId;
        PresentBytes = presentBytes;
        this.runs = runs;
        this.pages = pages;
        this.pagesName = pagesName;
    }

    /// <summary>Opens the pagemap at <paramref name="pagemapPath"/> and the pages image it names, in the same directory.</summary>
    public static PageMap Open(string pagemapPath) => Open(pagemapPath, depth: 0);

    private static PageMap Open(string pagemapPath, int depth)
    {
        using var reader = ImageReader.Open(pagemapPath);
        if (reader.Kind != ImageKinds.Pagemap)
            throw new ImageFormatException(pagemapPath, 4, $"a PAGEMAP image, found {reader.Kind.Name}");
        var head = reader.ReadMessage<pagemap_head>()
            ?? throw new ImageFormatException(pagemapPath, reader.Position, "a pagemap_head entry");

        var runs = new List<PageRun>();
        long pagesOffset = 0;
        ulong previousEnd = 0;
        while (reader.ReadEntry() is { } entry)
        {
            var run = ToRun((pagemap_entry)entry.Message, pagesOffset);
            if (run.Address % PageRun.PageSize != 0 || run.PageCount == 0
                || run.PageCount > (ulong.MaxValue - run.Address) / PageRun.PageSize)
                throw new ImageFormatException(pagemapPath, entry.Offset,
                    $"a page-aligned, non-empty run inside the address space (vaddr 0x{run.Address:x}, {run.PageCount} pages)");
            if (run.Address < previousEnd)
                throw new ImageFormatException(pagemapPath, entry.Offset,
                    $"runs in ascending address order (vaddr 0x{run.Address:x} is below 0x{previousEnd:x})");
            if (run.IsPresent)
            {
                if (run.Length > (ulong)(long.MaxValue - pagesOffset))
                    throw new ImageFormatException(pagemapPath, entry.Offset, "present runs of less than 2^63 bytes in total");
                pagesOffset += (long)run.Length;
            }
            previousEnd = run.End;
            runs.Add(run);
        }

        string pagesPath = Path.Combine(Path.GetDirectoryName(pagemapPath) ?? ".", ImageNames.Pages(head.PagesId));
        SafeFileHandle pages;
        try
        {
            pages = File.OpenHandle(pagesPath, FileMode.Open, FileAccess.Read);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new ImageFormatException(pagesPath, 0, $"a readable pages image ({e.Message})", e);
        }
        long size = RandomAccess.GetLength(pages);
        if (size != pagesOffset)
        {
            pages.Dispose();
            throw new ImageFormatException(pagesPath, Math.Min(size, pagesOffset),
                $"{pagesOffset} bytes of page data as the pagemap describes, found {size}");
        }
        return new PageMap(pagemapPath, depth, head.PagesId, [.. runs], pagesOffset, pages, pagesPath);
    }

    /// <summary>The id of the pages image (pages-&lt;id&gt;.img).</summary>
    public uint PagesId { get; }

    /// <summary>All runs in ascending address order, present or not.</summary>
    public ReadOnlySpan<PageRun> Runs => runs;

    /// <summary>Total bytes of page data in the pages image.</summary>
    public long PresentBytes { get; }

    /// <summary>
    /// Copies dumped memory starting at <paramref name="address"/> into <paramref name="destination"/>, across adjacent
    /// runs with data here (PE_PRESENT) or in the parent dump (PE_PARENT). Returns the bytes copied: fewer than asked
    /// when the range reaches memory without data (0 if <paramref name="address"/> has none).
    /// </summary>
    public int Read(ulong address, Span<byte> destination)
    {
        int copied = 0;
        int index = FindRun(address);
        while (copied < destination.Length && index < runs.Length)
        {
            PageRun run = runs[index];
            bool inParent = (run.Flags & PageMapFlags.Parent) != 0;
            if (!(run.IsPresent || inParent) || address < run.Address || address >= run.End)
                break;
            ulong intoRun = address - run.Address;
            int count = (int)Math.Min((ulong)(destination.Length - copied), run.Length - intoRun);
            if (run.IsPresent)
                ReadPages(run.PagesOffset + (long)intoRun, destination.Slice(copied, count));
            else
                ReadFromParent(address, destination.Slice(copied, count));
            copied += count;
            address += (ulong)count;
            index++;
        }
        return copied;
    }

    /// <summary>
    /// Streams all page data of this dump (PE_PRESENT runs; not PE_PARENT ones) in pagemap order, reading the pages image sequentially in large chunks and
    /// handing each piece (never crossing a run) to <paramref name="handler"/>. The span is valid only during the call.
    /// </summary>
    public void ReadAll(PageDataHandler handler, int chunkSize = DefaultChunkSize)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(chunkSize, PageRun.PageSize);
        byte[] buffer = GC.AllocateUninitializedArray<byte>(chunkSize);
        long fileOffset = 0;
        int index = NextPresent(0);
        ulong intoRun = 0;
        while (fileOffset < PresentBytes)
        {
            int count = (int)Math.Min(buffer.Length, PresentBytes - fileOffset);
            Span<byte> chunk = buffer.AsSpan(0, count);
            ReadPages(fileOffset, chunk);
            fileOffset += count;
            while (!chunk.IsEmpty)
            {
                PageRun run = runs[index];
                int piece = (int)Math.Min((ulong)chunk.Length, run.Length - intoRun);
                handler(run.Address + intoRun, chunk[..piece]);
                chunk = chunk[piece..];
                intoRun += (ulong)piece;
                if (intoRun == run.Length)
                {
                    index = NextPresent(index + 1);
                    intoRun = 0;
                }
            }
        }
    }

    public void Dispose()
    {
        pages.Dispose();
        parent?.Dispose();
    }

    /// <summary>PE_PARENT data lives in the same pagemap of the previous dump, reached through the parent link.</summary>
    private void ReadFromParent(ulong address, Span<byte> destination)
    {
        if (parent is null)
        {
            string path = Path.Combine(Path.GetDirectoryName(pagemapPath) ?? ".", ParentLink, Path.GetFileName(pagemapPath));
            if (depth >= MaxParentDepth)
                throw new ImageFormatException(path, 0, $"a chain of at most {MaxParentDepth} parent dumps");
            parent = Open(path, depth + 1);
        }
        if (parent.Read(address, destination) != destination.Length)
            throw new ImageFormatException(parent.pagemapPath, 0,
                $"parent data for the {destination.Length} bytes at 0x{address:x} that the child marks PE_PARENT");
    }

    private static PageRun ToRun(pagemap_entry entry, long pagesOffset)
    {
        // Images from older CRIU lack flags (present unless in_parent) and nr_pages (compat_nr_pages holds it).
        var flags = entry.HasInParent && entry.InParent ? PageMapFlags.Parent | (PageMapFlags)entry.Flags
            : entry.HasFlags ? (PageMapFlags)entry.Flags
            : PageMapFlags.Present;
        ulong count = entry.HasNrPages ? entry.NrPages : entry.CompatNrPages;
        bool present = (flags & PageMapFlags.Present) != 0;
        return new PageRun(entry.Vaddr, count, flags, present ? pagesOffset : -1);
    }

    /// <summary>Index of the run containing <paramref name="address"/>, or of the first run after it.</summary>
    private int FindRun(ulong address)
    {
        int low = 0, high = runs.Length - 1;
        while (low <= high)
        {
            int mid = (low + high) >>> 1;
            if (runs[mid].End <= address)
                low = mid + 1;
            else if (runs[mid].Address > address)
                high = mid - 1;
            else
                return mid;
        }
        return low;
    }

    private int NextPresent(int index)
    {
        while (index < runs.Length && !runs[index].IsPresent)
            index++;
        return index;
    }

    private void ReadPages(long offset, Span<byte> destination)
    {
        while (!destination.IsEmpty)
        {
            int got = RandomAccess.Read(pages, destination, offset);
            if (got == 0)
                throw new ImageFormatException(pagesName, offset, $"{destination.Length} more bytes of page data (the file shrank)");
            destination = destination[got..];
            offset += got;
        }
    }
}
