using System.Runtime.InteropServices;
using Ferry.Diagnostics;
using Ferry.Linux;
using Ferry.Tracing;

namespace Ferry.Namespaces;

/// <summary>
/// Starts ferry-init (see <see cref="InitImage"/>): posix_spawn of the image with the descriptors it expects,
/// wait for the launcher half, read the init's PID from the report pipe. The init is then our child
/// (CLONE_PARENT), PID 1 of a new pid namespace with its own mount namespace and /proc.
/// </summary>
internal static unsafe class InitLauncher
{
    /// <param name="argv">argv after argv[0] (run mode: the program's absolute path and arguments; empty in session mode).</param>
    /// <param name="environment">"NAME=value" entries for the program.</param>
    /// <param name="nullStdio">Give the init /dev/null as fds 0-2 instead of ours.</param>
    /// <param name="reportRead">Read end of the report pipe (stays with us).</param>
    /// <param name="reportWrite">Write end of the report pipe: the init's fd 3.</param>
    /// <param name="fromFerryRead">Read end of the pipe from us: the init's fd 4.</param>
    /// <param name="huskImage">The husk image for session mode (the init's fd 5), or -1.</param>
    /// <param name="newIpcNamespace">Give the namespace an IPC namespace of its own too.</param>
    /// <returns>The init's PID in our pid namespace.</returns>
    public static int Start(IReadOnlyList<string> argv, IReadOnlyList<string> environment, bool nullStdio,
        int reportRead, int reportWrite, int fromFerryRead, int huskImage = -1, bool newIpcNamespace = true)
    {
        using var image = InitImage.CreateMemfd(newIpcNamespace);
        // Our /proc/<pid>/fd path, not /proc/self: the file actions renumber the child's descriptors before exec.
        string path = $"/proc/{Environment.ProcessId}/fd/{image.DangerousGetHandle()}";
        var actions = NativeMemory.AllocZeroed(LibC.PosixSpawnFileActionsSize);
        var attr = NativeMemory.AllocZeroed(LibC.PosixSpawnAttrSize);
        var sigset = NativeMemory.AllocZeroed(LibC.SigSetSize);
        var cArgv = CStringArray.Allocate([InitImage.Comm, .. argv]);
        var cEnvp = CStringArray.Allocate(environment);
        int launcher;
        try
        {
            Check(LibC.posix_spawn_file_actions_init(actions), "posix_spawn_file_actions_init");
            Check(LibC.posix_spawnattr_init(attr), "posix_spawnattr_init");
            if (nullStdio)
                for (int fd = 0; fd < 3; fd++)
                    Check(LibC.posix_spawn_file_actions_addopen(actions, fd, "/dev/null", OpenFlags.O_RDWR, 0), "posix_spawn_file_actions_addopen");
            // Every source descriptor is numbered 10 or more, so no dup2 below overwrites another's source.
            Check(LibC.posix_spawn_file_actions_adddup2(actions, reportWrite, InitImage.ReportFd), "posix_spawn_file_actions_adddup2");
            Check(LibC.posix_spawn_file_actions_adddup2(actions, fromFerryRead, InitImage.FromFerryFd), "posix_spawn_file_actions_adddup2");
            if (huskImage >= 0)
                Check(LibC.posix_spawn_file_actions_adddup2(actions, huskImage, InitImage.HuskImageFd), "posix_spawn_file_actions_adddup2");
            int firstUnused = huskImage >= 0 ? InitImage.HuskImageFd + 1 : InitImage.FromFerryFd + 1;
            Check(NamespaceNative.posix_spawn_file_actions_addclosefrom_np(actions, firstUnused), "posix_spawn_file_actions_addclosefrom_np");
            Check(LibC.posix_spawnattr_setsigmask(attr, sigset), "posix_spawnattr_setsigmask"); // nothing blocked
            new Span<byte>(sigset, 8).Fill(0xff); // every signal at SIG_DFL (.NET ignores SIGPIPE, for one)
            Check(LibC.posix_spawnattr_setsigdefault(attr, sigset), "posix_spawnattr_setsigdefault");
            Check(LibC.posix_spawnattr_setflags(attr, LibC.POSIX_SPAWN_SETSIGMASK | LibC.POSIX_SPAWN_SETSIGDEF), "posix_spawnattr_setflags");
            int pid;
            Check(LibC.posix_spawn(&pid, path, actions, attr, cArgv, cEnvp), $"posix_spawn({InitImage.Comm})");
            launcher = pid;
        }
        finally
        {
            LibC.posix_spawn_file_actions_destroy(actions);
            LibC.posix_spawnattr_destroy(attr);
            NativeMemory.Free(actions);
            NativeMemory.Free(attr);
            NativeMemory.Free(sigset);
            CStringArray.Free(cArgv);
            CStringArray.Free(cEnvp);
        }

        var status = new WaitStatus(NamespaceNative.WaitFor(launcher));
        if (!status.Exited) throw new FerryException($"the {InitImage.Comm} launcher (pid {launcher}) {status}");
        if (status.ExitCode != 0)
            throw new FerryException($"creating a pid namespace failed: clone3(CLONE_NEWPID | CLONE_NEWNS{(newIpcNamespace ? " | CLONE_NEWIPC" : "")}) gave {Errno.Name(status.ExitCode)}"
                + (status.ExitCode == Errno.EPERM ? " (run as root)" : ""));
        // The launcher wrote the PID before exiting; our own copy of the write end is still open, so no EOF here.
        return NamespaceNative.ReadInt(reportRead)
            ?? throw new FerryException($"the {InitImage.Comm} launcher exited without reporting the init's pid");
    }

    static void Check(int error, string call)
    {
        if (error != 0) throw new LinuxException(call, 0, error);
    }
}
