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
/// </summary>
public sealed class FileLockRestorer(TracedTask task, IEnumerable<file_lock_entry> locks, RemoteScratch scratch, Log log)
{
    const uint Posix = 1, Flock = 2;
    const int LockShared = 1, LockExclusive = 2, LockNonBlocking = 4;
    const int SetLock = 6, SetOfdLock = 37; // F_SETLK, F_OFD_SETLK
    const short SeekSet = 0;

    public void Restore()
    {
        foreach (var fileLock in locks)
        {
            if (fileLock.Flag == Flock)
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
