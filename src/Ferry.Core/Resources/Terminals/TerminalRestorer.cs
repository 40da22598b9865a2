using Ferry.Diagnostics;
using Ferry.Images.Protos;
using Ferry.Linux;
using Ferry.Resources.Files;
using Ferry.Restore;
using Ferry.Tracing;

namespace Ferry.Resources.Terminals;

/// <summary>
/// Gives back the terminals of a restore. A pty pair is made once, with its dumped index (/dev/ptmx opened until it
/// hands out that index), together with every slave description of it: termios, locked termios, window size and
/// owner set, packet mode, the queued bytes written back, then locked again if it was. /dev/console, virtual consoles
/// and serial ports are opened by path; /dev/tty is opened inside the task, once its session has its controlling
/// terminal again. A session leader gets its controlling terminal and foreground group back (TIOCSCTTY, TIOCSPGRP run
/// by the task). With --shell-job, a pty slave whose master was outside the tree (the terminal of the shell that ran
/// the program) becomes Ferry's own terminal, its standard input.
/// </summary>
public sealed class TerminalRestorer(DumpSet set, bool shellJob, Log log) : IDisposable
{
    readonly TerminalImages _images = set.Terminals;
    readonly HashSet<uint> _pairs = [];

    /// <summary>Descriptions made with their pair, by file id, until the task that has the file takes them.</summary>
    readonly Dictionary<uint, HeldFd> _made = [];

    /// <summary>--shell-job: the restored root's group, to be made the foreground of Ferry's terminal once it is set up.</summary>
    int? _foregroundGroup;
    bool _inherited;

    /// <summary>A new description of TTY file <paramref name="file"/> for <paramref name="task"/>; the caller owns it.</summary>
    public HeldFd Open(tty_file_entry file, TracedTask task, RemoteScratch scratch)
    {
        var info = _images.Infos[file.TtyInfoId];
        switch (info.Type)
        {
            case TtyType.Pty:
                MakePair(info.Pty.Index);
                return _made.Remove(file.Id, out var made) ? made : Inherit(info);
            case TtyType.Ctty:
                return OpenInside(file, task, scratch);
            case TtyType.ExtTty:
            case TtyType.Vt or TtyType.Serial when IsOutside(info):
                return Inherit(info);
            default:
                var fd = HeldFd.Open(PathOf(file), (int)file.Flags | OpenFlags.O_NOCTTY, $"the {info.Type} terminal of file {file.Id}");
                SetParameters(fd.Fd, info, PathOf(file));
                return fd;
        }
    }

    /// <summary>
    /// A session leader takes its controlling terminal and foreground group again, before its descriptors (one of
    /// them may be /dev/tty). The group exists: every group of the tree is made before any process is rebuilt. The
    /// root of a --shell-job tree that leads its own group is made the foreground group of Ferry's terminal instead.
    /// </summary>
    public void RestoreControllingTerminal(TracedTask leader, pstree_entry process, FdTransfer fds, RemoteScratch scratch)
    {
        if (process.Ppid == 0 && shellJob && process.Sid != process.Pid && process.Pgid == process.Pid && HasOutsideTerminal())
            _foregroundGroup = leader.Pid;
        if (process.Sid != process.Pid)
            return;
        // Like CRIU: the slave end rather than the master when both name the session.
        var info = _images.Infos.Values
            .Where(i => i.Sid == process.Pid && i.Type is not (TtyType.Ctty or TtyType.ExtTty) && i.Termios is not null && !IsOutside(i))
            .OrderBy(IsMaster).FirstOrDefault();
        if (info is null)
            return;
        using var terminal = OpenForSession(info);
        int remote = fds.Take(terminal.Fd);
        try
        {
            long result = leader.Syscall(Sys.ioctl, remote, TtyIoctl.TIOCSCTTY, 0);
            if (result < 0)
                throw new FerryException($"pid {process.Pid} cannot take its controlling terminal (tty {info.Id}) again: TIOCSCTTY failed with {Errno.Name((int)-result)}");
            if (info.Pgrp != 0)
            {
                scratch.Write(0, (int)info.Pgrp);
                result = leader.Syscall(Sys.ioctl, remote, TtyIoctl.TIOCSPGRP, scratch.At(0));
                if (result < 0)
                    throw new FerryException($"pid {process.Pid} cannot make group {info.Pgrp} the foreground of its terminal again: TIOCSPGRP failed with {Errno.Name((int)-result)}");
            }
        }
        finally
        {
            fds.CloseRemote(remote);
        }
        log.Debug($"pid {process.Pid}: controlling terminal tty {info.Id} (foreground group {info.Pgrp})");
    }

    HeldFd OpenForSession(tty_info_entry info)
    {
        if (info.Type != TtyType.Pty)
            return HeldFd.Open(PathOf(set.Files.Values.First(f => f.Tty?.TtyInfoId == info.Id).Tty), OpenFlags.O_RDWR | OpenFlags.O_NOCTTY, "a controlling terminal");
        MakePair(info.Pty.Index);
        return HeldFd.Open(SlavePath(info.Pty.Index), OpenFlags.O_RDWR | OpenFlags.O_NOCTTY, "a controlling terminal");
    }

    /// <summary>
    /// Makes pty pair <paramref name="index"/> with all its dumped descriptions. A pair whose master no process had is
    /// either Ferry's terminal (--shell-job) or hung (its master was closed before the dump): then a master is made
    /// for the time the slaves are opened, and closing it hangs them up as they were.
    /// </summary>
    void MakePair(uint index)
    {
        if (!_pairs.Add(index))
            return;
        uint slaveId = index << 1, masterId = slaveId + 1;
        var masters = FilesOf(masterId);
        var slaves = FilesOf(slaveId);
        var slaveInfo = _images.Infos.GetValueOrDefault(slaveId);
        if (masters.Count == 0 && slaveInfo?.Termios is not null)
            return; // outside the tree: Open inherits Ferry's terminal for each of its files
        var masterInfo = _images.Infos.GetValueOrDefault(masterId);
        var master = OpenPtmx(masters.Count > 0 ? PathOf(masters[0]) : "/dev/ptmx", index, masters.Count > 0 ? (int)masters[0].Flags : OpenFlags.O_RDWR);
        try
        {
            Ioctl(master.Fd, TtyIoctl.TIOCSPTLCK, 0, "unlock the pty");
            if (masterInfo is not null)
                SetParameters(master.Fd, masterInfo, "/dev/ptmx");
            if (masterInfo?.PacketMode == true)
                Ioctl(master.Fd, TtyIoctl.TIOCPKT, 1, "set packet mode");
            foreach (var slave in slaves)
            {
                var fd = HeldFd.Open(PathOf(slave), (int)slave.Flags | OpenFlags.O_NOCTTY, $"the pty slave of file {slave.Id}");
                _made[slave.Id] = fd;
                if (slaveInfo is not null)
                    SetParameters(fd.Fd, slaveInfo, PathOf(slave));
            }
            if (slaves.Count > 0 && _images.Queued.TryGetValue(masterId, out var output))
                PtyQueue.Put(_made[slaves[0].Id].Fd, output);
            if (_images.Queued.TryGetValue(slaveId, out var input))
                PtyQueue.Put(master.Fd, input);
            if (slaveInfo?.Exclusive == true && slaves.Count > 0)
                Ioctl(_made[slaves[0].Id].Fd, TtyIoctl.TIOCEXCL, 0, "make it exclusive");
            if (masterInfo?.Exclusive == true)
                Ioctl(master.Fd, TtyIoctl.TIOCEXCL, 0, "make it exclusive");
            if (masterInfo?.Locked == true)
                Ioctl(master.Fd, TtyIoctl.TIOCSPTLCK, 1, "lock the pty");
        }
        catch
        {
            master.Dispose();
            throw;
        }
        if (masters.Count == 0)
        {
            master.Dispose();
            log.Debug($"pty {index}: made hung up, as its master was closed at dump time");
            return;
        }
        _made[masters[0].Id] = master;
        // One pty has one master description; more files naming it share it.
        foreach (var other in masters.Skip(1))
            _made[other.Id] = HeldFd.Duplicate(master.Fd, $"the master of pty {index}");
        log.Debug($"pty {index}: master and {slaves.Count} slave description(s) made");
    }

    /// <summary>/dev/ptmx hands out the lowest free index: it is opened (holding the lower ones) until it gives ours.</summary>
    static HeldFd OpenPtmx(string path, uint index, int flags)
    {
        if (File.Exists(SlavePath(index)))
            throw new FerryException($"pty index {index} is taken: {SlavePath(index)} exists; the restore needs it free");
        var lower = new List<HeldFd>();
        try
        {
            while (true)
            {
                var fd = HeldFd.Open(path, flags | OpenFlags.O_NOCTTY, $"a pty master for index {index}");
                uint got = PtyIndex.Of(fd.Fd, TerminalDriver.PtyMaster, path);
                if (got == index)
                    return fd;
                lower.Add(fd);
                if (got > index || lower.Count > TerminalDriver.MaxPtyIndex)
                    throw new FerryException($"pty index {index} is taken: {path} handed out {got} past it; the restore needs it free");
            }
        }
        finally
        {
            foreach (var fd in lower) fd.Dispose();
        }
    }

    /// <summary>--shell-job: the terminal outside the tree becomes Ferry's standard input's terminal.</summary>
    HeldFd Inherit(tty_info_entry info)
    {
        if (!shellJob)
            throw new FerryException($"the dump has a terminal (tty {info.Id}{(info.Pty is { } pty ? $", /dev/pts/{pty.Index}" : "")}) that was outside the dumped tree; " +
                "restore with --shell-job to put it on ferry's own terminal");
        if (TtyCalls.isatty(0) == 0)
            throw new FerryException("--shell-job: ferry's standard input is not a terminal, so the dumped process's terminal has nothing to become");
        var fd = HeldFd.Duplicate(0, "ferry's standard input");
        if (_inherited)
            return fd;
        // Once, while Ferry is still in the foreground: a background process that changes its terminal is stopped.
        _inherited = true;
        SetParameters(fd.Fd, info, "ferry's terminal");
        if (_foregroundGroup is { } group)
            TakeForeground(group);
        return fd;
    }

    bool HasOutsideTerminal() => _images.Infos.Values.Any(IsOutside);

    /// <summary>
    /// A terminal of the shell that ran the tree (a --shell-job dump): a pty slave without its master in the tree, or,
    /// as CRIU takes them with --shell-job, a virtual console or serial port controlling a session no process of
    /// the tree leads.
    /// </summary>
    bool IsOutside(tty_info_entry info) => info.Type switch
    {
        TtyType.ExtTty => true,
        TtyType.Pty => !IsMaster(info) && info.Termios is not null && FilesOf(info.Id | 1).Count == 0,
        TtyType.Vt or TtyType.Serial => shellJob && info.Sid != 0 && !set.Tasks.Any(t => t.Process.Pid == info.Sid && t.Process.Sid == info.Sid),
        _ => false,
    };

    /// <summary>
    /// As CRIU does for a shell job: the restored root, leading its own group (a job of an interactive shell), becomes
    /// the foreground of Ferry's terminal, so keys typed there reach it. Only when Ferry itself is in the foreground
    /// of that terminal; Ferry touches the terminal no more after this.
    /// </summary>
    void TakeForeground(int group)
    {
        if (TtyCalls.isatty(0) == 0 || TtyCalls.tcgetpgrp(0) != TtyCalls.getpgrp())
        {
            log.Debug("--shell-job: ferry is not in the foreground of a terminal on its standard input; the foreground group stays");
            return;
        }
        Ioctl(0, TtyIoctl.TIOCSPGRP, group, "make the restored root the foreground group of ferry's terminal");
    }

    static bool IsMaster(tty_info_entry info) => info.Type == TtyType.Pty && (info.Id & 1) == 1;

    List<tty_file_entry> FilesOf(uint infoId) =>
        set.Files.Values.Where(f => f.Type == fd_types.Tty && f.Tty.TtyInfoId == infoId).Select(f => f.Tty).OrderBy(f => f.Id).ToList();

    string PathOf(tty_file_entry file) =>
        file.HasRegfId ? set.Files[file.RegfId].Reg.Name
        : throw new FerryException($"TTY file {file.Id} has no regular file entry (regf_id) naming its path");

    static string SlavePath(uint index) => $"/dev/pts/{index}";

    /// <summary>
    /// /dev/tty means the caller's controlling terminal, so the task opens it itself (its session has its terminal
    /// again by now); Ferry takes a copy, so every process that shared the description shares it again.
    /// </summary>
    static HeldFd OpenInside(tty_file_entry file, TracedTask task, RemoteScratch scratch)
    {
        scratch.Write(0, "/dev/tty\0"u8);
        long fd = task.Syscall(Sys.openat, OpenFlags.AT_FDCWD, scratch.At(0), file.Flags | OpenFlags.O_CLOEXEC, 0);
        if (fd < 0)
            throw new FerryException($"{task} cannot open /dev/tty (file {file.Id}) again: {Errno.Name((int)-fd)}; its session has no controlling terminal");
        try
        {
            using var pidfd = PidFd.Open(task.Pid);
            return pidfd.GetFd((int)fd);
        }
        finally
        {
            task.Syscall(Sys.close, fd);
        }
    }

    /// <summary>Owner, locked termios, termios and window size, in CRIU's order (the locked ones bound what termios may change).</summary>
    static unsafe void SetParameters(int fd, tty_info_entry info, string what)
    {
        if (info.Termios is null)
            return; // hung: nothing was recorded
        FileStatus st = FileTable.Stat(fd);
        if (info.HasUid && info.HasGid && (st.st_uid != info.Uid || st.st_gid != info.Gid) && TtyCalls.fchown(fd, info.Uid, info.Gid) < 0)
            throw LinuxException.FromLastError($"fchown of {what} to {info.Uid}:{info.Gid}");
        if (info.TermiosLocked is { } lockedEntry)
        {
            var locked = TermiosImage.ToKernel(lockedEntry);
            if (TtyCalls.ioctl(fd, TtyIoctl.TIOCSLCKTRMIOS, &locked) < 0)
            {
                // Setting them needs CAP_SYS_ADMIN in the initial user namespace; equal ones need not be set.
                var error = LinuxException.FromLastError($"ioctl(TIOCSLCKTRMIOS) on {what}");
                KernelTermios current;
                if (error.ErrorNumber != Errno.EPERM || TtyCalls.ioctl(fd, TtyIoctl.TIOCGLCKTRMIOS, &current) < 0
                    || !new ReadOnlySpan<byte>(&current, sizeof(KernelTermios)).SequenceEqual(new ReadOnlySpan<byte>(&locked, sizeof(KernelTermios))))
                    throw error;
            }
        }
        if (info.Termios is { } termiosEntry)
        {
            var termios = TermiosImage.ToKernel(termiosEntry);
            if (TtyCalls.ioctl(fd, TtyIoctl.TCSETS, &termios) < 0)
                throw LinuxException.FromLastError($"ioctl(TCSETS) on {what}");
        }
        if (info.Winsize is { } windowEntry)
        {
            var window = TermiosImage.ToKernel(windowEntry);
            if (TtyCalls.ioctl(fd, TtyIoctl.TIOCSWINSZ, &window) < 0)
                throw LinuxException.FromLastError($"ioctl(TIOCSWINSZ) on {what}");
        }
    }

    static unsafe void Ioctl(int fd, uint request, int value, string what)
    {
        if (TtyCalls.ioctl(fd, request, &value) < 0)
            throw LinuxException.FromLastError($"ioctl to {what}");
    }

    public void Dispose()
    {
        foreach (var fd in _made.Values) fd.Dispose();
        _made.Clear();
    }
}
