namespace Ferry.Tracing;

/// <summary>
/// A task did not reach the stop PTRACE_INTERRUPT asked for before the deadline (it sleeps where interrupts are not
/// heard: a frozen cgroup, a vfork parent, an uninterruptible wait). The tracer has let go of it: the kernel detaches
/// it, its interrupt dropped, when the tracer thread ends (Tracer.Dispose).
/// </summary>
public sealed class StopTimeoutException(int tid, int pid, TimeSpan waited)
    : Exception($"{(tid == pid ? $"process {pid}" : $"thread {tid} of process {pid}")} did not stop within {waited.TotalSeconds:0.###} s")
{
    public int Tid { get; } = tid;
    public int Pid { get; } = pid;
    public TimeSpan Waited { get; } = waited;
}
