using System.Numerics;
using Ferry.Linux;

namespace Ferry.Resources.Memfd;

/// <summary>
/// hugetlbfs, where memfd_create(MFD_HUGETLB) files and MAP_HUGETLB memory live: such a file is told by its file
/// system (statfs), whose block size is the huge page size. CRIU's memfd.img hugetlb_flag is memfd_create's flag:
/// MFD_HUGETLB with log2(page size) in bits 26-31.
/// </summary>
internal static unsafe class Hugetlb
{
    public const uint MFD_HUGETLB = 4;
    const int SizeShift = 26;

    /// <summary>The huge page size of the file behind <paramref name="fd"/>, or 0 when it is not on hugetlbfs.</summary>
    public static long PageSizeOf(int fd)
    {
        FileSystemStatus fs;
        if (FileCalls.fstatfs(fd, &fs) < 0)
            throw LinuxException.FromLastError("fstatfs");
        return fs.f_type == FileSystemStatus.HUGETLBFS_MAGIC ? fs.f_bsize : 0;
    }

    /// <summary>Like <see cref="PageSizeOf(int)"/> for a path (e.g. /proc/PID/map_files/RANGE); 0 when it cannot be looked at.</summary>
    public static long PageSizeOf(string path)
    {
        FileSystemStatus fs;
        return FileCalls.statfs(path, &fs) == 0 && fs.f_type == FileSystemStatus.HUGETLBFS_MAGIC ? fs.f_bsize : 0;
    }

    /// <summary>memfd_create's flags for a memfd of huge pages of <paramref name="pageSize"/> bytes.</summary>
    public static uint MemfdFlag(long pageSize) => MFD_HUGETLB | (uint)BitOperations.Log2((ulong)pageSize) << SizeShift;
}
