namespace Ferry.Linux;

/// <summary>What every Ferry process must do before anything else.</summary>
public static class ProcessSetup
{
    /// <summary>
    /// A parent that ignores SIGCHLD makes the kernel auto-reap our children, so waitpid fails with ECHILD
    /// and .NET's Process.WaitForExit hangs. Restoring the default disposition first thing avoids both.
    /// </summary>
    public static void ResetChildSignal() => LibC.signal(LibC.SIGCHLD, LibC.SIG_DFL);
}
