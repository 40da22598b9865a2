using Ferry.Linux;

namespace Ferry.Tracing;

/// <summary>A decoded waitpid status word.</summary>
public readonly record struct WaitStatus(int Raw)
{
    public bool Exited => (Raw & 0x7f) == 0;
    public int ExitCode => (Raw >> 8) & 0xff;
    public bool Signaled => (Raw & 0x7f) != 0 && (Raw & 0xff) != 0x7f;
    public int TermSignal => Raw & 0x7f;
    public bool Stopped => (Raw & 0xff) == 0x7f;
    public int StopSignal => (Raw >> 8) & 0xff;
    /// <summary>The PTRACE_EVENT_* of a ptrace event stop, 0 for a signal-delivery or syscall stop.</summary>
    public int Event => (Raw >> 16) & 0xff;
    public bool IsEventStop => Stopped && Event == Ptrace.EVENT_STOP;
    public bool IsGone => Exited || Signaled;

    public override string ToString() =>
        Exited ? $"exited with code {ExitCode}"
        : Signaled ? $"killed by signal {TermSignal}"
        : Stopped ? (Event != 0 ? $"stopped at ptrace event {Event} (signal {StopSignal})" : $"stopped by signal {StopSignal}")
        : $"status 0x{Raw:x}";
}
