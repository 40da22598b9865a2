using Ferry.IntegrationTests.Support;
using Ferry.Namespaces;
using Ferry.Procfs;
using Ferry.Linux;
using Ferry.Restore.Husk;
using Ferry.Tracing;
using Xunit;

namespace Ferry.IntegrationTests.Run;

/// <summary>The restore's building block: husks with chosen PIDs inside fresh Ferry-made pid namespaces (needs root).</summary>
public sealed class PidNamespaceSessionTests
{
    const int InnerPid = 12345;

    [RootFact]
    public void HuskGetsTheChosenInnerPidAsChildOfTheInit()
    {
        using var session = PidNamespaceSession.Create();
        int husk = session.StartHusk(InnerPid);
        var status = ProcStatusFile.Read(husk);
        Assert.Equal([husk, InnerPid], status.NSpid);
        Assert.Equal(session.InitPid, status.PPid);
        Assert.Equal('T', status.State);
        Assert.Equal("/memfd:ferry-husk (deleted)", new FileInfo($"/proc/{husk}/exe").LinkTarget);
        Assert.Equal([0, 1, 2], ProcFds.Read(husk).Select(f => f.Fd).Order());
        Assert.Equal([session.InitPid, 1], ProcStatusFile.Read(session.InitPid).NSpid);
        Assert.True(FerryNamespaces.IsFerryInit(session.InitPid));
        Assert.Equal(session.InitPid, FerryNamespaces.FindFerryInit(husk));
        Assert.Null(FerryNamespaces.FindFerryInit(Environment.ProcessId));
    }

    [RootFact]
    public void SeizedHuskSeesItsInnerPidAndTheInitAsParent()
    {
        using var session = PidNamespaceSession.Create();
        int husk = session.StartHusk(InnerPid);
        // Tracer.Seize interrupts a running task; a group-stopped husk would report a second stop. Let it run
        // on into its pause() first.
        Kill(husk, Signals.SIGCONT);
        while (ProcStatFile.Read(husk).State != 'S') Thread.Sleep(1);
        using var tracer = new Tracer();
        var task = tracer.Seize(husk);
        Assert.Equal(InnerPid, task.Syscall(Sys.getpid));
        Assert.Equal(1, task.Syscall(Sys.getppid));
        task.Kill();
    }

    [RootFact]
    public void TwoNamespacesHoldTheSameInnerPidAtOnce()
    {
        using var first = PidNamespaceSession.Create();
        using var second = PidNamespaceSession.Create();
        int a = first.StartHusk(InnerPid), b = second.StartHusk(InnerPid);
        Assert.NotEqual(a, b);
        Assert.Equal([a, InnerPid], ProcStatusFile.Read(a).NSpid);
        Assert.Equal([b, InnerPid], ProcStatusFile.Read(b).NSpid);
    }

    [RootFact]
    public void TakenInnerPidIsEexist()
    {
        using var session = PidNamespaceSession.Create();
        session.StartHusk(InnerPid);
        var e = Assert.Throws<HuskLaunchException>(() => session.StartHusk(InnerPid));
        Assert.Equal(17, e.Errno);
        Assert.Contains("EEXIST", e.Message);
    }

    [RootFact]
    public void AdoptedHuskDecidesTheExitStatus()
    {
        using var session = PidNamespaceSession.Create();
        int husk = session.StartHusk(InnerPid);
        int other = session.StartHusk(InnerPid + 1);
        session.Adopt(InnerPid);
        Kill(husk, 9);
        Assert.Equal(128 + 9, session.WaitForExit());
        Assert.False(Directory.Exists($"/proc/{other}")); // the end of the init ends the namespace
    }

    [RootFact]
    public void AbandonedSessionEndsItsNamespace()
    {
        var session = PidNamespaceSession.Create();
        int husk = session.StartHusk(InnerPid);
        Assert.Equal(InitImage.AbandonedExitCode, session.WaitForExit()); // channel closed, nothing adopted
        Assert.False(Directory.Exists($"/proc/{husk}"));
        session.Dispose();
    }

    [RootFact]
    public void DetachedSessionLivesOn()
    {
        var session = PidNamespaceSession.Create();
        int husk = session.StartHusk(InnerPid);
        session.Adopt(InnerPid);
        session.Detach();
        Thread.Sleep(50);
        Assert.NotEqual('Z', ProcStatFile.Read(session.InitPid).State);
        Assert.Equal('T', ProcStatFile.Read(husk).State);
        Kill(husk, 9);
        Assert.Equal(128 + 9, session.WaitForExit()); // the init is still our child: reap it
    }

    [RootFact]
    public void DisposeKillsTheNamespace()
    {
        int husk, init;
        using (var session = PidNamespaceSession.Create())
        {
            husk = session.StartHusk(InnerPid);
            init = session.InitPid;
        }
        Assert.False(Directory.Exists($"/proc/{husk}"));
        Assert.False(Directory.Exists($"/proc/{init}"));
    }

    static void Kill(int pid, int signal) => Assert.Equal(0, LibC.kill(pid, signal));
}
