using Ferry.IntegrationTests.Dump;
using Ferry.IntegrationTests.Support;
using Ferry.Linux;
using Xunit;

namespace Ferry.IntegrationTests.Restore;

public sealed partial class TreeRoundTripTests
{
    const int PRIO_PROCESS = 0, SCHED_BATCH = 3, SCHED_RR = 2, SCHED_RESET_ON_FORK = 0x40000000;

    [RootFact]
    public void Each_thread_keeps_its_own_scheduling_policy_priority_and_nice()
    {
        using var target = DumpTarget.Start("sched_threads", passWorkDir: false);
        int main = target.Pid, rr = target.Value("rr"), batch = target.Value("batch");
        var before = new[] { main, rr, batch }.Select(Scheduling).ToList();
        Assert.Equal((0, 0, 7), before[0]);
        Assert.Equal((SCHED_RR | SCHED_RESET_ON_FORK, 3, -5), before[1]);
        Assert.Equal((SCHED_BATCH, 0, -20), before[2]);
        RoundTrip(target, []);
        try
        {
            Assert.Equal(before, new[] { main, rr, batch }.Select(Scheduling));
        }
        finally
        {
            Kill(main);
        }
    }

    [RootFact]
    public void A_SCHED_DEADLINE_thread_stops_the_dump_and_the_process_runs_on()
    {
        using var target = DumpTarget.Start("sched_deadline", passWorkDir: false);
        var dump = target.Dump();
        try
        {
            Assert.NotEqual(0, dump.ExitCode);
            Assert.Contains("SCHED_DEADLINE", dump.StdErr);
            target.WaitFor(() => State(target.Pid) == 'S', "the process asleep again, untouched");
        }
        finally
        {
            Kill(target.Pid);
        }
    }

    /// <summary>The thread's policy (with the reset-on-fork flag), real-time priority and nice, asked of the kernel.</summary>
    static unsafe (int Policy, int Priority, int Nice) Scheduling(int tid)
    {
        int policy = (int)LibC.syscall(Sys.sched_getscheduler, tid, 0, 0, 0, 0, 0);
        int priority = 0;
        Assert.Equal(0, LibC.syscall(Sys.sched_getparam, tid, (long)&priority, 0, 0, 0, 0));
        // The raw getpriority returns 20 - nice.
        int nice = 20 - (int)LibC.syscall(Sys.getpriority, PRIO_PROCESS, tid, 0, 0, 0, 0);
        Assert.True(policy >= 0, $"sched_getscheduler({tid}) failed");
        return (policy, priority, nice);
    }
}
