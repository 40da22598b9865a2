namespace Ferry.Resources.Cgroups;

/// <summary>How restore treats cgroups: CRIU's `--manage-cgroups` modes.</summary>
public enum CgroupMode
{
    /// <summary>Leave every task in the cgroups it was born in (the restoring side's).</summary>
    Ignore,
    /// <summary>Move tasks into their cgroups, which must exist; touch nothing else.</summary>
    None,
    /// <summary>As None, and set the dumped properties of every cgroup.</summary>
    Props,
    /// <summary>Create missing cgroups (with their properties), set owners and modes, move tasks in: CRIU's default.</summary>
    Soft,
    /// <summary>As Soft, and set the dumped properties of cgroups that already exist too.</summary>
    Full,
    /// <summary>As Full, but refuse when one of the dumped cgroups already exists.</summary>
    Strict,
}
