using Ferry.Diagnostics;
using Ferry.Images.Protos;
using Ferry.Linux;
using Ferry.Procfs;
using Ferry.Resources.Eventfd;
using Ferry.Resources.Eventpoll;
using Ferry.Resources.Fanotify;
using Ferry.Resources.Inotify;
using Ferry.Resources.Signalfd;
using Ferry.Resources.Timerfd;

namespace Ferry.Resources.Files;

/// <summary>
/// The event descriptors behind "anon_inode:[NAME]" links that Ferry checkpoints: eventfd, timerfd, signalfd, epoll,
/// inotify and fanotify. Each kind's state comes from /proc/PID/fdinfo and goes into its own member of a files.img entry, as
/// CRIU stores it; on restore Ferry makes a new one of the kind with that state (epoll's interest list is added later,
/// from inside the task, see <see cref="EventpollRestorer"/>).
/// </summary>
internal static class AnonInodeFiles
{
    /// <summary>The files.img kind of an anon inode named <paramref name="anonName"/>, or null when Ferry cannot checkpoint it.</summary>
    public static fd_types? Kind(string? anonName) => anonName switch
    {
        "eventfd" => fd_types.Eventfd,
        "timerfd" => fd_types.Timerfd,
        "signalfd" => fd_types.Signalfd,
        "eventpoll" => fd_types.Eventpoll,
        "inotify" => fd_types.Inotify,
        "fanotify" => fd_types.Fanotify,
        _ => null,
    };

    public static bool IsAnonKind(fd_types type) =>
        type is fd_types.Eventfd or fd_types.Timerfd or fd_types.Signalfd or fd_types.Eventpoll or fd_types.Inotify or fd_types.Fanotify;

    /// <summary>The files.img entry of descriptor <paramref name="fd"/> of process <paramref name="pid"/>.</summary>
    /// <param name="flags">The file status flags (without O_CLOEXEC, which belongs to the descriptor).</param>
    public static file_entry Dump(fd_types type, uint id, int pid, int fd, FdInfo info, HeldFd local, uint flags)
    {
        var owner = FileOwner.Read(local.Fd, flags);
        var where = $"fd {fd} of process {pid}";
        var entry = new file_entry { Type = type, Id = id };
        switch (type)
        {
            case fd_types.Eventfd: entry.Efd = EventfdFile.Dump(id, flags, owner, info, where); break;
            case fd_types.Timerfd: entry.Tfd = TimerfdFile.Dump(id, flags, owner, local, where); break;
            case fd_types.Signalfd: entry.Sgfd = SignalfdFile.Dump(id, flags, owner, info, where); break;
            case fd_types.Eventpoll: entry.Epfd = EventpollDumper.Dump(id, flags, owner, info, pid, fd); break;
            case fd_types.Inotify: entry.Ify = InotifyDumper.Dump(id, flags, owner, info, where); break;
            case fd_types.Fanotify: entry.Ffy = FanotifyDumper.Dump(id, flags, owner, info, pid, where); break;
            default: throw new ArgumentOutOfRangeException(nameof(type), type, "not an anon inode kind");
        }
        return entry;
    }

    /// <summary>A new description of the kind with the dumped state, held by Ferry (close-on-exec).</summary>
    public static HeldFd Open(file_entry file, WatchedInodes watched) => file.Type switch
    {
        fd_types.Eventfd => EventfdFile.Open(Member(file.Efd, file)),
        fd_types.Timerfd => TimerfdFile.Open(Member(file.Tfd, file)),
        fd_types.Signalfd => SignalfdFile.Open(Member(file.Sgfd, file)),
        fd_types.Eventpoll => EventpollRestorer.Open(Member(file.Epfd, file)),
        fd_types.Inotify => InotifyRestorer.Open(Member(file.Ify, file), watched),
        fd_types.Fanotify => FanotifyRestorer.Open(Member(file.Ffy, file), watched),
        _ => throw new ArgumentOutOfRangeException(nameof(file), file.Type, "not an anon inode kind"),
    };

    /// <summary>The owner for signal-driven I/O of an anon inode entry, or null for other kinds.</summary>
    public static fown_entry? Owner(file_entry file) =>
        file.Efd?.Fown ?? file.Tfd?.Fown ?? file.Sgfd?.Fown ?? file.Epfd?.Fown ?? file.Ify?.Fown ?? file.Ffy?.Fown;

    static T Member<T>(T? member, file_entry file) where T : class =>
        member ?? throw new FerryException($"files.img: file {file.Id} is of type {file.Type} but has no {file.Type} entry");

    const uint AccessMode = 3; // O_ACCMODE: F_SETFL ignores it

    /// <summary>Sets the dumped status flags (O_NONBLOCK, O_ASYNC…) on a description Ferry made; the access mode stays.</summary>
    public static void SetStatusFlags(HeldFd held, uint flags, string what)
    {
        uint status = flags & ~AccessMode & ~(uint)OpenFlags.O_CLOEXEC;
        if (status != 0 && LibC.syscall(Sys.fcntl, held.Fd, OpenFlags.F_SETFL, status, 0, 0, 0) < 0)
            throw new FerryException($"cannot set flags 0{Convert.ToString(status, 8)} on {what}: {Errno.Name(LinuxException.FromLastError("fcntl").ErrorNumber)}");
    }

    /// <summary>The descriptor a creating syscall returned, or a one-line error naming what could not be made.</summary>
    public static HeldFd Created(long result, string what) =>
        result >= 0 ? new HeldFd((int)result)
            : throw new FerryException($"cannot create {what}: {Errno.Name(LinuxException.FromLastError(what).ErrorNumber)}");

    /// <summary>The value of fdinfo line <paramref name="key"/>, or a one-line error naming the missing line.</summary>
    public static string Line(FdInfo info, string key, string where) =>
        info.Get(key) ?? throw new FerryException($"fdinfo of {where} has no '{key}:' line");

    public static FerryException BadLine(string where, string key, string value, string expected) =>
        new($"fdinfo of {where}: '{key}: {value}' is not {expected}");
}
