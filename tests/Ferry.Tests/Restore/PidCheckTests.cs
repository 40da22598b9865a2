using System.Diagnostics;
using Ferry.Diagnostics;
using Ferry.Linux;
using Ferry.Restore;
using Xunit;

namespace Ferry.Tests.Restore;

public class PidCheckTests
{
    [Fact]
    public void Live_holders_of_a_process_and_a_thread_number_are_named_at_once()
    {
        using var started = new ManualResetEventSlim();
        using var done = new ManualResetEventSlim();
        int tid = 0;
        var thread = new Thread(() =>
        {
            tid = (int)LibC.syscall(Sys.gettid, 0, 0, 0, 0, 0, 0);
            started.Set();
            done.Wait();
        });
        thread.Start();
        started.Wait();
        try
        {
            int pid = Environment.ProcessId;
            var clock = Stopwatch.StartNew();
            var error = Assert.Throws<FerryException>(() => PidCheck.EnsureFree([pid, tid, pid], Log.Quiet));

            Assert.True(clock.Elapsed < PidCheck.DyingHolderWait, $"a live holder was waited for ({clock.Elapsed})");
            Assert.StartsWith($"2 PIDs are taken: {pid} by pid {pid} (comm '", error.Message);
            Assert.Contains($"; {tid} by a thread of pid {pid} (comm '", error.Message);
            Assert.Contains("--pidns new", error.Message);
        }
        finally
        {
            done.Set();
            thread.Join();
        }
    }
}
