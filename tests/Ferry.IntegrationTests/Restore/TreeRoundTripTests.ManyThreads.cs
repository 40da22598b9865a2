using Ferry.IntegrationTests.Dump;
using Ferry.IntegrationTests.Support;
using Xunit;

namespace Ferry.IntegrationTests.Restore;

public sealed partial class TreeRoundTripTests
{
    [RootFact]
    public void Three_processes_of_210_threads_come_back_with_every_thread_id_and_no_placeholder_left()
    {
        // More threads per process than one batch of clones holds, and over 600 numbers held by placeholders.
        using var target = DumpTarget.Start("bench_tree", passWorkDir: false, "3", "210", "0");
        var children = Children(target.Pid).Order().ToList();
        var tids = new[] { target.Pid }.Concat(children).ToDictionary(pid => pid, Tids);
        Assert.All(tids.Values, t => Assert.Equal(210, t.Count));

        RoundTrip(target, []);
        try
        {
            Assert.Equal(children, Children(target.Pid).Order().ToList());
            foreach (var (pid, threads) in tids)
                Assert.Equal(threads, Tids(pid));
            var log = File.ReadAllText(target.Image("restore.log"));
            Assert.Contains($"pid {target.Pid}: 209 thread(s), 2 child(ren) and 0 zombie(s) cloned", log);
        }
        finally
        {
            Kill([target.Pid, .. children]);
        }
    }
}
