using System.Diagnostics;
using Ferry.IntegrationTests.Dump;
using Ferry.IntegrationTests.Support;
using Ferry.IntegrationTests.Targets;
using Ferry.Linux;
using Xunit;

namespace Ferry.IntegrationTests.Restore;

/// <summary>
/// System V IPC (tests/targets/sysv_ipc.c): under `ferry run` the tree has an IPC namespace of its own, which the dump
/// takes whole (ipcns-var/shm/msg/sem) and the restore recreates, every segment, queue and set under its id and key;
/// outside one, a process with a segment attached is refused with one line.
/// </summary>
[Collection(RestoreCollection.Name)]
public sealed class SysvIpcRoundTripTests
{
    const int KeyShm = 0x46525259, KeyMsg = 0x46525260, KeySem = 0x46525261;

    [RootFerryBinaryFact]
    public void Segments_queues_and_semaphores_of_a_ferry_run_tree_come_back_with_their_ids_keys_modes_and_contents()
    {
        CriuVector.BecomeSubreaper();
        var dir = Directory.CreateTempSubdirectory("ferry-sysv-").FullName;
        string output = Path.Combine(dir, "out"), images = Path.Combine(dir, "images"), pidFile = Path.Combine(dir, "pid");
        Directory.CreateDirectory(images);
        int here = 0;
        try
        {
            // Its output goes to a file: a detached tree must not hold this test's pipes.
            var run = FerryBinary.Run("run", "-d", "--pidfile", pidFile, "--",
                "/bin/sh", "-c", "exec \"$0\" \"$1\" > \"$1.log\" 2>&1", TestTargets.Path("sysv_ipc"), output);
            Assert.True(run.ExitCode == 0, run.StdErr);
            int pid = int.Parse(File.ReadAllText(pidFile).Trim());
            Poll.Until(() => File.Exists(output + ".ready"), "the target to set up its IPC objects");
            int child = int.Parse(File.ReadAllText($"/proc/{pid}/task/{pid}/children").Trim());
            string before = Ipcs(pid);
            Assert.Contains("0x46525259", before);
            Assert.Contains("dest", before); // segment B: removed while attached

            var dump = FerryBinary.Run("dump", "-t", $"{pid}", "-D", images, "-v4", "-o", "dump.log");
            Assert.True(dump.ExitCode == 0, dump.StdErr);
            CriuVector.WaitUntilGone(pid);
            CriuVector.WaitUntilGone(child);
            AssertCritReadsTheNamespace(images);
            AssertAMissingSegmentImageIsOneLine(images, Path.Combine(dir, "broken"));

            var restore = FerryBinary.Run("restore", "-D", images, "-d");
            Assert.True(restore.ExitCode == 0, restore.StdErr);
            here = int.Parse(restore.StdOut.Split('\n', StringSplitOptions.RemoveEmptyEntries)[0].Split(' ')[^2]);
            // ipcs in the restored namespace: same keys, ids, owners, modes, sizes, attach counts, queued bytes and status.
            Assert.Equal(before, Ipcs(here));

            LibC.kill(here, TargetProcess.SIGTERM);
            Poll.Until(() => File.Exists(output) && File.ReadAllText(output).Contains("ok="), "the restored target's report");
            var report = File.ReadAllText(output);
            foreach (var check in new[] { "pattern", "echo", "destroyed", "queue", "sems", "ok" })
                Assert.True(report.Contains($"{check}=1\n"), $"{check} failed after the restore: {report}");
        }
        finally
        {
            if (here != 0 && Directory.Exists($"/proc/{here}"))
            {
                int init = int.Parse(File.ReadLines($"/proc/{here}/status").First(l => l.StartsWith("PPid:"))[5..].Trim());
                LibC.kill(here, TargetProcess.SIGKILL);
                CriuVector.WaitUntilGone(init);
            }
            Directory.Delete(dir, recursive: true);
        }
    }

    [RootFerryBinaryFact]
    public void Ferry_run_gives_the_program_an_ipc_namespace_of_its_own()
    {
        var result = FerryBinary.Run("run", "--", "readlink", "/proc/self/ns/ipc");
        Assert.True(result.ExitCode == 0, result.StdErr);
        Assert.StartsWith("ipc:[", result.StdOut);
        Assert.NotEqual(new FileInfo("/proc/self/ns/ipc").LinkTarget, result.StdOut.Trim());
    }

    [CriuVectorFact]
    public void A_dump_that_shared_the_dumpers_ipc_namespace_shares_ferrys_again_in_a_new_pid_namespace()
    {
        using var vector = CriuVector.Prepare("pipe-tree", needPid: false);
        var restore = FerryBinary.Run("restore", "-D", vector.Images, "-d", "--pidns", "new");
        Assert.True(restore.ExitCode == 0, restore.StdErr);
        int here = int.Parse(restore.StdOut.Split('\n', StringSplitOptions.RemoveEmptyEntries)[0].Split(' ')[^2]);
        string ipc = new FileInfo($"/proc/{here}/ns/ipc").LinkTarget!;
        var (exitCode, output) = vector.Check(here);
        Assert.True(exitCode == 0, output);
        Assert.Equal(new FileInfo("/proc/self/ns/ipc").LinkTarget, ipc);
    }

    [RootFerryBinaryFact]
    public void A_process_with_a_segment_attached_in_ferrys_own_ipc_namespace_is_refused_in_one_line_naming_ferry_run()
    {
        using var target = TargetProcess.Start("sysv_ipc", "host");
        var images = Directory.CreateTempSubdirectory("ferry-sysv-host-").FullName;
        try
        {
            var dump = FerryBinary.Run("dump", "-t", $"{target.Pid}", "-D", images, "--leave-running");
            Assert.Equal(1, dump.ExitCode);
            var line = Assert.Single(dump.StdErr.TrimEnd('\n').Split('\n'));
            Assert.Contains($"process {target.Pid} has System V shared memory attached", line);
            Assert.Contains("'ferry run'", line);
            // Left untouched: it still runs and answers.
            target.Signal(TargetProcess.SIGTERM);
            Assert.Equal("1", target.WaitForResult("ok"));
        }
        finally
        {
            Directory.Delete(images, recursive: true);
        }
    }

    /// <summary>Without ipcns-shm-ID.img the restore stops before creating anything, in one line naming the file.</summary>
    static void AssertAMissingSegmentImageIsOneLine(string images, string broken)
    {
        Directory.CreateDirectory(broken);
        foreach (var file in Directory.GetFiles(images).Where(f => !Path.GetFileName(f).StartsWith("ipcns-shm-", StringComparison.Ordinal)))
            File.Copy(file, Path.Combine(broken, Path.GetFileName(file)));
        var restore = FerryBinary.Run("restore", "-D", broken, "-d");
        Assert.Equal(1, restore.ExitCode);
        var line = Assert.Single(restore.StdErr.TrimEnd('\n').Split('\n'));
        Assert.Contains("ipcns-shm-", line);
    }

    /// <summary>crit (CRIU's decoder) reads the namespace's images with the values the target set.</summary>
    static void AssertCritReadsTheNamespace(string images)
    {
        if (!Crit.Available) return;
        string Image(string kind) => Assert.Single(Directory.GetFiles(images, $"ipcns-{kind}-*.img"));
        Assert.NotNull(Crit.Decode(Image("var"))["entries"]![0]!["shm_ctlmax"]);
        // crit reads size bytes of inline contents after every ipcns-shm entry even when in_pagemaps says the contents
        // are in pagemap-shmem-ID.img (as CRIU 4.x writes them), so only the first segment decodes as an entry.
        var shm = Crit.Decode(Image("shm"))["entries"]![0]!;
        Assert.Equal(KeyShm, (int)shm["desc"]!["key"]!);
        Assert.Equal(0, (int)shm["desc"]!["id"]!);
        Assert.Equal(0x1a0, (int)shm["desc"]!["mode"]! & 0x1ff); // 0640
        Assert.Equal(3 * 4096 + 100, (int)shm["size"]!);
        Assert.True((bool)shm["in_pagemaps"]!);
        Assert.Equal(2, Crit.Decode(Path.Combine(images, "pagemap-shmem-0.img"))["entries"]!.AsArray().Count);
        var queue = Assert.Single(Crit.Decode(Image("msg"))["entries"]!.AsArray())!;
        Assert.Equal((KeyMsg, 3), ((int)queue["desc"]!["key"]!, (int)queue["qnum"]!));
        var set = Assert.Single(Crit.Decode(Image("sem"))["entries"]!.AsArray())!;
        Assert.Equal((KeySem, 3), ((int)set["desc"]!["key"]!, (int)set["nsems"]!));
    }

    /// <summary>`ipcs` run inside the IPC namespace of <paramref name="pid"/> (segments, queues, semaphore sets).</summary>
    static string Ipcs(int pid)
    {
        // nsenter is never traced, so System.Diagnostics.Process is fine here.
        var start = new ProcessStartInfo("nsenter", ["-t", $"{pid}", "-i", "ipcs", "-m", "-q", "-s"]) { RedirectStandardOutput = true, RedirectStandardError = true };
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEnd();
        process.WaitForExit();
        Assert.True(process.ExitCode == 0, $"nsenter ipcs failed: {stderr}");
        return stdout.Result;
    }
}
