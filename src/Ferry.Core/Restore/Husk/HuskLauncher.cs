using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace Ferry.Restore.Husk;

/// <summary>clone3 in the husk failed; <see cref="Errno"/> is the kernel's error (17 EEXIST: PID in use).</summary>
public sealed class HuskLaunchException(int errno, string message) : Exception(message)
{
    public int Errno { get; } = errno;
}

/// <summary>
/// Starts husks (see <see cref="HuskImage"/> for the protocol) from one in-memory copy of the image and returns
/// them stopped (SIGSTOP, not traced), ready for PTRACE_SEIZE. The husk gets Ferry's descriptors 0-2 and
/// nothing else. Not thread-safe: use from one thread.
/// </summary>
public sealed unsafe class HuskLauncher : IDisposable
{
    readonly SafeFileHandle _image = HuskImage.CreateMemfd();

    /// <summary>Starts a husk with whatever PID the kernel picks; returns that PID once the husk has stopped itself.</summary>
    public int StartStopped()
    {
        int pid = Spawn(request: null);
        WaitStopped(pid);
        return pid;
    }

    /// <summary>
    /// Starts a husk whose process gets exactly <paramref name="setTid"/> (innermost pid namespace first, the
    /// last entry being the PID in our namespace) and returns that last PID once the husk is stopped. With
    /// CLONE_PARENT (the default) it is this process's child. For the init of a new pid namespace pass
    /// CLONE_PARENT | CLONE_NEWPID and set_tid {1, outerPid}.
    /// </summary>
    /// <exception cref="HuskLaunchException">clone3 failed, e.g. EEXIST when the PID is in use.</exception>
    public int StartWithPid(ReadOnlySpan<int> setTid, ulong cloneFlags = HuskImage.CLONE_PARENT)
    {
        byte[] request = HuskImage.BuildRequest(setTid, cloneFlags);
        string wanted = string.Join(",", setTid.ToArray());
        using var requestFile = HuskNative.CreateMemfd("ferry-husk-request");
        RandomAccess.Write(requestFile, request, 0);
        int launcher = Spawn(requestFile);
        int status;
        if (HuskNative.waitpid(launcher, &status, HuskNative.__WALL) != launcher)
            throw new IOException($"waitpid(husk launcher {launcher}) failed: errno {Marshal.GetLastPInvokeError()}");
        if ((status & 0x7f) != 0) throw new IOException($"husk launcher {launcher} was killed by signal {status & 0x7f}");
        int exitCode = (status >> 8) & 0xff;
        if (exitCode != 0)
        {
            string reason = exitCode switch
            {
                17 => "EEXIST (the PID is in use)",
                22 => "EINVAL (PID above pid_max, or set_tid deeper than the pid namespace nesting)",
                1 => "EPERM (no CAP_SYS_ADMIN/CAP_CHECKPOINT_RESTORE in the owning user namespace)",
                HuskImage.BadRequestExitCode => "the husk read a truncated request",
                _ => $"errno {exitCode}",
            };
            throw new HuskLaunchException(exitCode, $"husk clone3 with set_tid [{wanted}] failed: {reason}");
        }
        // set_tid is innermost namespace first: the last entry is the PID in our namespace, unless only the new
        // namespace's PID was chosen and ours left to the kernel.
        bool newNamespace = (cloneFlags & HuskImage.CLONE_NEWPID) != 0;
        int pid = newNamespace && setTid.Length == 1 ? FindOwnChildWithInnerPid(setTid[0]) : setTid[^1];
        // A pid-namespace init ignores its own SIGSTOP; from an ancestor namespace the signal is honoured.
        if ((cloneFlags & HuskImage.CLONE_NEWPID) != 0) HuskNative.kill(pid, HuskNative.SIGSTOP);
        WaitStopped(pid, isChild: (cloneFlags & HuskImage.CLONE_PARENT) != 0);
        return pid;
    }

    int Spawn(SafeFileHandle? request)
    {
        int self = Environment.ProcessId;
        // Paths through /proc/<our pid>/fd, not /proc/self/fd: the file actions below rewrite the child's fd 3.
        string imagePath = $"/proc/{self}/fd/{_image.DangerousGetHandle()}";
        string requestPath = request is null ? "/dev/null" : $"/proc/{self}/fd/{request.DangerousGetHandle()}";
        byte* actions = stackalloc byte[256]; // posix_spawn_file_actions_t is 80 bytes in glibc
        nint name = Marshal.StringToCoTaskMemUTF8("ferry-husk");
        try
        {
            Check(HuskNative.posix_spawn_file_actions_init(actions), "posix_spawn_file_actions_init");
            // A fresh open gives the husk its own offset 0 in the request, or EOF (plain mode) with /dev/null.
            Check(HuskNative.posix_spawn_file_actions_addopen(actions, HuskImage.RequestFd, requestPath, HuskNative.O_RDONLY, 0),
                "posix_spawn_file_actions_addopen");
            Check(HuskNative.posix_spawn_file_actions_addclosefrom_np(actions, HuskImage.RequestFd + 1),
                "posix_spawn_file_actions_addclosefrom_np");
            nint* argv = stackalloc nint[2] { name, 0 };
            nint* envp = stackalloc nint[1] { 0 };
            int pid;
            Check(HuskNative.posix_spawn(&pid, imagePath, actions, null, argv, envp), $"posix_spawn({imagePath})");
            return pid;
        }
        finally
        {
            HuskNative.posix_spawn_file_actions_destroy(actions);
            Marshal.FreeCoTaskMem(name);
        }
    }

    /// <summary>Our child (CLONE_PARENT made the husk ours) whose PID in its own namespace is <paramref name="innerPid"/>.</summary>
    static int FindOwnChildWithInnerPid(int innerPid) =>
        Procfs.ProcTasks.WithInnerPid(Procfs.ProcTasks.ReadAllChildren(Environment.ProcessId), innerPid)
        ?? throw new IOException($"the husk with pid {innerPid} in its new namespace is not among this process's children");

    static void Check(int rc, string what)
    {
        if (rc != 0) throw new IOException($"{what} failed: errno {rc}");
    }

    static void WaitStopped(int pid, bool isChild = true)
    {
        if (isChild)
        {
            int status;
            if (HuskNative.waitpid(pid, &status, HuskNative.WUNTRACED | HuskNative.__WALL) != pid)
                throw new IOException($"waitpid(husk {pid}) failed: errno {Marshal.GetLastPInvokeError()}");
            if ((status & 0xff) != 0x7f || (status >> 8 & 0xff) != HuskNative.SIGSTOP)
                throw new IOException($"husk {pid} did not stop itself (wait status 0x{status:x})");
            return;
        }
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (Procfs.ProcStatFile.Read(pid).State != 'T')
        {
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"husk {pid} did not stop within 10 s");
            Thread.Sleep(1);
        }
    }

    public void Dispose() => _image.Dispose();
}
