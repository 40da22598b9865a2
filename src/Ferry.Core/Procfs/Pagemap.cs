using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace Ferry.Procfs;

/// <summary>The bits of one /proc/PID/pagemap entry (one u64 per virtual page).</summary>
public static class PagemapBits
{
    public const ulong Present = 1UL << 63;
    public const ulong Swapped = 1UL << 62;
    /// <summary>The page is file-backed or shared-anonymous.</summary>
    public const ulong FileOrSharedAnon = 1UL << 61;
    /// <summary>The page is mapped exclusively (by this process only).</summary>
    public const ulong Exclusive = 1UL << 56;
    /// <summary>Soft-dirty. Always 0 on kernels without CONFIG_MEM_SOFT_DIRTY (like this project's machine).</summary>
    public const ulong SoftDirty = 1UL << 55;
    public const ulong PfnMask = (1UL << 55) - 1;

    public static bool IsPresent(ulong entry) => (entry & Present) != 0;
    public static bool IsSwapped(ulong entry) => (entry & Swapped) != 0;
    public static bool IsFileOrSharedAnon(ulong entry) => (entry & FileOrSharedAnon) != 0;
    public static bool IsExclusive(ulong entry) => (entry & Exclusive) != 0;
    public static bool IsSoftDirty(ulong entry) => (entry & SoftDirty) != 0;
    /// <summary>The page frame number (0 unless the reader has CAP_SYS_ADMIN); only meaningful when present.</summary>
    public static ulong Pfn(ulong entry) => entry & PfnMask;
}

/// <summary>
/// An open /proc/PID/pagemap. <see cref="Read"/> fills a caller buffer with the entries of consecutive pages
/// in one pread, so a whole VMA costs one syscall and no allocation.
/// </summary>
public sealed class PagemapReader : IDisposable
{
    public const int PageSize = 4096;
    readonly SafeFileHandle _handle;

    public int Pid { get; }

    public PagemapReader(int pid)
    {
        Pid = pid;
        try
        {
            _handle = File.OpenHandle(ProcFile.PathOf(pid, "pagemap"), FileMode.Open, FileAccess.Read);
        }
        catch (Exception e) when (ProcFile.IsMissingProcess(pid, e))
        {
            throw new ProcessNotFoundException(pid, e);
        }
    }

    /// <summary>
    /// Fills <paramref name="entries"/> with the entries of the pages starting at <paramref name="startAddress"/>
    /// (page aligned). Returns how many entries were read (fewer only at the end of the address space).
    /// </summary>
    public int Read(ulong startAddress, Span<ulong> entries)
    {
        if (startAddress % PageSize != 0)
            throw new ArgumentException($"address 0x{startAddress:x} is not page aligned", nameof(startAddress));
        var bytes = MemoryMarshal.AsBytes(entries);
        long offset = checked((long)(startAddress / PageSize * sizeof(ulong)));
        int total = 0;
        while (total < bytes.Length)
        {
            int n = RandomAccess.Read(_handle, bytes[total..], offset + total);
            if (n == 0) break;
            total += n;
        }
        return total / sizeof(ulong);
    }

    /// <summary>The entries of the pages in [start, end): one allocation, for callers that do not keep a buffer.</summary>
    public ulong[] Read(ulong start, ulong end)
    {
        var entries = new ulong[checked((int)((end - start) / PageSize))];
        int n = Read(start, entries);
        return n == entries.Length ? entries : entries[..n];
    }

    public void Dispose() => _handle.Dispose();
}
