using Ferry.Linux;

namespace Ferry.Resources.Memory;

/// <summary>
/// A large anonymous buffer backed by transparent huge pages where the kernel allows (MADV_HUGEPAGE): filling
/// 32 MiB then costs 16 page faults instead of 8192, which matters when every fault of fresh memory is slow
/// (as in a virtual machine whose memory the host hands out lazily).
/// </summary>
internal sealed unsafe class LargeBuffer : IDisposable
{
    const long HugePage = 2 << 20;
    readonly long _mapped;

    public LargeBuffer(long size)
    {
        // Small buffers stay in small pages: a huge page would zero 2 MiB to hold a few kilobytes.
        var huge = size >= HugePage;
        _mapped = huge ? (size + HugePage - 1) / HugePage * HugePage : (size + Mman.PageSize - 1) / Mman.PageSize * Mman.PageSize;
        var address = LibC.syscall(Sys.mmap, 0, _mapped, Mman.PROT_READ | Mman.PROT_WRITE, Mman.MAP_PRIVATE | Mman.MAP_ANONYMOUS, -1, 0);
        if (address < 0) throw LinuxException.FromLastError("mmap of a copy buffer");
        if (huge) LibC.syscall(Sys.madvise, address, _mapped, Mman.MADV_HUGEPAGE, 0, 0, 0); // a hint: failure only costs speed
        Pointer = (byte*)address;
        Size = size;
    }

    public byte* Pointer { get; private set; }
    public long Size { get; }

    public void Dispose()
    {
        if (Pointer == null) return;
        LibC.syscall(Sys.munmap, (long)Pointer, _mapped, 0, 0, 0, 0);
        Pointer = null;
    }
}
