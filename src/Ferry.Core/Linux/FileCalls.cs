using System.Runtime.InteropServices;

namespace Ferry.Linux;

/// <summary>x86-64 struct stat (144 bytes).</summary>
[StructLayout(LayoutKind.Sequential)]
public struct FileStatus
{
    public ulong st_dev, st_ino, st_nlink;
    public uint st_mode, st_uid, st_gid;
    int _pad0;
    public ulong st_rdev;
    public long st_size, st_blksize, st_blocks;
    public TimeSpec st_atim, st_mtim, st_ctim;
    long _reserved0, _reserved1, _reserved2;

    public const uint S_IFMT = 0xf000, S_IFSOCK = 0xc000, S_IFLNK = 0xa000, S_IFREG = 0x8000, S_IFBLK = 0x6000,
        S_IFDIR = 0x4000, S_IFCHR = 0x2000, S_IFIFO = 0x1000;

    public readonly uint Type => st_mode & S_IFMT;
    public readonly uint RdevMajor => DeviceNumbers.Major(st_rdev);
    public readonly uint RdevMinor => DeviceNumbers.Minor(st_rdev);

    /// <summary>st_dev in the kernel's encoding, as /proc's fdinfo and CRIU's images hold it.</summary>
    public readonly uint KernelDev => DeviceNumbers.Kernel(DeviceNumbers.Major(st_dev), DeviceNumbers.Minor(st_dev));
}

/// <summary>x86-64 struct statfs (120 bytes).</summary>
[StructLayout(LayoutKind.Sequential)]
public unsafe struct FileSystemStatus
{
    public long f_type, f_bsize;
    public ulong f_blocks, f_bfree, f_bavail, f_files, f_ffree;
    public long f_fsid, f_namelen, f_frsize, f_flags;
    fixed long _spare[4];

    public const long HUGETLBFS_MAGIC = 0x958458f6;
}

/// <summary>File-descriptor calls the dump needs (declarations only).</summary>
internal static unsafe partial class FileCalls
{
    public const uint SPLICE_F_NONBLOCK = 2;
    public const int FIONREAD = 0x541b;

    [LibraryImport("libc", SetLastError = true)]
    public static partial int ioctl(int fd, nuint request, int* argument);

    [LibraryImport("libc", SetLastError = true)]
    public static partial int fstat(int fd, FileStatus* status);

    [LibraryImport("libc", SetLastError = true)]
    public static partial int fstatfs(int fd, FileSystemStatus* status);

    [LibraryImport("libc", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int stat(string path, FileStatus* status);

    [LibraryImport("libc", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int statfs(string path, FileSystemStatus* status);

    [LibraryImport("libc", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int chown(string path, uint owner, uint group);

    [LibraryImport("libc", SetLastError = true)]
    public static partial int fcntl(int fd, int command, int argument);

    [LibraryImport("libc", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int linkat(int oldDirFd, string oldPath, int newDirFd, string newPath, int flags);

    [LibraryImport("libc", SetLastError = true)]
    public static partial nint tee(int fdIn, int fdOut, nuint length, uint flags);
}
