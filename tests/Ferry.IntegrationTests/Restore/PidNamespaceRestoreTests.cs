using Ferry.IntegrationTests.Support;
using Xunit;

namespace Ferry.IntegrationTests.Restore;

/// <summary>`ferry restore --pidns new`: a tree whose PIDs are taken here comes back in a fresh pid namespace, keeping them inside.</summary>
[Collection(RestoreCollection.Name)]
public class PidNamespaceRestoreTests
{
    [CriuVectorFact]
    public void A_tree_whose_pids_are_taken_is_refused_naming_every_holder_and_restores_with_pidns_new()
    {
        using var vector = CriuVector.Prepare("pipe-tree");
        using var parentHolder = RestoreFailureTests.HoldPid(30400);
        using var childHolder = RestoreFailureTests.HoldPid(30401);

        var refused = FerryBinary.Run("restore", "-D", vector.Images, "-d");
        Assert.Equal(1, refused.ExitCode);
        var line = Assert.Single(refused.StdErr.TrimEnd('\n').Split('\n'));
        Assert.Contains("2 PIDs are taken: 30400 by pid 30400 (comm 'sleep'", line);
        Assert.Contains("30401 by pid 30401 (comm 'sleep'", line);
        Assert.Contains("--pidns new", line);

        var restore = FerryBinary.Run("restore", "-D", vector.Images, "-d", "--pidns", "new", "-v4", "-o", "restore.log");
        Assert.True(restore.ExitCode == 0, $"ferry restore --pidns new failed: {restore.StdErr}");
        var here = restore.StdOut.Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(l => l.Split(' ')).ToDictionary(w => int.Parse(w[1]), w => int.Parse(w[^2]));
        Assert.Equal([30400, 30401], here.Keys.Order());
        Assert.EndsWith("\t30400", NsPid(here[30400]));
        Assert.EndsWith("\t30401", NsPid(here[30401]));

        // The program's own check: the child's getppid() is still 30400, the pipe still holds the payload.
        var (exitCode, output) = vector.Check(here[30400]);
        Assert.True(exitCode == 0, output);
        Assert.Contains("check.sh: PASS", output);
        Assert.True(CriuVector.IsAlive(parentHolder.Pid) && CriuVector.IsAlive(childHolder.Pid), "a holder of the PIDs was harmed");
    }

    [CriuVectorFact]
    public void Without_d_ferry_waits_for_the_root_in_the_new_namespace_and_exits_with_its_status()
    {
        using var vector = CriuVector.Prepare("pipe-tree", needPid: false);
        var start = new System.Diagnostics.ProcessStartInfo(FerryBinary.Path!) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var arg in new[] { "restore", "-D", vector.Images, "--pidns", "new" }) start.ArgumentList.Add(arg);
        using var ferry = System.Diagnostics.Process.Start(start)!; // ferry itself is never traced here
        var line = ferry.StandardOutput.ReadLine() ?? throw new InvalidOperationException($"ferry printed nothing: {ferry.StandardError.ReadToEnd()}");
        Assert.StartsWith("pid 30400 (in the new pid namespace) is pid ", line);
        int here = int.Parse(line.Split(' ')[^2]);
        Assert.False(ferry.HasExited, "ferry did not wait for the restored tree");

        var (exitCode, output) = vector.Check(here); // the parent checks itself and its child, then exits 0
        Assert.True(exitCode == 0, output);
        Assert.True(ferry.WaitForExit(TimeSpan.FromSeconds(20)), "ferry did not exit after its restored root did");
        Assert.Equal(0, ferry.ExitCode);
    }

    [RootFerryBinaryFact]
    public void A_tree_started_by_ferry_run_is_restored_twice_side_by_side_each_in_a_namespace_of_its_own()
    {
        CriuVector.BecomeSubreaper();
        var dir = Directory.CreateTempSubdirectory("ferry-run-twice-").FullName;
        string work = Path.Combine(dir, "work"), images = Path.Combine(dir, "images"), pidFile = Path.Combine(dir, "pid");
        Directory.CreateDirectory(work);
        Directory.CreateDirectory(images);
        var restored = new List<int>();
        try
        {
            // Its output goes to a file: a detached tree must not hold this test's pipes (nor find them gone after a restore).
            var run = FerryBinary.Run("run", "-d", "--pidfile", pidFile, "--",
                "/bin/sh", "-c", "exec \"$0\" \"$1\" > \"$1/out\" 2>&1", TestTargets.Path("threads_counters"), work);
            Assert.True(run.ExitCode == 0, run.StdErr);
            int pid = int.Parse(File.ReadAllText(pidFile).Trim());
            Poll.Until(() => Enumerable.Range(1, 8).All(n => File.Exists(Path.Combine(work, $"thread-{n}.log"))), "every thread to count");
            var innerTids = InnerTids(pid);
            Assert.Equal(9, innerTids.Count);
            Assert.Equal(2, innerTids[0]); // the main process of a `ferry run` namespace

            var dump = FerryBinary.Run("dump", "-t", $"{pid}", "-D", images, "-v4", "-o", "dump.log");
            Assert.True(dump.ExitCode == 0, dump.StdErr);
            CriuVector.WaitUntilGone(pid);

            for (int copy = 0; copy < 2; copy++)
            {
                var restore = FerryBinary.Run("restore", "-D", images, "-d");
                Assert.True(restore.ExitCode == 0, restore.StdErr);
                restored.Add(int.Parse(Assert.Single(restore.StdOut.Split('\n', StringSplitOptions.RemoveEmptyEntries)).Split(' ')[^2]));
            }
            Assert.NotEqual(restored[0], restored[1]);
            foreach (int here in restored)
            {
                Assert.Equal(innerTids, InnerTids(here));
                var before = Switches(here);
                Poll.Until(() => Switches(here) > before + 20, $"the copy at pid {here} to run on");
            }
        }
        finally
        {
            foreach (int here in restored)
            {
                int init = int.Parse(File.ReadLines($"/proc/{here}/status").First(l => l.StartsWith("PPid:"))[5..].Trim());
                Ferry.Linux.LibC.kill(here, 9);
                CriuVector.WaitUntilGone(init);
            }
            Directory.Delete(dir, recursive: true);
        }
    }

    [RootFerryBinaryFact]
    public void A_tree_whose_root_is_the_init_of_its_pid_namespace_comes_back_as_the_init_of_a_new_one()
    {
        CriuVector.BecomeSubreaper();
        using var target = Dump.DumpTarget.StartProgram("/usr/bin/unshare", "--pid", "--fork", "--mount-proc", TestTargets.Path("threads_counters"), ".");
        int init = int.Parse(File.ReadAllText($"/proc/{target.Pid}/task/{target.Pid}/children").Trim());
        var innerTids = InnerTids(init);
        Assert.Equal(1, innerTids[0]);

        var dump = FerryBinary.Run("dump", "-t", $"{init}", "-D", target.ImagesDir, "-v4", "-o", "dump.log");
        Assert.True(dump.ExitCode == 0, $"ferry dump failed: {dump.StdErr}\n{target.DumpLog}");
        target.Process.WaitForExit(TimeSpan.FromSeconds(10));
        CriuVector.WaitUntilGone(init);
        var restore = FerryBinary.Run("restore", "-D", target.ImagesDir, "-d");
        Assert.True(restore.ExitCode == 0, restore.StdErr);
        int here = int.Parse(Assert.Single(restore.StdOut.Split('\n', StringSplitOptions.RemoveEmptyEntries)).Split(' ')[^2]);
        try
        {
            Assert.EndsWith("\t1", NsPid(here));
            Assert.Equal(innerTids, InnerTids(here));
            // Its /proc is the new namespace's: the init sees itself as 1 there.
            Assert.Equal("1", File.ReadAllText($"/proc/{here}/root/proc/1/stat").Split(' ')[0]);
            var before = Switches(here);
            Poll.Until(() => Switches(here) > before + 20, "the restored init's threads to run on");
        }
        finally
        {
            Ferry.Linux.LibC.kill(here, 9);
            CriuVector.WaitUntilGone(here);
        }
    }

    /// <summary>The TIDs of a process as its own pid namespace sees them, sorted.</summary>
    static List<int> InnerTids(int pid) => Directory.GetDirectories($"/proc/{pid}/task")
        .Select(d => int.Parse(File.ReadLines(Path.Combine(d, "status")).First(l => l.StartsWith("NSpid:")).Split('\t')[^1]))
        .Order().ToList();

    /// <summary>Voluntary context switches of all threads: grows while the counting threads sleep and wake.</summary>
    static long Switches(int pid) => Directory.GetDirectories($"/proc/{pid}/task")
        .Sum(d => long.Parse(File.ReadLines(Path.Combine(d, "status")).First(l => l.StartsWith("voluntary_ctxt_switches:")).Split('\t')[^1]));

    static string NsPid(int pid) => File.ReadLines($"/proc/{pid}/status").First(l => l.StartsWith("NSpid:"));
}
