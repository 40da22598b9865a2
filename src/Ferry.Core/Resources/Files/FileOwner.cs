using Ferry.Diagnostics;
using Ferry.Images.Protos;
using Ferry.Linux;
using Ferry.Procfs;
using Ferry.Tracing;

namespace Ferry.Resources.Files;

/// <summary>
/// The owner of an open file description (fown_entry): who gets its SIGIO/SIGURG (F_SETOWN_EX: a thread, process or
/// process group), which signal (F_SETSIG), and the real and effective uid of whoever made it the owner (the kernel
/// checks them before it sends the signal). Read on Ferry's own copy of the description at dump, the owner's pid as
/// its own pid namespace numbers it; set from inside the restored task, so that pid is looked up in the task's
/// namespace.
/// </summary>
public static unsafe class FileOwner
{
    const int GetOwnerUids = 17; // F_GETOWNER_UIDS

    struct OwnerEx
    {
        public int Type;
        public int Pid;
    }

    /// <summary>The owner of the description behind Ferry's descriptor <paramref name="localFd"/>.</summary>
    public static fown_entry Read(int localFd, uint flags)
    {
        var owner = new fown_entry { Uid = 0, Euid = 0, Signum = 0, PidType = 0, Pid = 0 };
        if ((flags & OpenFlags.O_PATH) != 0)
            return owner; // an O_PATH descriptor has no owner
        owner.Signum = (uint)Check(LibC.syscall(Sys.fcntl, localFd, OpenFlags.F_GETSIG, 0, 0, 0, 0), "fcntl(F_GETSIG)");
        OwnerEx ex;
        Check(LibC.syscall(Sys.fcntl, localFd, OpenFlags.F_GETOWN_EX, (long)&ex, 0, 0, 0), "fcntl(F_GETOWN_EX)");
        if (ex.Pid == 0)
            return owner;
        uint* uids = stackalloc uint[2];
        Check(LibC.syscall(Sys.fcntl, localFd, GetOwnerUids, (long)uids, 0, 0, 0), "fcntl(F_GETOWNER_UIDS)");
        owner.Uid = uids[0];
        owner.Euid = uids[1];
        owner.PidType = (uint)ex.Type;
        owner.Pid = (uint)InnermostPid(ex.Pid);
        return owner;
    }

    /// <summary>
    /// The pid (or process group id) as the innermost pid namespace of its process numbers it, the number the
    /// restored tree knows; unchanged when no such process is left to ask.
    /// </summary>
    static int InnermostPid(int pid)
    {
        try
        {
            return ProcStatusFile.Read(pid).NSpid is [.., var inner] ? inner : pid;
        }
        catch (ProcessNotFoundException)
        {
            return pid;
        }
    }

    /// <summary>
    /// Sets the dumped owner on descriptor <paramref name="fd"/> of the task, from inside it (the owner's process
    /// must exist: its husk does). The kernel records the caller's uids with the owner, so the task takes the dumped
    /// ones for the call; it still runs with Ferry's credentials here (its own come last), and the saved uid keeps
    /// them within reach.
    /// </summary>
    public static void Restore(TracedTask task, int fd, fown_entry? owner, RemoteScratch scratch)
    {
        if (owner is null)
            return;
        if (owner.Signum != 0)
            task.SyscallOrThrow(Sys.fcntl, fd, OpenFlags.F_SETSIG, owner.Signum);
        if (owner.Pid == 0)
            return;
        task.SyscallOrThrow(Sys.getresuid, scratch.At(0), scratch.At(4), scratch.At(8));
        uint ruid = scratch.Read<uint>(0), euid = scratch.Read<uint>(4);
        bool switchIds = owner.Uid != ruid || owner.Euid != euid;
        if (switchIds)
            task.SyscallOrThrow(Sys.setresuid, owner.Uid, owner.Euid, -1);
        scratch.Write(0, new OwnerEx { Type = (int)owner.PidType, Pid = (int)owner.Pid });
        var result = task.Syscall(Sys.fcntl, fd, OpenFlags.F_SETOWN_EX, scratch.At(0));
        if (switchIds)
            task.SyscallOrThrow(Sys.setresuid, ruid, euid, -1);
        if (result < 0)
            throw new FerryException($"{task}: cannot make process {owner.Pid} (type {owner.PidType}) the owner of fd {fd} again: fcntl(F_SETOWN_EX) failed with {Errno.Name((int)-result)}");
    }

    static long Check(long result, string call) =>
        result >= 0 ? result : throw new FerryException($"{call} failed: {Errno.Name(LinuxException.FromLastError(call).ErrorNumber)}");
}
