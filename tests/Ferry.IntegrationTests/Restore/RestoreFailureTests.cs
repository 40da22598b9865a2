using Ferry.IntegrationTests.Support;
using Ferry.Linux;
using Ferry.Tracing;
using Xunit;

namespace Ferry.IntegrationTests.Restore;

/// <summary>Restores that cannot succeed: one line saying why, and nothing left behind.</summary>
[Collection(RestoreCollection.Name)]
public class RestoreFailureTests
{
    [CriuVectorFact]
    public void A_taken_pid_is_named_with_its_holder_and_nothing_is_created()
    {
        using var vector = CriuVector.Prepare("counter-static");
        using var holder = HoldPid(vector.Pid);

        var restore = FerryBinary.Run("restore", "-D", vector.Images, "-d");

        Assert.Equal(1, restore.ExitCode);
        var line = Assert.Single(restore.StdErr.TrimEnd('\n').Split('\n'));
        Assert.Contains($"PID {vector.Pid} is taken by pid {vector.Pid} (comm 'sleep', cmdline 'sleep 600')", line);
        Assert.Contains("run the restore again", line);
        Assert.True(CriuVector.IsAlive(holder.Pid), "the holder of the PID was harmed");
        Assert.Equal("sleep", File.ReadAllText($"/proc/{vector.Pid}/comm").Trim());
    }

    [CriuVectorFact]
    public void A_pid_held_by_a_zombie_is_waited_for_until_its_parent_reaps_it()
    {
        using var vector = CriuVector.Prepare("counter-static");
        using var holder = HoldPid(vector.Pid);
        holder.Signal(Signals.SIGKILL);
        Poll.Until(() => State(vector.Pid) == 'Z', "the holder to be a zombie"); // this test is its parent and has not reaped it
        var log = Path.Combine(vector.Images, "restore.log");

        var restore = Task.Run(() => FerryBinary.Run("restore", "-D", vector.Images, "-d", "-v4", "-o", "restore.log"));
        Poll.Until(() => restore.IsCompleted || (File.Exists(log) && File.ReadAllText(log).Contains($"waiting up to 2 s for PID(s) {vector.Pid}")),
            "the restore to wait for the zombie's PID");
        if (restore.IsCompleted)
            Assert.Fail($"the restore did not wait for the zombie: {restore.Result.StdErr}");
        holder.Kill(); // reaps the zombie

        var result = restore.Result;
        Assert.True(result.ExitCode == 0, $"ferry restore failed: {result.StdErr}\n{File.ReadAllText(log)}");
        Assert.True(CriuVector.IsAlive(vector.Pid), "the restored process is not running");
        var (exitCode, output) = vector.Check();
        Assert.True(exitCode == 0, output);
    }

    [CriuVectorFact]
    public void A_zombie_not_reaped_within_two_seconds_is_named()
    {
        using var vector = CriuVector.Prepare("counter-static");
        using var holder = HoldPid(vector.Pid);
        holder.Signal(Signals.SIGKILL);
        Poll.Until(() => State(vector.Pid) == 'Z', "the holder to be a zombie");

        var clock = System.Diagnostics.Stopwatch.StartNew();
        var restore = FerryBinary.Run("restore", "-D", vector.Images, "-d");

        Assert.Equal(1, restore.ExitCode);
        Assert.True(clock.Elapsed >= TimeSpan.FromSeconds(2), $"gave up after {clock.Elapsed.TotalSeconds:F2} s");
        var line = Assert.Single(restore.StdErr.TrimEnd('\n').Split('\n'));
        Assert.Contains($"PID {vector.Pid} is taken by pid {vector.Pid} (comm 'sleep', cmdline '', a zombie not yet reaped by its parent)", line);
        Assert.Equal('Z', State(vector.Pid));
    }

    [CriuVectorFact]
    public void A_corrupted_image_is_one_line_naming_file_and_offset_and_no_process_is_created()
    {
        using var vector = CriuVector.Prepare("counter-static");
        var core = Path.Combine(vector.Images, "core-30100.img");
        var bytes = File.ReadAllBytes(core);
        File.WriteAllBytes(core, bytes[..(bytes.Length / 2)]);

        var restore = FerryBinary.Run("restore", "-D", vector.Images, "-d");

        Assert.Equal(1, restore.ExitCode);
        var line = Assert.Single(restore.StdErr.TrimEnd('\n').Split('\n'));
        Assert.Contains("core-30100.img: at byte ", line);
        Assert.False(CriuVector.Exists(vector.Pid), "a process was created from a corrupted image set");
    }

    [CriuVectorFact]
    public void A_cgroup_directory_name_climbing_out_of_its_hierarchy_is_refused_before_anything_is_made()
    {
        using var vector = CriuVector.Prepare("counter-static");
        var image = new Ferry.Images.Protos.cgroup_entry
        {
            Controllers = { new Ferry.Images.Protos.cg_controller_entry { Cnames = { "pids" }, Dirs = { new Ferry.Images.Protos.cgroup_dir_entry { DirName = "../../../tmp/ferry-escape" } } } },
        };
        Ferry.Images.ImageWriter.WriteFile(Path.Combine(vector.Images, "cgroup.img"), Ferry.Images.ImageKinds.Cgroup, [image]);

        var restore = FerryBinary.Run("restore", "-D", vector.Images, "-d");

        Assert.Equal(1, restore.ExitCode);
        var line = Assert.Single(restore.StdErr.TrimEnd('\n').Split('\n'));
        Assert.Contains("cgroup.img", line);
        Assert.Contains("'..'", line);
        Assert.False(CriuVector.Exists(vector.Pid), "a process was created from a bad image set");
        Assert.False(Directory.Exists("/tmp/ferry-escape"));
    }

    [CriuVectorFact]
    public void A_failure_midway_kills_and_reaps_the_half_built_process()
    {
        using var vector = CriuVector.Prepare("counter-static");
        // Memory is rebuilt before files are opened: the missing log file fails the restore halfway through.
        File.Delete("/tmp/ferry-vectors/counter-static/counter.log");

        var restore = FerryBinary.Run("restore", "-D", vector.Images, "-d", "-v4", "-o", "restore.log");

        Assert.Equal(1, restore.ExitCode);
        var line = Assert.Single(restore.StdErr.TrimEnd('\n').Split('\n'));
        Assert.Contains("/tmp/ferry-vectors/counter-static/counter.log", line);
        Assert.Contains("mapped", File.ReadAllText(Path.Combine(vector.Images, "restore.log"))); // it did get halfway
        Assert.False(CriuVector.Exists(vector.Pid), $"PID {vector.Pid} is still there after the failed restore");
    }

    [CriuVectorFact]
    public void A_missing_images_directory_is_one_line()
    {
        var restore = FerryBinary.Run("restore", "-D", "/nonexistent-ferry-images", "-d");
        Assert.Equal(1, restore.ExitCode);
        Assert.Single(restore.StdErr.TrimEnd('\n').Split('\n'));
        Assert.Contains("/nonexistent-ferry-images", restore.StdErr);
    }

    static char State(int pid)
    {
        var stat = File.ReadAllText($"/proc/{pid}/stat");
        return stat[stat.LastIndexOf(')') + 2];
    }

    /// <summary>Starts `sleep 600` as PID <paramref name="pid"/> (ns_last_pid = pid - 1 just before the spawn).</summary>
    internal static ChildProcess HoldPid(int pid)
    {
        for (int attempt = 0; attempt < 20; attempt++)
        {
            File.WriteAllText("/proc/sys/kernel/ns_last_pid", $"{pid - 1}");
            var child = ChildProcess.Start(new SpawnOptions("/bin/sleep", "600") { ArgumentZero = "sleep" });
            if (child.Pid == pid)
                return child;
            child.Dispose();
        }
        throw new InvalidOperationException($"could not start a process with PID {pid}");
    }
}
