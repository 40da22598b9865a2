namespace Ferry.Check;

/// <summary>
/// Answers `check --feature NAME` the way CRIU does (exit 0 when usable), for the feature names tools such as zdtm
/// ask about. A feature counts as supported only when both this kernel has it and Ferry uses it: tests that need a
/// feature Ferry lacks are then skipped rather than failed.
/// </summary>
public static class CriuFeatures
{
    static readonly Dictionary<string, string> Supported = new(StringComparer.Ordinal)
    {
        ["timens"] = "restore recreates the time namespace with the dumped clock offsets",
        ["get_rseq_conf"] = "rseq registrations are read with PTRACE_GET_RSEQ_CONFIGURATION and restored",
        ["fdinfo_lock"] = "file locks are read from the \"lock:\" lines of /proc/PID/fdinfo (--file-locks) and taken again",
        ["kcmp_epoll"] = "epoll watches are matched to their files with kcmp(KCMP_EPOLL_TFD)",
        ["timerfd"] = "timerfds are read from /proc/PID/fdinfo and get their unread expirations back with TFD_IOC_SET_TICKS",
    };

    /// <summary>Whether Ferry supports the feature, and a one-line explanation.</summary>
    public static (bool Supported, string Explanation) Query(string name) =>
        Supported.TryGetValue(name, out var why)
            ? (true, $"Feature {name} is supported: {why}")
            : (false, $"Feature {name} is not supported by Ferry yet");
}
