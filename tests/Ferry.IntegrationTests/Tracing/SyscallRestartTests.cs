using Ferry.IntegrationTests.Support;
using Ferry.Linux;
using Ferry.Tracing;
using Xunit;

namespace Ferry.IntegrationTests.Tracing;

/// <summary>
/// A task stopped inside a blocking syscall, used for remote syscalls and released, must go on blocking and finish
/// exactly as if nothing had happened: its saved registers (orig_rax, -ERESTART* in rax) make the kernel restart it.
/// </summary>
public sealed class SyscallRestartTests
{
    const int TriggerDelayMs = 300;

    /// <summary>How the blocked call is ended: data on its stdin pipe, a SIGUSR1, or its own timeout/child.</summary>
    public enum Trigger { Pipe, Signal, Itself }

    [RootTheory]
    [InlineData("read", new long[] { Sys.read }, Trigger.Pipe, "2", "0", TriggerDelayMs)]
    [InlineData("poll", new long[] { Sys.poll, Sys.ppoll }, Trigger.Pipe, "1", "0", TriggerDelayMs)]
    [InlineData("select", new long[] { Sys.select, Sys.pselect6 }, Trigger.Itself, "0", "0", 1490)]
    [InlineData("futex", new long[] { Sys.futex }, Trigger.Itself, "-1", "ETIMEDOUT", 1490)]
    [InlineData("pause", new long[] { Sys.pause }, Trigger.Signal, "-1", "EINTR", TriggerDelayMs)]
    [InlineData("wait", new long[] { Sys.wait4, Sys.waitid }, Trigger.Itself, "7", "0", 1400)]
    public void A_blocked_syscall_restarts_after_remote_syscalls(string mode, long[] syscalls, Trigger trigger, string result, string errno, int minimumMs)
    {
        using var pipe = Pipe.Create();
        using var target = RunningTarget.Start("trace_blocker", Stdio.Descriptor(pipe.ReadFd), false, mode);
        var blockedIn = target.WaitUntilInSyscall(syscalls, Poll.Patience);
        using var tracer = new Tracer();
        var task = tracer.Seize(target.Pid);

        var regs = task.GetRegisters();
        Assert.Equal((ulong)blockedIn, regs.orig_rax);
        Assert.Contains(-(long)regs.rax, new long[] { Errno.ERESTARTSYS, Errno.ERESTARTNOINTR, Errno.ERESTARTNOHAND, Errno.ERESTART_RESTARTBLOCK });
        for (var i = 0; i < 10; i++) Assert.Equal(target.Pid, task.Syscall(Sys.getpid));
        using (var scratch = task.MapScratch()) Assert.Equal(0, task.Syscall(Sys.getitimer, Timers.ITIMER_REAL, scratch.At()));
        Assert.Equal(regs, task.GetRegisters());
        task.Detach();

        Thread.Sleep(TriggerDelayMs);
        Assert.False(target.Process.HasExited, $"{mode} returned early: {target.Output}");
        if (trigger == Trigger.Pipe) pipe.Write("hi");
        if (trigger == Trigger.Signal) target.Process.Signal(Signals.SIGUSR1);

        Assert.Equal(new ExitStatus(true, 0, 0), target.Process.WaitForExit(Poll.Patience));
        Assert.Equal(result, target.Value("result"));
        Assert.Equal(errno, target.Value("errno"));
        Assert.InRange(int.Parse(target.Value("elapsed_ms")), minimumMs, 10_000);
    }

    /// <summary>
    /// epoll_wait is never restarted: any stop makes it fail with EINTR (man 7 signal lists it among the calls that
    /// do so after a stop even without handlers). That is the kernel's doing, with or without remote syscalls.
    /// </summary>
    [RootFact]
    public void Epoll_wait_fails_with_EINTR_after_any_stop_as_the_kernel_documents()
    {
        using var pipe = Pipe.Create();
        using var target = RunningTarget.Start("trace_blocker", Stdio.Descriptor(pipe.ReadFd), false, "epoll");
        target.WaitUntilInSyscall([Sys.epoll_wait, Sys.epoll_pwait], Poll.Patience);
        using var tracer = new Tracer();
        var task = tracer.Seize(target.Pid);
        Assert.Equal(-Errno.EINTR, (long)task.GetRegisters().rax);
        Assert.Equal(target.Pid, task.Syscall(Sys.getpid));
        task.Detach();

        Assert.Equal(new ExitStatus(true, 0, 0), target.Process.WaitForExit(Poll.Patience));
        Assert.Equal("-1", target.Value("result"));
        Assert.Equal("EINTR", target.Value("errno"));
    }
}
