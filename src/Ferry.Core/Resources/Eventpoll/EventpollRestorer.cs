using System.Buffers.Binary;
using Ferry.Diagnostics;
using Ferry.Images.Protos;
using Ferry.Linux;
using Ferry.Resources.Files;
using Ferry.Tracing;

namespace Ferry.Resources.Eventpoll;

/// <summary>
/// An epoll instance comes back in two steps: Ferry makes an empty one, and once the task holds all its descriptors
/// the task itself adds each watch (remote epoll_ctl), so the kernel keys it by the task's fd number as before and the
/// program can change or delete it by that number. Adding polls the file at once: what was ready is reported again.
/// </summary>
internal static class EventpollRestorer
{
    const int Add = 1; // EPOLL_CTL_ADD

    public static HeldFd Open(eventpoll_file_entry entry)
    {
        var what = $"epoll {entry.Id}";
        var held = AnonInodeFiles.Created(LibC.syscall(Sys.epoll_create1, OpenFlags.O_CLOEXEC, 0, 0, 0, 0, 0), what);
        AnonInodeFiles.SetStatusFlags(held, entry.Flags, what);
        return held;
    }

    /// <summary>Adds the dumped watches to the task's epoll fd <paramref name="epfd"/> (every fd they name is installed).</summary>
    public static void AddWatches(TracedTask task, int epfd, eventpoll_file_entry entry, RemoteScratch scratch)
    {
        Span<byte> evt = stackalloc byte[12]; // struct epoll_event is packed on x86-64: u32 events, u64 data
        foreach (var watch in entry.Tfd)
        {
            BinaryPrimitives.WriteUInt32LittleEndian(evt, watch.Events);
            BinaryPrimitives.WriteUInt64LittleEndian(evt[4..], watch.Data);
            scratch.Write(0, evt);
            long result = task.Syscall(Sys.epoll_ctl, epfd, Add, watch.Tfd, scratch.At(0));
            if (result < 0)
                throw new FerryException($"{task}: cannot add fd {watch.Tfd} (events 0x{watch.Events:x}) to epoll fd {epfd} again: " +
                    $"epoll_ctl failed with {Errno.Name((int)-result)}");
        }
    }
}
