using Ferry.Diagnostics;
using Ferry.Images.Protos;
using Ferry.Procfs;

namespace Ferry.Resources.Files;

/// <summary>
/// The file locks a descriptor shows in its fdinfo "lock:" lines, as CRIU's filelocks.img entries: the kind (flag),
/// F_RDLCK/F_WRLCK (type), the dumped process and descriptor that take the lock again on restore, and the byte range
/// (len 0 = to the end of the file). The kernel lists a POSIX lock under the descriptors of its owning process only,
/// and a flock, OFD lock or lease under every descriptor of its open file description, in whichever process. A lease
/// being broken (someone opened the file in a conflicting way) is saved as CRIU does: its type is what it is being
/// broken to (F_GETLEASE: F_RDLCK or F_UNLCK) with <see cref="LeaseBreaking"/> added.
/// </summary>
internal static class FileLockDumper
{
    public const uint Posix = 1, Flock = 2, Ofd = 4, Lease = 8;
    public const uint ReadLock = 0, WriteLock = 1, LeaseBreaking = 4;

    /// <param name="localFd">Ferry's copy of the descriptor (same open file description), to ask a breaking lease's target.</param>
    /// <param name="allowed">--file-locks was given; without it a held lock stops the dump, as in CRIU.</param>
    public static List<file_lock_entry> Locks(int pid, int vpid, FdEntry fd, FdInfo info, int localFd, bool allowed)
    {
        var locks = new List<file_lock_entry>();
        foreach (var value in info.GetAll("lock"))
        {
            var line = FileLockLine.Parse(value, $"/proc/{pid}/fdinfo/{fd.Fd}");
            uint flag = line.Kind switch
            {
                "POSIX" => Posix,
                "FLOCK" => Flock,
                "OFDLCK" => Ofd,
                "LEASE" => Lease,
                _ => throw new FerryException($"process {pid} holds a {line.Kind} lock on fd {fd.Fd} ({fd.Path}), which ferry cannot checkpoint yet; the process was left running untouched"),
            };
            bool breaking = flag == Lease && line.State == "BREAKING";
            uint type = breaking ? LeaseBreaking | BreakTarget(localFd, pid, fd) : line.Type switch
            {
                "READ" => ReadLock,
                "WRITE" => WriteLock,
                _ => throw new FerryException($"process {pid} holds a {line.Kind} lock of type {line.Type} on fd {fd.Fd} ({fd.Path}), which ferry cannot checkpoint; the process was left running untouched"),
            };
            if (!allowed)
                throw new FerryException($"process {pid} holds a {line.Kind} lock on fd {fd.Fd} ({fd.Path}); dump with --file-locks to save it (as CRIU); the process was left running untouched");
            locks.Add(new file_lock_entry
            {
                Flag = flag, Type = type, Pid = vpid, Fd = fd.Fd, Start = line.Start,
                Len = line.End is { } end ? end + 1 - line.Start : 0,
            });
        }
        return locks;
    }

    /// <summary>F_GETLEASE of a lease being broken: the type it is being broken to (F_RDLCK 0 or F_UNLCK 2).</summary>
    static uint BreakTarget(int localFd, int pid, FdEntry fd)
    {
        long target = Ferry.Linux.LibC.syscall(Ferry.Linux.Sys.fcntl, localFd, Ferry.Linux.OpenFlags.F_GETLEASE, 0, 0, 0, 0);
        if (target < 0)
            throw Ferry.Linux.LinuxException.FromLastError($"fcntl(F_GETLEASE) of fd {fd.Fd}", pid);
        return (uint)target;
    }
}
