using System.Globalization;
using Ferry.Images.Protos;
using Ferry.Linux;
using Ferry.Procfs;
using Ferry.Resources.Files;

namespace Ferry.Resources.Eventfd;

/// <summary>
/// An eventfd: its counter and whether it counts as a semaphore (EFD_SEMAPHORE). CRIU's entry has no field for the
/// semaphore mode (CRIU loses it); Ferry keeps it in bit 0 of the flags, the O_WRONLY bit, which an eventfd never has
/// (it is always O_RDWR) and which F_SETFL ignores, so CRIU still restores such an entry (as a plain counter).
/// </summary>
internal static class EventfdFile
{
    public const uint Semaphore = 1; // EFD_SEMAPHORE

    public static eventfd_file_entry Dump(uint id, uint flags, fown_entry owner, FdInfo info, string where)
    {
        var count = AnonInodeFiles.Line(info, "eventfd-count", where);
        if (!ulong.TryParse(count, NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out ulong counter))
            throw AnonInodeFiles.BadLine(where, "eventfd-count", count, "a hexadecimal count");
        if (info.Get("eventfd-semaphore") == "1") flags |= Semaphore;
        return new eventfd_file_entry { Id = id, Flags = flags, Fown = owner, Counter = counter };
    }

    public static HeldFd Open(eventfd_file_entry entry)
    {
        // eventfd2 takes an unsigned int; a larger count is written into it afterwards.
        uint initial = entry.Counter <= uint.MaxValue ? (uint)entry.Counter : 0;
        var what = $"eventfd {entry.Id}";
        var held = AnonInodeFiles.Created(LibC.syscall(Sys.eventfd2, initial, OpenFlags.O_CLOEXEC | (entry.Flags & Semaphore), 0, 0, 0, 0), what);
        if (entry.Counter > uint.MaxValue) WriteCount(held, entry.Counter, what);
        AnonInodeFiles.SetStatusFlags(held, entry.Flags & ~Semaphore, what);
        return held;
    }

    static unsafe void WriteCount(HeldFd held, ulong count, string what)
    {
        if (LibC.write(held.Fd, (byte*)&count, sizeof(ulong)) != sizeof(ulong))
            throw new Diagnostics.FerryException($"cannot set the count of {what} to {count}: {Errno.Name(LinuxException.FromLastError("write").ErrorNumber)}");
    }
}
