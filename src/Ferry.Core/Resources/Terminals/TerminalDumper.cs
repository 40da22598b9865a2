using Ferry.Images;
using Ferry.Images.Protos;
using Ferry.Linux;
using Ferry.Procfs;
using Ferry.Resources.Files;

namespace Ferry.Resources.Terminals;

/// <summary>
/// The terminals of a dump as CRIU writes them: each open description a TTY entry of files.img (with a regular-file
/// entry for its path, regf_id), each terminal once in tty-info.img (termios, locked termios, window size, session and
/// foreground group, pty index, packet mode, lock and exclusive flags, owner), and the unread bytes of pty pairs whose
/// both ends are in the tree in tty-data.img. Reading those bytes takes them out of the pair, so it is the dump's last
/// step, and they are written back when the tree lives on.
/// </summary>
internal sealed class TerminalDumper : IDisposable
{
    readonly List<tty_info_entry> _infos = [];
    readonly Dictionary<uint, PtyEnd> _ends = [];
    readonly List<(PtyEnd End, byte[] Data)> _taken = [];

    /// <summary>One end of a pty as Ferry holds it to read its queue: its own copy, and the description's flags.</summary>
    sealed record PtyEnd(uint InfoId, uint Index, bool IsMaster, HeldFd Fd, int Flags);

    /// <summary>Adds descriptor <paramref name="local"/> (a copy of fd of <paramref name="pid"/>) as terminal file <paramref name="id"/>.</summary>
    public void Add(FileTable files, uint id, string path, HeldFd local, in FileStatus st, uint flags, int pid)
    {
        var driver = TerminalDriver.Of(st.st_rdev) ?? throw new InvalidOperationException($"{path} is no terminal");
        uint index = driver.IsPty ? PtyIndex.Of(local.Fd, driver, path) : driver.FixedIndex!.Value;
        uint infoId = TerminalDriver.InfoId(driver, index);

        var regId = files.NextId();
        var reg = FileTable.Regular(regId, path, flags, 0, st);
        files.Add(new file_entry { Type = fd_types.Reg, Id = regId, Reg = reg });
        files.Add(new file_entry
        {
            Type = fd_types.Tty, Id = id,
            Tty = new tty_file_entry { Id = id, TtyInfoId = infoId, Flags = flags, Fown = FileOwner.Read(local.Fd, flags), RegfId = regId },
        });

        if (_infos.Any(i => i.Id == infoId))
            return;
        var session = TerminalSession.Of(local.Fd, driver, st.st_rdev, ProcStatFile.Read(pid));
        var info = new tty_info_entry
        {
            Id = infoId, Type = driver.Type, Locked = false, Exclusive = false, PacketMode = false,
            Sid = (uint)Inner(session.Sid), Pgrp = (uint)Inner(session.Pgrp),
            Rdev = (uint)st.st_rdev, Dev = (uint)st.st_dev, Uid = st.st_uid, Gid = st.st_gid,
        };
        if (driver.IsPty) info.Pty = new tty_pty_entry { Index = index };
        _infos.Add(info);
        // A hung terminal (its other end closed) answers nothing more: CRIU records just the above.
        if (session.Hung)
            return;
        info.Exclusive = Flag(local.Fd, TtyIoctl.TIOCGEXCL);
        if (driver.IsPty)
        {
            info.PacketMode = Flag(local.Fd, TtyIoctl.TIOCGPKT);
            info.Locked = Flag(local.Fd, TtyIoctl.TIOCGPTLCK);
            _ends[infoId] = new PtyEnd(infoId, index, driver.IsMaster, HeldFd.Duplicate(local.Fd, path), (int)flags);
        }
        info.Termios = TermiosImage.Read(local.Fd, TtyIoctl.TCGETS, path);
        info.TermiosLocked = TermiosImage.Read(local.Fd, TtyIoctl.TIOCGLCKTRMIOS, path);
        info.Winsize = TermiosImage.ReadWindow(local.Fd, path);
    }

    /// <summary>
    /// tty-info.img, and tty-data.img with what each end of every pair in the tree had queued to read (taken out
    /// here: call it once everything else is collected).
    /// </summary>
    public void WriteImages(string imagesDir)
    {
        if (_infos.Count == 0) return;
        ImageWriter.WriteFile(Path.Combine(imagesDir, ImageNames.TtyInfo), ImageKinds.TtyInfo, _infos);
        foreach (var end in _ends.Values.Where(e => _ends.ContainsKey(e.InfoId ^ 1)))
            if (PtyQueue.Take(end.Fd.Fd, end.Flags) is { Length: > 0 } data)
                _taken.Add((end, data));
        if (_taken.Count > 0)
            ImageWriter.WriteFile(Path.Combine(imagesDir, "tty-data.img"), ImageKinds.TtyData,
                _taken.Select(t => new tty_data_entry { TtyId = t.End.InfoId, Data = Google.Protobuf.ByteString.CopyFrom(t.Data) }).ToList());
    }

    /// <summary>
    /// The tree lives on (left running, stopped, or the dump failed): the bytes taken out of each pair go back, written
    /// into the other end as CRIU does, so the reader finds them again.
    /// </summary>
    public void GiveBackQueuedData()
    {
        foreach (var (end, data) in _taken)
            PtyQueue.Put(_ends[end.InfoId ^ 1].Fd.Fd, data);
        _taken.Clear();
    }

    public void Dispose()
    {
        foreach (var end in _ends.Values) end.Fd.Dispose();
        _ends.Clear();
    }

    static unsafe bool Flag(int fd, uint request)
    {
        int value = 0;
        if (TtyCalls.ioctl(fd, request, &value) < 0)
        {
            var error = LinuxException.FromLastError("ioctl on a terminal");
            if (error.ErrorNumber != Errno.ENOTTY && error.ErrorNumber != Errno.EINVAL) throw error;
        }
        return value != 0;
    }

    /// <summary>A pid as the tree's own pid namespace sees it (the last NSpid level); as is when the process is gone or 0.</summary>
    static int Inner(int pid)
    {
        if (pid <= 0) return 0;
        try
        {
            return ProcStatusFile.Read(pid).NSpid is [.., var inner] ? inner : pid;
        }
        catch (ProcessNotFoundException)
        {
            return pid;
        }
    }
}
