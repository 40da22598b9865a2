using System.Runtime.InteropServices;

namespace Ferry.Linux;

/// <summary>userfaultfd(2) ioctls, features and structs (including the 6.7+ ones the installed 6.1 headers lack).</summary>
public static class Uffd
{
    public const ulong UFFD_API = 0xAA;
    public const ulong UFFDIO_API = 0xC018AA3F;      // _IOWR(0xAA, 0x3F, struct uffdio_api)
    public const ulong UFFDIO_REGISTER = 0xC020AA00; // _IOWR(0xAA, 0x00, struct uffdio_register)
    public const ulong UFFDIO_UNREGISTER = 0x8010AA01; // _IOR(0xAA, 0x01, struct uffdio_range)
    public const ulong USERFAULTFD_IOC_NEW = 0xAA00;  // _IO(0xAA, 0x00) on /dev/userfaultfd
    public const int UFFD_USER_MODE_ONLY = 1;

    public const ulong UFFDIO_REGISTER_MODE_MISSING = 1, UFFDIO_REGISTER_MODE_WP = 2, UFFDIO_REGISTER_MODE_MINOR = 4;

    /// <summary>UFFD_FEATURE_* bit names, by bit number.</summary>
    public static readonly string[] FeatureNames =
    [
        "PAGEFAULT_FLAG_WP", "EVENT_FORK", "EVENT_REMAP", "EVENT_REMOVE", "MISSING_HUGETLBFS", "MISSING_SHMEM",
        "EVENT_UNMAP", "SIGBUS", "THREAD_ID", "MINOR_HUGETLBFS", "MINOR_SHMEM", "EXACT_ADDRESS", "WP_HUGETLBFS_SHMEM",
        "WP_UNPOPULATED", "POISON", "WP_ASYNC", "MOVE",
    ];

    public const ulong FEATURE_EVENT_FORK = 1UL << 1, FEATURE_MISSING_SHMEM = 1UL << 5, FEATURE_WP_UNPOPULATED = 1UL << 13,
        FEATURE_WP_ASYNC = 1UL << 15;
}

[StructLayout(LayoutKind.Sequential)]
public struct UffdioApi
{
    public ulong api, features, ioctls;
}

[StructLayout(LayoutKind.Sequential)]
public struct UffdioRegister
{
    public ulong start, len, mode, ioctls;
}

/// <summary>PAGEMAP_SCAN ioctl on /proc/PID/pagemap (Linux 6.7+).</summary>
public static class PageMapScan
{
    public const ulong PAGEMAP_SCAN = 0xC0606610; // _IOWR('f', 16, struct pm_scan_arg)
    public const ulong PAGE_IS_WPALLOWED = 1 << 0, PAGE_IS_WRITTEN = 1 << 1, PAGE_IS_FILE = 1 << 2,
        PAGE_IS_PRESENT = 1 << 3, PAGE_IS_SWAPPED = 1 << 4, PAGE_IS_PFNZERO = 1 << 5, PAGE_IS_HUGE = 1 << 6,
        PAGE_IS_SOFT_DIRTY = 1 << 7, PAGE_IS_GUARD = 1 << 8;
    public const ulong PM_SCAN_WP_MATCHING = 1 << 0, PM_SCAN_CHECK_WPASYNC = 1 << 1;
}

/// <summary>struct pm_scan_arg (96 bytes).</summary>
[StructLayout(LayoutKind.Sequential)]
public struct PmScanArg
{
    public ulong size, flags, start, end, walk_end, vec, vec_len, max_pages, category_inverted, category_mask,
        category_anyof_mask, return_mask;
}

/// <summary>struct page_region: one result of PAGEMAP_SCAN.</summary>
[StructLayout(LayoutKind.Sequential)]
public struct PageRegion
{
    public ulong start, end, categories;
}
