using Ferry.Checkpoint;

namespace Ferry.Restore;

/// <summary>What `ferry restore` was asked to do.</summary>
public sealed record RestoreRequest(string ImagesDir)
{
    /// <summary>Leave the restored tree running detached; otherwise the caller waits for its root.</summary>
    public bool Detach { get; init; }
    /// <summary>Write the root's PID to this file once it runs.</summary>
    public string? PidFile { get; init; }
    public bool ShellJob { get; init; }
    public TcpPolicy Tcp { get; init; } = TcpPolicy.Refuse;
    public PidNamespaceMode PidNamespace { get; init; } = PidNamespaceMode.Host;
    /// <summary>What to do with the tasks' cgroups (`--manage-cgroups`); CRIU's default is Soft.</summary>
    public Resources.Cgroups.CgroupMode Cgroups { get; init; } = Resources.Cgroups.CgroupMode.Soft;
}

public enum PidNamespaceMode
{
    /// <summary>Restore with the original PIDs in the current PID namespace.</summary>
    Host,
    /// <summary>Restore into a fresh PID namespace where the original PIDs are free.</summary>
    New,
}
