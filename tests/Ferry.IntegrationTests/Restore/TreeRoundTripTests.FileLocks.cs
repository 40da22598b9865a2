using Ferry.IntegrationTests.Dump;
using Ferry.IntegrationTests.Support;
using Xunit;

namespace Ferry.IntegrationTests.Restore;

public sealed partial class TreeRoundTripTests
{
    [RootFact]
    public void Flock_POSIX_and_OFD_locks_are_held_again_by_the_same_processes_on_the_same_descriptors()
    {
        using var target = DumpTarget.Start("file_locks", passWorkDir: true);
        int parent = target.Pid, child = target.Value("child");
        var before = Locks(parent, child);
        // flock (seen through the parent's and the child's descriptor of its description), 2 POSIX, OFD, the child's POSIX.
        Assert.Equal(6, before.Count);
        RoundTrip(target, [], "--file-locks");
        try
        {
            Assert.Equal(before, Locks(parent, child));
        }
        finally
        {
            Kill(parent, child);
        }
    }

    [RootFact]
    public void Without_file_locks_a_held_lock_stops_the_dump_and_the_tree_runs_on()
    {
        using var target = DumpTarget.Start("file_locks", passWorkDir: true);
        int parent = target.Pid, child = target.Value("child");
        var dump = target.Dump();
        try
        {
            Assert.NotEqual(0, dump.ExitCode);
            Assert.Contains("--file-locks", dump.StdErr);
            target.WaitFor(() => State(parent) == 'S', "the parent asleep again, untouched");
            Assert.Equal(6, Locks(parent, child).Count);
        }
        finally
        {
            Kill(parent, child);
        }
    }

    /// <summary>
    /// Every "lock:" line of the processes' fdinfo, by process and descriptor, without the kernel's running lock number:
    /// "pid 12 fd 3: FLOCK ADVISORY WRITE 12 00:2a:1234 0 EOF".
    /// </summary>
    static List<string> Locks(params int[] pids) =>
        pids.SelectMany(pid => Directory.GetFiles($"/proc/{pid}/fdinfo").SelectMany(info => File.ReadAllLines(info)
                .Where(l => l.StartsWith("lock:", StringComparison.Ordinal))
                .Select(l => $"pid {pid} fd {Path.GetFileName(info)}: {string.Join(' ', l.Split([' ', '\t'], StringSplitOptions.RemoveEmptyEntries)[2..])}")))
            .Order(StringComparer.Ordinal).ToList();
}
