using Ferry.Diagnostics;
using Ferry.Images.Protos;
using Ferry.Linux;
using Ferry.Procfs;

namespace Ferry.Resources.Inotify;

/// <summary>
/// Inodes named by file handle (name_to_handle_at's struct file_handle, as fdinfo prints it for a watch) and the
/// device of their filesystem, opened again with open_by_handle_at (root only) through a mount of that filesystem in
/// Ferry's own mount table. fh_entry keeps the handle's bytes in 64-bit words, little-endian, as CRIU does.
/// </summary>
internal static class FileHandles
{
    const int MaxHandleBytes = 128; // MAX_HANDLE_SZ
    const int MinWords = 16; // fh_entry_sizes.min_entries: CRIU always stores 16 words

    /// <summary>The fh_entry of "fhandle-bytes:8 fhandle-type:1 f_handle:5a03000000000000" (all hex).</summary>
    public static fh_entry? Parse(string bytesText, string typeText, string handleText)
    {
        if (!uint.TryParse(bytesText, System.Globalization.NumberStyles.AllowHexSpecifier, null, out uint bytes) || bytes > MaxHandleBytes
            || !uint.TryParse(typeText, System.Globalization.NumberStyles.AllowHexSpecifier, null, out uint type)
            || handleText.Length != bytes * 2)
            return null;
        var raw = new byte[MinWords * 8];
        try
        {
            Convert.FromHexString(handleText).CopyTo(raw, 0);
        }
        catch (FormatException)
        {
            return null;
        }
        var entry = new fh_entry { Bytes = bytes, Type = type };
        for (int i = 0; i < MinWords; i++)
            entry.Handle.Add(BitConverter.ToUInt64(raw, i * 8));
        return entry;
    }

    static bool OnDevice(int fd, uint major, uint minor)
    {
        ulong dev = Files.FileTable.Stat(fd).st_dev;
        return DeviceNumbers.Major(dev) == major && DeviceNumbers.Minor(dev) == minor;
    }

    /// <summary>
    /// An O_PATH descriptor of the inode <paramref name="handle"/> names on the filesystem of kernel device number
    /// <paramref name="kernelDev"/> (MAJOR &lt;&lt; 20 | MINOR, as fdinfo prints s_dev); a one-line error naming
    /// <paramref name="what"/> when it is gone or no mount of that filesystem is reachable.
    /// </summary>
    public static HeldFd Open(uint kernelDev, fh_entry handle, string what) =>
        TryOpen(kernelDev, handle, what, out int error) ?? throw new FerryException(
            $"{what}: cannot open the watched inode on device {DeviceNumbers.KernelMajor(kernelDev)}:{DeviceNumbers.KernelMinor(kernelDev)} by its file handle: " +
            (error == Errno.ENOENT ? "no mount of that filesystem is reachable" : Errno.Name(error)) + " (was it deleted?)");

    /// <summary>As <see cref="Open"/>, or null with the errno (ENOENT: no mount of the filesystem) when it cannot.</summary>
    public static unsafe HeldFd? TryOpen(uint kernelDev, fh_entry handle, string what, out int error)
    {
        uint major = DeviceNumbers.KernelMajor(kernelDev), minor = DeviceNumbers.KernelMinor(kernelDev);
        if (handle.Bytes > MaxHandleBytes || handle.Handle.Count * 8 < handle.Bytes)
            throw new FerryException($"{what}: a file handle of {handle.Bytes} bytes with {handle.Handle.Count} words is not valid");
        var buffer = new byte[8 + MaxHandleBytes];
        BitConverter.TryWriteBytes(buffer.AsSpan(0), handle.Bytes);
        BitConverter.TryWriteBytes(buffer.AsSpan(4), (int)handle.Type);
        for (int i = 0; i < handle.Handle.Count && i * 8 < MaxHandleBytes; i++)
            BitConverter.TryWriteBytes(buffer.AsSpan(8 + i * 8), handle.Handle[i]);
        error = Errno.ENOENT;
        foreach (var mount in ProcMountInfo.Read(Environment.ProcessId).Where(m => m.DevMajor == major && m.DevMinor == minor))
        {
            int mountFd = LibC.open_fd(mount.MountPoint, OpenFlags.O_RDONLY | OpenFlags.O_DIRECTORY | OpenFlags.O_CLOEXEC, 0);
            if (mountFd < 0) continue;
            try
            {
                if (!OnDevice(mountFd, major, minor)) continue; // another filesystem is mounted over it
                fixed (byte* fileHandle = buffer)
                {
                    long fd = LibC.syscall(Sys.open_by_handle_at, mountFd, (long)fileHandle, OpenFlags.O_PATH | OpenFlags.O_CLOEXEC, 0, 0, 0);
                    if (fd >= 0) return new HeldFd((int)fd);
                    error = LinuxException.FromLastError("open_by_handle_at").ErrorNumber;
                }
            }
            finally
            {
                LibC.close(mountFd);
            }
        }
        return null;
    }
}
