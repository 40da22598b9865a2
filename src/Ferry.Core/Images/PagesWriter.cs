using Ferry.Images.Protos;
using Microsoft.Win32.SafeHandles;

namespace Ferry.Images;

/// <summary>
/// Dump side of <see cref="PageMap"/>: appends page data to pages-&lt;id&gt;.img and records the runs, then writes
/// pagemap-&lt;pid&gt;.img on <see cref="Complete"/>. Small appends are gathered in one buffer and written in large
/// blocks; appends at least as large as the buffer go straight to the file. Nothing is allocated per page.
/// </summary>
public sealed class PagesWriter : IDisposable
{
    public const int DefaultBufferSize = 4 << 20;

    private readonly FileStream pagesFile;
    private readonly SafeFileHandle pages;
    private readonly string pagemapPath;
    private readonly uint pagesId;
    private readonly byte[] buffer;
    private readonly List<pagemap_entry> entries = [];
    private int buffered;
    private long fileOffset;
    private ulong lastEnd;
    private bool completed;

    /// <summary>Creates pages-&lt;pagesId&gt;.img in <paramref name="directory"/>; the pagemap goes to pagemap-&lt;pid&gt;.img.</summary>
    public static PagesWriter Create(string directory, int pid, uint pagesId, int bufferSize = DefaultBufferSize) =>
        new(Path.Combine(directory, ImageNames.Pagemap(pid)), Path.Combine(directory, ImageNames.Pages(pagesId)), pagesId, bufferSize);

    /// <summary>Writes to the given paths (for pagemap-shmem and other layouts).</summary>
    public PagesWriter(string pagemapPath, string pagesPath, uint pagesId, int bufferSize = DefaultBufferSize)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(bufferSize, PageRun.PageSize);
        this.pagemapPath = pagemapPath;
        this.pagesId = pagesId;
        buffer = GC.AllocateUninitializedArray<byte>(bufferSize);
        pagesFile = ImageWriter.CreateFile(pagesPath);
        pages = pagesFile.SafeFileHandle;
    }

    /// <summary>Bytes of page data appended so far.</summary>
    public long PresentBytes => fileOffset + buffered;

    /// <summary>
    /// Starts a run with the data of whole pages at <paramref name="address"/> (PE_PRESENT, plus
    /// <paramref name="extraFlags"/> such as PE_LAZY). Addresses must ascend. Each call makes one pagemap entry, as
    /// CRIU makes one per dumped range (adjacent VMAs stay separate runs); use <see cref="ExtendRun"/> to add more
    /// pages to the same run.
    /// </summary>
    public void AddPresent(ulong address, ReadOnlySpan<byte> data, PageMapFlags extraFlags = PageMapFlags.None)
    {
        AddRun(address, PageCount(data), PageMapFlags.Present | extraFlags);
        Append(data);
    }

    /// <summary>Appends the pages that directly follow the last run, which must be present, to that run.</summary>
    public void ExtendRun(ReadOnlySpan<byte> data)
    {
        ObjectDisposedException.ThrowIf(completed, this);
        if (entries.Count == 0 || (entries[^1].Flags & (uint)PageMapFlags.Present) == 0)
            throw new InvalidOperationException("there is no present run to extend");
        ulong count = PageCount(data);
        if (count > (ulong.MaxValue - lastEnd) / PageRun.PageSize)
            throw new ArgumentException("the run would pass the end of the address space", nameof(data));
        entries[^1].NrPages += count;
        lastEnd += count * PageRun.PageSize;
        Append(data);
    }

    /// <summary>
    /// Adds the pages of <paramref name="data"/> (at <paramref name="address"/>) that are not all zeros, as CRIU stores
    /// the contents of shared objects: a page right after the last present run extends it, any other starts a run.
    /// </summary>
    public void AddNonZeroPages(ulong address, ReadOnlySpan<byte> data)
    {
        PageCount(data);
        for (int page = 0; page < data.Length; page += PageRun.PageSize)
        {
            var bytes = data.Slice(page, PageRun.PageSize);
            if (!bytes.ContainsAnyExcept((byte)0))
                continue;
            ulong at = address + (ulong)page;
            if (at == lastEnd && entries.Count > 0 && (entries[^1].Flags & (uint)PageMapFlags.Present) != 0)
                ExtendRun(bytes);
            else
                AddPresent(at, bytes);
        }
    }

    /// <summary>Records a run without data here (PE_PARENT or PE_LAZY only).</summary>
    public void AddAbsent(ulong address, ulong pageCount, PageMapFlags flags)
    {
        if ((flags & PageMapFlags.Present) != 0)
            throw new ArgumentException("a run without data cannot be PE_PRESENT", nameof(flags));
        AddRun(address, pageCount, flags);
    }

    /// <summary>Flushes the page data and writes the pagemap image.</summary>
    public void Complete()
    {
        ObjectDisposedException.ThrowIf(completed, this);
        Flush();
        using var writer = ImageWriter.Create(pagemapPath, ImageKinds.Pagemap);
        writer.Write(new pagemap_head { PagesId = pagesId });
        foreach (var entry in entries)
            writer.Write(entry);
        completed = true;
    }

    public void Dispose() => pagesFile.Dispose();

    private void AddRun(ulong address, ulong pageCount, PageMapFlags flags)
    {
        ObjectDisposedException.ThrowIf(completed, this);
        if (address % PageRun.PageSize != 0 || pageCount == 0 || pageCount > (ulong.MaxValue - address) / PageRun.PageSize)
            throw new ArgumentException($"run at 0x{address:x} of {pageCount} pages is not a page-aligned, non-empty range", nameof(address));
        if (address < lastEnd)
            throw new ArgumentException($"runs must ascend: 0x{address:x} is below 0x{lastEnd:x}", nameof(address));

        entries.Add(new pagemap_entry { Vaddr = address, CompatNrPages = 0, Flags = (uint)flags, NrPages = pageCount });
        lastEnd = address + pageCount * PageRun.PageSize;
    }

    private static ulong PageCount(ReadOnlySpan<byte> data) =>
        data.Length % PageRun.PageSize == 0
            ? (ulong)data.Length / PageRun.PageSize
            : throw new ArgumentException($"page data must be whole pages, got {data.Length} bytes", nameof(data));

    private void Append(ReadOnlySpan<byte> data)
    {
        if (buffered + data.Length <= buffer.Length)
        {
            data.CopyTo(buffer.AsSpan(buffered));
            buffered += data.Length;
            return;
        }
        Flush();
        if (data.Length >= buffer.Length)
        {
            RandomAccess.Write(pages, data, fileOffset);
            fileOffset += data.Length;
        }
        else
        {
            data.CopyTo(buffer);
            buffered = data.Length;
        }
    }

    private void Flush()
    {
        if (buffered == 0)
            return;
        RandomAccess.Write(pages, buffer.AsSpan(0, buffered), fileOffset);
        fileOffset += buffered;
        buffered = 0;
    }
}
