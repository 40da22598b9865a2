using Ferry.Diagnostics;
using Ferry.Images.Protos;
using Ferry.Linux;
using Ferry.Resources.Files;
using Ferry.Restore;
using Ferry.Restore.Husk;
using Ferry.Tracing;

namespace Ferry.Resources.Pidfds;

/// <summary>
/// Makes pidfds again. A pidfd of a living process of the tree is opened by the restored task itself (pidfd_open of
/// the dumped pid, which its own pid namespace knows) and lent to Ferry, which hands it out like every description. A
/// pidfd of a process that was gone at dump time refers to a process that has ended, as CRIU makes it: a short-lived
/// process (a stopped husk) is started, every dumped pidfd of that dead process (one inode) is opened on it, and it is reaped, so they
/// report its exit (poll) and signal nobody (ESRCH). One instance serves the whole tree.
/// </summary>
public sealed class PidfdRestorer(DumpSet set) : IDisposable
{
    const uint NonBlock = OpenFlags.O_NONBLOCK; // PIDFD_NONBLOCK, the only flag pidfd_open takes that Ferry restores
    readonly Dictionary<uint, HeldFd> _dead = new();

    /// <summary>Ferry's descriptor of the pidfd <paramref name="entry"/>, to be installed into <paramref name="task"/>.</summary>
    public HeldFd Open(pidfd_entry entry, TracedTask task)
    {
        if (entry.Nspid == -1)
            return OpenDead(entry);
        int remote = (int)task.SyscallOrThrow(Sys.pidfd_open, entry.Nspid, entry.Flags & NonBlock);
        try
        {
            using var pidfd = PidFd.Open(task.Pid);
            return pidfd.GetFd(remote);
        }
        finally
        {
            task.SyscallOrThrow(Sys.close, remote);
        }
    }

    HeldFd OpenDead(pidfd_entry entry)
    {
        if (_dead.Remove(entry.Id, out var made))
            return made;
        var sharing = set.Files.Values.Where(f => f.Pidfd is { Nspid: -1 } p && p.Ino == entry.Ino).Select(f => f.Pidfd).ToList();
        int pid;
        using (var launcher = new HuskLauncher())
            pid = launcher.StartStopped(); // a stopped husk, this process's child
        try
        {
            foreach (var pidfd in sharing)
            {
                long fd = LibC.syscall(Sys.pidfd_open, pid, pidfd.Flags & NonBlock, 0, 0, 0, 0);
                if (fd < 0)
                    throw new FerryException($"cannot open a pidfd of a short-lived process for the dead process of pidfd {pidfd.Id}: {Errno.Name(LinuxException.FromLastError("pidfd_open").ErrorNumber)}");
                _dead[pidfd.Id] = new HeldFd((int)fd);
            }
        }
        finally
        {
            End(pid); // the pidfds now refer to a process that is gone
        }
        _dead.Remove(entry.Id, out made);
        return made ?? throw new FerryException($"pidfd {entry.Id} is missing from files.img");
    }

    static unsafe void End(int pid)
    {
        int status;
        HuskNative.kill(pid, HuskNative.SIGKILL);
        if (HuskNative.waitpid(pid, &status, HuskNative.__WALL) != pid)
            throw new FerryException($"cannot reap the short-lived process {pid} made for a pidfd of a dead process: {Errno.Name(System.Runtime.InteropServices.Marshal.GetLastPInvokeError())}");
    }

    public void Dispose()
    {
        foreach (var fd in _dead.Values)
            fd.Dispose();
        _dead.Clear();
    }
}
