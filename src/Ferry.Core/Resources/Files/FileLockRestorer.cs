using Ferry.Diagnostics;
using Ferry.Images.Protos;
using Ferry.Linux;
using Ferry.Tracing;

namespace Ferry.Resources.Files;

/// <summary>
/// Takes a process's file locks again on its restored descriptors, from inside the process: a POSIX lock belongs to
/// the process that takes it and a flock lock shows its taker's pid, so Ferry cannot take them itself. Runs after the
/// temporary descriptors of the restore are closed (closing any descriptor of a file drops the process's POSIX
/// locks on it). Never waits: the dumped locks did not conflict, so a conflict now is an error, not a wait.
/// A lease is taken by the task too (F_SETLEASE makes the taker the file's owner, who gets the break signal); a lease
/// that was being broken is taken with the type its descriptor allows and broken again, as CRIU does, by a
/// non-blocking open from Ferry that conflicts with it.
/// </summary>
public sealed class FileLockRestorer(TracedTask task, IEnumerable<file_lock_entry> locks, RemoteScratch scratch, Log log)
{
    const uint Posix = 1, Flock = 2, Lease = 8, LeaseBreaking = 4;
    const int ReadLease = 0, WriteLease = 1, NoLease = 2;
    const int LockShared = 1, LockExclusive = 2, LockNonBlocking = 4;
    const int SetLock = 6, SetOfdLock = 37; // F_SETLK, F_OFD_SETLK
    const short SeekSet = 0;

    public void Restore()
    {
        foreach (var fileLock in locks)
        {
            if (fileLock.Flag == Lease)
                RestoreLease(fileLock);
            else if (fileLock.Flag == Flock)
            {
                int operation = (fileLock.Type == 0 ? LockShared : LockExclusive) | LockNonBlocking;
                task.SyscallOrThrow(Sys.flock, fileLock.Fd, operation);
            }
            else
            {
                scratch.Write(0, new FlockStruct
                {
                    Type = (short)fileLock.Type, Whence = SeekSet, Start = fileLock.Start, Length = fileLock.Len, Pid = 0,
                });
                task.SyscallOrThrow(Sys.fcntl, fileLock.Fd, fileLock.Flag == Posix ? SetLock : SetOfdLock, scratch.At(0));
            }
            log.Debug($"{task}: file lock (flag {fileLock.Flag}, type {fileLock.Type}) on fd {fileLock.Fd} from {fileLock.Start}, length {fileLock.Len}");
        }
    }

    /// <summary>
    /// F_SETLEASE makes the taker the file's owner; the dumped owner (restored with the descriptor) is put back after.
    /// A lease being broken is broken again while nobody owns the file: its owner got the break signal at dump time
    /// already, and a second one would be a signal the program never had reason to get.
    /// </summary>
    void RestoreLease(file_lock_entry lease)
    {
        uint target = lease.Type & ~LeaseBreaking;
        bool breaking = (lease.Type & LeaseBreaking) != 0;
        if (breaking && target is not (ReadLease or NoLease))
            throw new FerryException($"{task}: the lease on fd {lease.Fd} is being broken to type {target}; expected F_RDLCK or F_UNLCK");
        scratch.Write(0, default(OwnerEx));
        task.SyscallOrThrow(Sys.fcntl, lease.Fd, OpenFlags.F_GETOWN_EX, scratch.At(0));
        var owner = scratch.Read<OwnerEx>(0);
        var access = Procfs.ProcFdInfo.Read(task.Pid, lease.Fd).Flags & 3; // O_ACCMODE
        long type = !breaking ? lease.Type : access == (uint)OpenFlags.O_RDONLY ? ReadLease : WriteLease;
        task.SyscallOrThrow(Sys.fcntl, lease.Fd, OpenFlags.F_SETLEASE, type);
        if (breaking)
        {
            scratch.Write(0, new OwnerEx { Type = owner.Type, Pid = 0 });
            task.SyscallOrThrow(Sys.fcntl, lease.Fd, OpenFlags.F_SETOWN_EX, scratch.At(0));
            Break(lease, target);
        }
        scratch.Write(0, owner);
        task.SyscallOrThrow(Sys.fcntl, lease.Fd, OpenFlags.F_SETOWN_EX, scratch.At(0));
    }

    /// <summary>A non-blocking open that conflicts with the lease starts breaking it (to none for a writer, to read for a reader).</summary>
    void Break(file_lock_entry lease, uint target)
    {
        int conflicting = (target == NoLease ? OpenFlags.O_WRONLY : OpenFlags.O_RDONLY) | OpenFlags.O_NONBLOCK | OpenFlags.O_CLOEXEC;
        int fd = LibC.open_fd($"/proc/{task.Pid}/fd/{lease.Fd}", conflicting, 0);
        if (fd >= 0)
        {
            LibC.close(fd);
            throw new FerryException($"{task}: the lease on fd {lease.Fd} did not break when Ferry opened the file again");
        }
        var error = LinuxException.FromLastError("open");
        if (error.ErrorNumber != Errno.EAGAIN)
            throw new FerryException($"{task}: cannot break the lease on fd {lease.Fd} again: {Errno.Name(error.ErrorNumber)}");
    }

    /// <summary>struct f_owner_ex.</summary>
    struct OwnerEx
    {
        public int Type;
        public int Pid;
    }

    /// <summary>struct flock on x86_64 (l_pid stays 0: the kernel fills it in, and OFD locks require 0).</summary>
    struct FlockStruct
    {
        public short Type;
        public short Whence;
        public long Start;
        public long Length;
        public int Pid;
    }
}
