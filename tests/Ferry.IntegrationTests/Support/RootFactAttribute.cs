using System.Runtime.Intrinsics.X86;
using Ferry.Linux;
using Xunit;

namespace Ferry.IntegrationTests.Support;

/// <summary>A fact that is skipped, saying why, unless the tests run as root (ptrace and /proc/PID/mem of other processes).</summary>
public class RootFactAttribute : FactAttribute
{
    public const string Reason = "needs root: it ptraces and reads the memory of real processes";

    public RootFactAttribute()
    {
        if (LibC.geteuid() != 0) Skip = Reason;
    }
}

/// <summary>The theory form of <see cref="RootFactAttribute"/>.</summary>
public sealed class RootTheoryAttribute : TheoryAttribute
{
    public RootTheoryAttribute()
    {
        if (LibC.geteuid() != 0) Skip = RootFactAttribute.Reason;
    }
}

/// <summary>A root fact that also needs AVX-512 (ZMM registers) on this CPU.</summary>
public sealed class RootAvx512FactAttribute : RootFactAttribute
{
    public RootAvx512FactAttribute()
    {
        if (Skip is null && !Avx512F.IsSupported) Skip = "needs a CPU with AVX-512 (ZMM registers)";
    }
}

/// <summary>A root fact that also needs the cgroup v1 freezer hierarchy mounted at /sys/fs/cgroup/freezer.</summary>
public sealed class RootFreezerFactAttribute : RootFactAttribute
{
    public const string Hierarchy = "/sys/fs/cgroup/freezer";

    public RootFreezerFactAttribute()
    {
        if (Skip is null && !File.Exists(Path.Combine(Hierarchy, "cgroup.procs")))
            Skip = $"needs the cgroup v1 freezer at {Hierarchy}";
    }
}
