using Ferry.Diagnostics;
using Ferry.Images.Protos;
using Ferry.Linux;

namespace Ferry.Resources.Files;

/// <summary>
/// The owner of an open file description (fown_entry): who gets its SIGIO/SIGURG (F_SETOWN_EX: a thread, process or
/// process group), which signal (F_SETSIG), and the real and effective uid of whoever made it the owner (the kernel
/// checks them before it sends the signal). Read on Ferry's own copy of the description at dump, set on the
/// description Ferry opens at restore, so both work without the task.
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
        owner.Pid = (uint)ex.Pid;
        return owner;
    }

    /// <summary>
    /// Sets the dumped owner on Ferry's descriptor of a restored description; the owner's process must exist (its
    /// husk does). The kernel records the caller's uids with the owner, so this thread takes the dumped ones for
    /// the call (raw setresuid changes only the calling thread; the saved uid keeps Ferry's capabilities).
    /// </summary>
    public static void Restore(int localFd, fown_entry? owner, string what)
    {
        if (owner is null)
            return;
        if (owner.Signum != 0)
            Check(LibC.syscall(Sys.fcntl, localFd, OpenFlags.F_SETSIG, owner.Signum, 0, 0, 0), $"fcntl(F_SETSIG) of {what}");
        if (owner.Pid == 0)
            return;
        var ex = new OwnerEx { Type = (int)owner.PidType, Pid = (int)owner.Pid };
        uint ruid, euid, suid;
        Check(LibC.syscall(Sys.getresuid, (long)&ruid, (long)&euid, (long)&suid, 0, 0, 0), "getresuid");
        bool switchIds = owner.Uid != ruid || owner.Euid != euid;
        if (switchIds)
            Check(LibC.syscall(Sys.setresuid, owner.Uid, owner.Euid, -1, 0, 0, 0), $"setresuid for the owner of {what}");
        try
        {
            Check(LibC.syscall(Sys.fcntl, localFd, OpenFlags.F_SETOWN_EX, (long)&ex, 0, 0, 0), $"fcntl(F_SETOWN_EX, {owner.Pid}) of {what}");
        }
        finally
        {
            if (switchIds)
                Check(LibC.syscall(Sys.setresuid, ruid, euid, -1, 0, 0, 0), "setresuid back");
        }
    }

    static long Check(long result, string call) =>
        result >= 0 ? result : throw new FerryException($"{call} failed: {Errno.Name(LinuxException.FromLastError(call).ErrorNumber)}");
}
