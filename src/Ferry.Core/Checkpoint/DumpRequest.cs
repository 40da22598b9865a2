namespace Ferry.Checkpoint;

/// <summary>What `ferry dump` was asked to do.</summary>
public sealed record DumpRequest(int Pid, string ImagesDir)
{
    /// <summary>Resume the tree after the dump instead of killing it (CRIU's default is to kill).</summary>
    public bool LeaveRunning { get; init; }
    /// <summary>Leave the tree stopped (SIGSTOP) after the dump.</summary>
    public bool LeaveStopped { get; init; }
    public bool ShellJob { get; init; }
    /// <summary>--file-locks: save the file locks the tree holds; without it a held lock stops the dump (CRIU's rule).</summary>
    public bool FileLocks { get; init; }
    /// <summary>--link-remap: a deleted file still linked elsewhere is kept by one more link (CRIU's link_remap).</summary>
    public bool LinkRemap { get; init; }
    /// <summary>
    /// --cow-pages-once: a page a child still shares with its parent since the fork is stored once, in the parent's
    /// images (Ferry's marking, <see cref="Resources.Memory.InheritedAreas.InParentProcess"/>). Off by default: CRIU
    /// cannot restore such images (it stops, naming the missing parent pagemap), and Ferry is a drop-in for CRIU.
    /// </summary>
    public bool CowPagesOnce { get; init; }
    public TcpPolicy Tcp { get; init; } = TcpPolicy.Refuse;
    /// <summary>--timeout: how long freezing may wait for every task to stop (CRIU's default, 10 s, when null).</summary>
    public TimeSpan? FreezeTimeout { get; init; }

    public static readonly TimeSpan DefaultFreezeTimeout = TimeSpan.FromSeconds(10);

    /// <summary>CRIU's default ghost file limit: a deleted file with more bytes on disk stops the dump.</summary>
    public const long DefaultGhostLimit = 1 << 20;

    /// <summary>The most bytes on disk (allocated blocks) a deleted-but-open file may have to be saved as a ghost file.</summary>
    public long GhostLimit { get; init; } = DefaultGhostLimit;

    /// <summary>--cgroup-root: the cgroups whose subtrees are recorded instead of those below the tasks' own.</summary>
    public IReadOnlyList<Resources.Cgroups.CgroupRoot> CgroupRoots { get; init; } = [];
}

/// <summary>What to do with established TCP connections.</summary>
public enum TcpPolicy
{
    /// <summary>An established connection stops the dump (CRIU without --tcp-established).</summary>
    Refuse,
    /// <summary>Keep the connection with TCP repair.</summary>
    Repair,
    /// <summary>Drop it: the restored socket is closed.</summary>
    Close,
}
