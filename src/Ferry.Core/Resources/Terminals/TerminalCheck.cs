using Ferry.Checkpoint;
using Ferry.Diagnostics;
using Ferry.Linux;
using Ferry.Procfs;
using Ferry.Resources.Files;

namespace Ferry.Resources.Terminals;

/// <summary>
/// Refuses, before anything is collected, terminals a restore could not give back: one a session outside the tree
/// controls (the terminal of the shell that started the program), or a pty slave whose master no process of the tree
/// holds. Both are what --shell-job is for: the restore puts them on Ferry's own terminal. Like CRIU, at most one such
/// outside terminal is accepted, and terminals CRIU has no driver for (serial ports of TTY_MAJOR) are refused.
/// </summary>
internal static class TerminalCheck
{
    public static void Refuse(IReadOnlyList<CheckedProcess> processes, bool shellJob)
    {
        var tree = processes.Select(p => p.Process.Pid).ToHashSet();
        var masters = new HashSet<uint>();
        var slaves = new Dictionary<uint, (int Pid, int Fd, string Path)>();
        foreach (var process in processes.Where(p => p.Fds is not null))
        {
            int pid = process.Process.Pid;
            PidFd? pidfd = null; // opened for the first terminal: most processes have none, only /dev/null
            try
            {
                foreach (var fd in process.Fds!.Where(f => f.Kind == FdTargetKind.Path && f.Path.StartsWith("/dev/", StringComparison.Ordinal)))
                {
                    // stat through the /proc link tells a terminal apart without taking a copy of the descriptor.
                    var st = StatOf(pid, fd.Fd);
                    if (st.Type != Linux.FileStatus.S_IFCHR || !TerminalDriver.IsTerminal(st.st_rdev))
                        continue;
                    pidfd ??= PidFd.Open(pid);
                    using var local = pidfd.GetFd(fd.Fd);
                    var driver = TerminalDriver.Of(st.st_rdev)
                        ?? throw new FerryException($"process {pid} has fd {fd.Fd} open on the terminal {fd.Path}, a kind of terminal ferry cannot checkpoint; the process was left running untouched");
                    var session = TerminalSession.Of(local.Fd, driver, st.st_rdev, process.Stat);
                    if (session.Sid != 0 && !tree.Contains(session.Sid) && !shellJob)
                        throw new FerryException($"process {pid} has fd {fd.Fd} open on {fd.Path}, the terminal of session {session.Sid} outside the dumped tree " +
                            "(a shell's terminal?); dump it with --shell-job, and restore with --shell-job to put it on ferry's own terminal; the process was left running untouched");
                    if (!driver.IsPty || session.Hung)
                        continue;
                    uint index = PtyIndex.Of(local.Fd, driver, fd.Path);
                    if (driver.IsMaster) masters.Add(index);
                    else slaves.TryAdd(index, (pid, fd.Fd, fd.Path));
                }
            }
            finally
            {
                pidfd?.Dispose();
            }
        }
        var unpaired = slaves.Where(s => !masters.Contains(s.Key)).Select(s => s.Value).ToList();
        if (unpaired.Count > 0 && !shellJob)
            throw new FerryException($"process {unpaired[0].Pid} has fd {unpaired[0].Fd} open on {unpaired[0].Path}, a terminal whose master no process of the tree holds; " +
                "dump it with --shell-job, and restore with --shell-job to put it on ferry's own terminal; the process was left running untouched");
        if (unpaired.Count > 1)
            throw new FerryException($"the tree has {unpaired.Count} terminals whose master is outside it ({string.Join(", ", unpaired.Select(u => u.Path))}); " +
                "--shell-job gives back one, on ferry's own terminal; the process was left running untouched");
    }

    static unsafe Linux.FileStatus StatOf(int pid, int fd)
    {
        var path = $"/proc/{pid}/fd/{fd}";
        Linux.FileStatus st;
        if (Linux.FileCalls.stat(path, &st) < 0)
            throw LinuxException.FromLastError($"stat {path}");
        return st;
    }
}
