namespace Ferry.Linux;

/// <summary>What every Ferry process must do before anything else.</summary>
public static class ProcessSetup
{
    const ulong SIG_IGN = 1;

    /// <summary>
    /// A parent that ignores SIGCHLD makes the kernel auto-reap our children, so waitpid fails with ECHILD
    /// and .NET's Process.WaitForExit hangs. Only an inherited "ignore" is reset to the default: a handler that
    /// the runtime may already have installed is left alone, since replacing it would break .NET's own reaping.
    /// </summary>
    public static unsafe void ResetChildSignal()
    {
        KernelSigAction current;
        if (LibC.syscall(Sys.rt_sigaction, LibC.SIGCHLD, 0, (long)&current, sizeof(ulong), 0, 0) == 0 && current.handler == SIG_IGN)
            LibC.signal(LibC.SIGCHLD, LibC.SIG_DFL);
    }
}
