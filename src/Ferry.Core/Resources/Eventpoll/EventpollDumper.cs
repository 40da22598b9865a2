using System.Globalization;
using Ferry.Diagnostics;
using Ferry.Images.Protos;
using Ferry.Linux;
using Ferry.Procfs;
using Ferry.Resources.Files;

namespace Ferry.Resources.Eventpoll;

/// <summary>
/// An epoll instance and its interest list: one "tfd:" fdinfo line per watched (file, fd number) with the events and
/// the user data, stored in the entry's tfd list as CRIU 4 does. The kernel keys each watch by the file and the fd
/// number it was added with. A watch whose fd number no longer names that file in the process (closed, or reused, after
/// a dup) is stored, as CRIU does, under a number that still names the file there, so the restore can add it again;
/// when none does, the dump stops.
/// </summary>
internal static class EventpollDumper
{
    public static eventpoll_file_entry Dump(uint id, uint flags, fown_entry owner, FdInfo info, int pid, int epfd)
    {
        var where = $"epoll fd {epfd} of process {pid}";
        var entry = new eventpoll_file_entry { Id = id, Flags = flags, Fown = owner };
        var seen = new Dictionary<uint, uint>();
        foreach (var line in info.GetAll("tfd"))
        {
            var watch = Parse(line, where);
            // The kernel tells watches added under one number apart by their rank among them (kcmp's toff).
            uint rank = seen.GetValueOrDefault(watch.Tfd);
            seen[watch.Tfd] = rank + 1;
            if (!Names(pid, epfd, (int)watch.Tfd, (int)watch.Tfd, rank))
                watch.Tfd = OtherNumber(pid, epfd, watch.Tfd, rank, where);
            entry.Tfd.Add(watch);
        }
        return entry;
    }

    /// <summary>Another of the process's fds that names the file watched under closed or reused number <paramref name="tfd"/>.</summary>
    static uint OtherNumber(int pid, int epfd, uint tfd, uint rank, string where)
    {
        foreach (var fd in ProcFds.Read(pid))
            if (Names(pid, epfd, fd.Fd, (int)tfd, rank))
                return (uint)fd.Fd;
        throw new FerryException($"{where} watches a file added as fd {tfd}, which the process has since closed and holds under no " +
            "other number; ferry cannot checkpoint such a watch; the process was left running untouched");
    }

    /// <summary>"5 events: 19 data: 1234  pos:0 ino:1a sdev:10" (the last three since Linux 4.x).</summary>
    internal static eventpoll_tfd_entry Parse(string line, string where)
    {
        var first = line.Split([' ', '\t'], 2, StringSplitOptions.RemoveEmptyEntries);
        var tokens = FdInfo.SplitTokens(line).ToDictionary(p => p.Key, p => p.Value);
        if (first.Length == 0 || !uint.TryParse(first[0], NumberStyles.None, CultureInfo.InvariantCulture, out uint tfd)
            || FdInfo.HexToken(tokens, "events") is not { } events || events > uint.MaxValue || FdInfo.HexToken(tokens, "data") is not { } data)
            throw AnonInodeFiles.BadLine(where, "tfd", line, "'FD events: HEX data: HEX …'");
        var watch = new eventpoll_tfd_entry { Id = 0, Tfd = tfd, Events = (uint)events, Data = data };
        if (FdInfo.HexToken(tokens, "ino") is { } inode && FdInfo.HexToken(tokens, "sdev") is { } dev
            && long.TryParse(tokens.GetValueOrDefault("pos"), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out long pos))
        {
            watch.Inode = inode;
            watch.Dev = (uint)dev;
            watch.Pos = (ulong)pos;
        }
        return watch;
    }

    /// <summary>
    /// kcmp(KCMP_EPOLL_TFD): is <paramref name="fd"/> of the process the file of the <paramref name="rank"/>th watch the
    /// epoll has under number <paramref name="tfd"/>?
    /// </summary>
    static unsafe bool Names(int pid, int epfd, int fd, int tfd, uint rank)
    {
        uint* slot = stackalloc uint[3] { (uint)epfd, (uint)tfd, rank }; // struct kcmp_epoll_slot: efd, tfd, toff
        return LibC.syscall(Sys.kcmp, pid, pid, Kcmp.KCMP_EPOLL_TFD, fd, (long)slot, 0) == 0;
    }
}
