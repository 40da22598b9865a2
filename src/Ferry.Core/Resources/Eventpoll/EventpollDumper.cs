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
/// number it was added with; a watch whose fd number no longer names that file in the process (closed or reused after
/// a dup) could not be added again by number, so it stops the dump.
/// </summary>
internal static class EventpollDumper
{
    public static eventpoll_file_entry Dump(uint id, uint flags, fown_entry owner, FdInfo info, int pid, int epfd)
    {
        var where = $"epoll fd {epfd} of process {pid}";
        var entry = new eventpoll_file_entry { Id = id, Flags = flags, Fown = owner };
        foreach (var line in info.GetAll("tfd"))
        {
            var watch = Parse(line, where);
            if (!StillNamed(pid, epfd, (int)watch.Tfd))
                throw new FerryException($"{where} watches a file added as fd {watch.Tfd}, which the process has since closed or " +
                    "reused for another file; ferry cannot checkpoint such a watch; the process was left running untouched");
            entry.Tfd.Add(watch);
        }
        return entry;
    }

    /// <summary>"5 events: 19 data: 1234  pos:0 ino:1a sdev:10" (the last three since Linux 4.x).</summary>
    static eventpoll_tfd_entry Parse(string line, string where)
    {
        var first = line.Split([' ', '\t'], 2, StringSplitOptions.RemoveEmptyEntries);
        var tokens = FdInfo.SplitTokens(line).ToDictionary(p => p.Key, p => p.Value);
        if (first.Length == 0 || !uint.TryParse(first[0], NumberStyles.None, CultureInfo.InvariantCulture, out uint tfd)
            || !Hex(tokens, "events", out ulong events) || events > uint.MaxValue || !Hex(tokens, "data", out ulong data))
            throw AnonInodeFiles.BadLine(where, "tfd", line, "'FD events: HEX data: HEX …'");
        var watch = new eventpoll_tfd_entry { Id = 0, Tfd = tfd, Events = (uint)events, Data = data };
        if (Hex(tokens, "ino", out ulong inode) && Hex(tokens, "sdev", out ulong dev)
            && long.TryParse(tokens.GetValueOrDefault("pos"), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out long pos))
        {
            watch.Inode = inode;
            watch.Dev = (uint)dev;
            watch.Pos = (ulong)pos;
        }
        return watch;
    }

    static bool Hex(Dictionary<string, string> tokens, string key, out ulong value)
    {
        value = 0;
        return tokens.TryGetValue(key, out var text) && ulong.TryParse(text, NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out value);
    }

    /// <summary>kcmp(KCMP_EPOLL_TFD): is fd <paramref name="tfd"/> of the process the file the epoll watches under that number?</summary>
    static unsafe bool StillNamed(int pid, int epfd, int tfd)
    {
        uint* slot = stackalloc uint[3] { (uint)epfd, (uint)tfd, 0 }; // struct kcmp_epoll_slot: efd, tfd, toff
        return LibC.syscall(Sys.kcmp, pid, pid, Kcmp.KCMP_EPOLL_TFD, tfd, (long)slot, 0) == 0;
    }
}
