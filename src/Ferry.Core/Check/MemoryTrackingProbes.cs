using System.Buffers.Binary;
using System.Runtime.InteropServices;
using Ferry.Linux;

namespace Ferry.Check;

/// <summary>Probes of userfaultfd, PAGEMAP_SCAN with uffd write-protect-async, and soft-dirty bits.</summary>
internal static unsafe class MemoryTrackingProbes
{
    public static string Userfaultfd()
    {
        var fd = OpenUffd(out var how);
        try
        {
            var api = new UffdioApi { api = Uffd.UFFD_API };
            if (LibC.ioctl(fd, Uffd.UFFDIO_API, &api) < 0) throw LinuxException.FromLastError("ioctl(UFFDIO_API)");
            var features = api.features;
            var names = Enumerable.Range(0, 64).Where(bit => (features & (1UL << bit)) != 0)
                .Select(bit => bit < Uffd.FeatureNames.Length ? Uffd.FeatureNames[bit] : $"bit{bit}");
            return $"{how}; features 0x{features:x}: {string.Join(' ', names)}";
        }
        finally
        {
            LibC.close(fd);
        }
    }

    public static string PageMapScanWpAsync()
    {
        const int pages = 16, written = 3;
        var size = (nuint)(pages * Mman.PageSize);
        var area = LibC.mmap(0, size, Mman.PROT_READ | Mman.PROT_WRITE, Mman.MAP_PRIVATE | Mman.MAP_ANONYMOUS, -1, 0);
        if (area == -1) throw LinuxException.FromLastError("mmap");
        var uffd = -1;
        try
        {
            uffd = OpenUffd(out _);
            // Without WP_ASYNC a write to a write-protected page would wait for a fault handler: never register then.
            var api = new UffdioApi { api = Uffd.UFFD_API, features = Uffd.FEATURE_WP_UNPOPULATED | Uffd.FEATURE_WP_ASYNC };
            if (LibC.ioctl(uffd, Uffd.UFFDIO_API, &api) < 0) throw LinuxException.FromLastError("ioctl(UFFDIO_API, WP_UNPOPULATED|WP_ASYNC)");
            var register = new UffdioRegister { start = (ulong)area, len = size, mode = Uffd.UFFDIO_REGISTER_MODE_WP };
            if (LibC.ioctl(uffd, Uffd.UFFDIO_REGISTER, &register) < 0) throw LinuxException.FromLastError("ioctl(UFFDIO_REGISTER, MODE_WP)");

            using var pagemap = LibC.open("/proc/self/pagemap", OpenFlags.O_RDONLY | OpenFlags.O_CLOEXEC, 0);
            if (pagemap.IsInvalid) throw LinuxException.FromLastError("open /proc/self/pagemap");
            var fd = (int)pagemap.DangerousGetHandle();
            Scan(fd, area, size, PageMapScan.PM_SCAN_WP_MATCHING | PageMapScan.PM_SCAN_CHECK_WPASYNC); // write-protect all
            ((byte*)area)[written * Mman.PageSize + 5] = 42;
            var dirty = Scan(fd, area, size, 0);
            var expected = new PageRegion { start = (ulong)area + written * (ulong)Mman.PageSize, end = (ulong)area + (written + 1) * (ulong)Mman.PageSize };
            if (dirty.Length != 1 || dirty[0].start != expected.start || dirty[0].end != expected.end)
                throw new FeatureMissingException($"after writing page {written} of {pages}, PAGEMAP_SCAN reported {dirty.Length} written regions");
            return $"write-protected {pages} pages (WP_UNPOPULATED|WP_ASYNC); a write to page {written} was the only one reported";
        }
        finally
        {
            if (uffd >= 0) LibC.close(uffd); // closing unregisters the range
            LibC.munmap(area, size);
        }
    }

    static PageRegion[] Scan(int pagemapFd, nint area, nuint size, ulong flags)
    {
        var regions = new PageRegion[16];
        fixed (PageRegion* vec = regions)
        {
            var arg = new PmScanArg
            {
                size = (ulong)sizeof(PmScanArg), flags = flags, start = (ulong)area, end = (ulong)area + size,
                vec = (ulong)vec, vec_len = (ulong)regions.Length,
                category_mask = PageMapScan.PAGE_IS_WRITTEN, return_mask = PageMapScan.PAGE_IS_WRITTEN,
            };
            var n = LibC.ioctl(pagemapFd, PageMapScan.PAGEMAP_SCAN, &arg);
            if (n < 0) throw LinuxException.FromLastError("ioctl(PAGEMAP_SCAN)");
            return regions[..n];
        }
    }

    /// <summary>
    /// userfaultfd(2); where that is restricted (vm.unprivileged_userfaultfd=0 and no CAP_SYS_PTRACE),
    /// /dev/userfaultfd, then a user-mode-only uffd (which cannot see kernel-mode faults).
    /// </summary>
    static int OpenUffd(out string how)
    {
        const int flags = OpenFlags.O_CLOEXEC | OpenFlags.O_NONBLOCK;
        var fd = (int)LibC.syscall(Sys.userfaultfd, flags, 0, 0, 0, 0, 0);
        if (fd >= 0)
        {
            how = "userfaultfd(2)";
            return fd;
        }
        var syscallError = Marshal.GetLastPInvokeError();
        var dev = LibC.open_fd("/dev/userfaultfd", OpenFlags.O_RDWR | OpenFlags.O_CLOEXEC, 0);
        if (dev >= 0)
        {
            fd = LibC.ioctl(dev, Uffd.USERFAULTFD_IOC_NEW, (void*)flags);
            LibC.close(dev);
            if (fd >= 0)
            {
                how = "/dev/userfaultfd";
                return fd;
            }
        }
        fd = (int)LibC.syscall(Sys.userfaultfd, flags | Uffd.UFFD_USER_MODE_ONLY, 0, 0, 0, 0, 0);
        if (fd >= 0)
        {
            how = "userfaultfd(2) in user-mode-only mode (faults from the kernel are not seen)";
            return fd;
        }
        throw new LinuxException("userfaultfd", 0, syscallError);
    }

    /// <summary>Clears the helper's soft-dirty bits, dirties a page and looks for pagemap bit 55.</summary>
    public static string SoftDirty()
    {
        using var helper = ProbeHelper.Start();
        using var scratch = helper.Task.MapScratch();
        scratch.Write(0, 1L); // populate
        File.WriteAllText($"/proc/{helper.Pid}/clear_refs", "4");
        scratch.Write(0, 2L);
        using var pagemap = File.OpenHandle($"/proc/{helper.Pid}/pagemap");
        Span<byte> entry = stackalloc byte[8];
        RandomAccess.Read(pagemap, entry, (long)(scratch.Address / (ulong)Mman.PageSize * 8));
        var bits = BinaryPrimitives.ReadUInt64LittleEndian(entry);
        if ((bits & (1UL << 55)) == 0)
            throw new FeatureMissingException("a page written after clear_refs=4 has no soft-dirty bit (kernel built without CONFIG_MEM_SOFT_DIRTY)");
        return "a page written after clear_refs=4 has the soft-dirty bit";
    }
}
