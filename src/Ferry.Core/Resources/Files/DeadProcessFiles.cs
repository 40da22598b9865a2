using System.Globalization;
using Ferry.Diagnostics;
using Ferry.Images.Protos;
using Ferry.Linux;
using Ferry.Restore;
using Ferry.Restore.Husk;

namespace Ferry.Resources.Files;

/// <summary>
/// Files under /proc/PID of a process that had ended by dump time (a working directory or descriptor left in a
/// /proc/PID that vanished). As CRIU (remap type PROCFS, remap_id = the PID), the restore gives that PID to a
/// short-lived process, opens the file while it lives and ends it once every task has its files and working
/// directory (the kernel lets nobody into the /proc directory of a process that is gone), so each task holds the
/// /proc entry of a process that is gone, as it did. One instance serves the whole tree.
/// </summary>
public sealed class DeadProcessFiles(DumpSet set) : IDisposable
{
    readonly HashSet<int> _helpers = new();

    /// <summary>The PID of a /proc/PID or /proc/PID/... path, or null for any other path (/proc/self, /proc/kmsg too).</summary>
    public static int? ProcessOf(string path)
    {
        if (!path.StartsWith("/proc/", StringComparison.Ordinal))
            return null;
        var rest = path.AsSpan("/proc/".Length);
        int slash = rest.IndexOf('/');
        var number = slash < 0 ? rest : rest[..slash];
        return int.TryParse(number, NumberStyles.None, CultureInfo.InvariantCulture, out int pid) && pid > 0 ? pid : null;
    }

    /// <summary>
    /// The PID whose /proc directory <paramref name="path"/> lies in when that process is gone: the kernel marks
    /// /proc/PID itself deleted, and a file below it is not marked but its /proc/PID no longer exists.
    /// </summary>
    public static int? DeadProcessOf(string path, bool deleted) =>
        ProcessOf(path) is { } pid && (deleted || !Directory.Exists($"/proc/{pid}")) ? pid : null;

    /// <summary>Opens <paramref name="reg"/> (a path under /proc/<paramref name="pid"/>) while a short-lived process has that PID.</summary>
    public HeldFd Open(reg_file_entry reg, int pid, int flags)
    {
        if (set.RanInOwnPidNamespace || set.RootIsNamespaceInit)
            throw new FerryException($"{reg.Name} belonged to a process that had ended in the tree's own pid namespace; ferry restores such files only in its own pid namespace");
        if (!_helpers.Contains(pid))
        {
            using var launcher = new HuskLauncher();
            try
            {
                launcher.StartWithPid([pid]);
            }
            catch (HuskLaunchException e)
            {
                throw new FerryException($"cannot give PID {pid} to a short-lived process to open {reg.Name} of that ended process: {e.Message}");
            }
            _helpers.Add(pid);
        }
        return HeldFd.Open(reg.Name, flags, $"the /proc entry of the ended process {pid}");
    }

    /// <summary>Ends the short-lived processes (stopped husks, this process's children) and reaps them.</summary>
    public unsafe void Dispose()
    {
        foreach (int pid in _helpers)
        {
            int status;
            HuskNative.kill(pid, HuskNative.SIGKILL);
            HuskNative.waitpid(pid, &status, HuskNative.__WALL);
        }
        _helpers.Clear();
    }
}
