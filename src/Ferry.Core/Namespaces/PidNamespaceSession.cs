using System.Buffers.Binary;
using Ferry.Diagnostics;
using Ferry.Linux;
using Ferry.Procfs;
using Ferry.Restore.Husk;
using Ferry.Tracing;

namespace Ferry.Namespaces;

/// <summary>
/// A fresh pid namespace (with its own mount namespace and /proc) whose PID 1 is ferry-init in session mode
/// (<see cref="InitImage"/>): the building block of <c>restore --pidns new</c>. Restored processes get their
/// dumped PIDs inside it, so they can never collide with a host PID.
/// <para>Use: <see cref="Create"/>; <see cref="StartHusk"/> for each process the restore must create at the top
/// of the namespace (the init clones it with set_tid {innerPid} and execs the husk, so it is the init's own
/// child: never ours, and it stays in the namespace when Ferry goes); seize and rebuild it; deeper processes are
/// cloned by their restored parents. Then <see cref="Adopt"/> the restored root: the init passes signals to it
/// and ends with its exit status. Without -d, <see cref="WaitForExit"/> (the init is our child, as with
/// CLONE_PARENT); with -d, <see cref="Detach"/> and exit: the namespace lives on. Dispose before an adoption (a
/// failed restore) kills the init and with it everything in the namespace.</para>
/// <para>Not thread-safe: one request at a time.</para>
/// </summary>
public sealed class PidNamespaceSession : IDisposable
{
    int _replies, _requests;
    int? _exitCode;
    bool _detached, _adopted;

    PidNamespaceSession(int initPid, int replies, int requests)
    {
        InitPid = initPid;
        _replies = replies;
        _requests = requests;
    }

    /// <summary>The init's PID in our namespace.</summary>
    public int InitPid { get; }

    /// <summary>Starts ferry-init as PID 1 of a new pid + mount namespace; it is our child.</summary>
    /// <param name="newIpcNamespace">A new IPC namespace too (the dump holds one to recreate); else Ferry's is shared.</param>
    public static PidNamespaceSession Create(bool newIpcNamespace = false)
    {
        var (replyRead, replyWrite) = NamespaceNative.HighPipe();
        var (requestRead, requestWrite) = NamespaceNative.HighPipe();
        using var huskImage = HuskImage.CreateMemfd();
        int huskFd = NamespaceNative.DupHigh((int)huskImage.DangerousGetHandle());
        try
        {
            int init = InitLauncher.Start([], [], nullStdio: true, replyRead, replyWrite, requestRead, huskFd, newIpcNamespace);
            var session = new PidNamespaceSession(init, replyRead, requestWrite);
            replyRead = requestWrite = -1;
            return session;
        }
        finally
        {
            NamespaceNative.Close(ref replyRead);
            NamespaceNative.Close(ref replyWrite);
            NamespaceNative.Close(ref requestRead);
            NamespaceNative.Close(ref requestWrite);
            NamespaceNative.Close(ref huskFd);
        }
    }

    /// <summary>
    /// Has the init clone a husk with PID <paramref name="innerPid"/> inside the namespace; returns the husk's
    /// PID in our namespace once it has stopped itself (SIGSTOP, untraced: ready for PTRACE_SEIZE, see
    /// <see cref="HuskImage"/>). Its fds 0-2 are /dev/null, its parent is the init.
    /// </summary>
    /// <exception cref="HuskLaunchException">clone3 failed in the init; Errno 17 (EEXIST) when the PID is taken.</exception>
    public int StartHusk(int innerPid)
    {
        int reply = Request(InitImage.SpawnHusk, innerPid);
        if (reply < 0)
            throw new HuskLaunchException(-reply, $"{InitImage.Comm} (pid {InitPid}) could not clone a husk with pid {innerPid} in its namespace: "
                + Errno.Name(-reply) + (reply == -Errno.EEXIST ? " (the PID is in use there)" : ""));
        int hostPid = HostPidOf(innerPid);
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (ProcStatFile.Read(hostPid).State != 'T')
        {
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"husk {hostPid} (pid {innerPid} inside) did not stop within 10 s");
            Thread.Sleep(1);
        }
        return hostPid;
    }

    /// <summary>The init's child <paramref name="innerPid"/> becomes the namespace's main process: signals go to it, the init ends with it.</summary>
    public void Adopt(int innerPid)
    {
        int reply = Request(InitImage.Adopt, innerPid);
        if (reply < 0) throw new FerryException($"{InitImage.Comm} (pid {InitPid}) cannot adopt pid {innerPid}: {Errno.Name(-reply)}");
        _adopted = true;
    }

    /// <summary>The PID in our namespace of the init's child whose PID inside is <paramref name="innerPid"/>.</summary>
    public int HostPidOf(int innerPid) =>
        ProcTasks.WithInnerPid(ProcTasks.ReadChildren(InitPid, InitPid), innerPid)
        ?? throw new FerryException($"{InitImage.Comm} (pid {InitPid}) has no child with pid {innerPid} in its namespace");

    /// <summary>Ends our part: the namespace lives on under its init. Only after <see cref="Adopt"/> (else the init exits at once).</summary>
    public void Detach()
    {
        if (!_adopted) throw new InvalidOperationException("detach needs an adopted main process: without one the init ends the namespace");
        CloseChannel();
        _detached = true;
    }

    /// <summary>Waits for the init to end (with its main process) and returns the exit code, or 128 + signal.</summary>
    public int WaitForExit()
    {
        CloseChannel();
        if (_exitCode is null)
        {
            var status = new WaitStatus(NamespaceNative.WaitFor(InitPid));
            _exitCode = status.Exited ? status.ExitCode : 128 + status.TermSignal;
        }
        return _exitCode.Value;
    }

    public void Dispose()
    {
        CloseChannel();
        if (_exitCode is not null || _detached) return;
        LibC.kill(InitPid, Signals.SIGKILL);
        WaitForExit();
    }

    void CloseChannel()
    {
        NamespaceNative.Close(ref _requests);
        NamespaceNative.Close(ref _replies);
    }

    int Request(int op, int arg)
    {
        if (_requests < 0) throw new InvalidOperationException("the session's channel to its init is closed");
        Span<byte> request = stackalloc byte[8];
        BinaryPrimitives.WriteInt32LittleEndian(request, op);
        BinaryPrimitives.WriteInt32LittleEndian(request[4..], arg);
        NamespaceNative.Write(_requests, request);
        return NamespaceNative.ReadInt(_replies)
            ?? throw new FerryException($"{InitImage.Comm} (pid {InitPid}) ended without answering");
    }
}
