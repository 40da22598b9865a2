using Ferry.IntegrationTests.Dump;
using Ferry.IntegrationTests.Support;
using Ferry.IntegrationTests.Targets;
using Xunit;

namespace Ferry.IntegrationTests.Restore;

/// <summary>
/// A process put in a cgroup of its own (in the pids hierarchy: v1, or v2 where there is no v1) is dumped, its cgroup
/// removed, and restored: it must come back in that cgroup, made again with its pids.max and mode; with
/// --manage-cgroups=ignore it stays in ferry's cgroups and nothing is made.
/// </summary>
[Collection(RestoreCollection.Name)]
public class CgroupRoundTripTests
{
    [FerryDumpFact]
    public void A_process_comes_back_in_its_cgroup_which_is_made_again_when_missing_with_its_limit_and_mode()
    {
        using var cgroup = TestCgroup.Create();
        var pidsMax = Path.Combine(cgroup.Directory, "pids.max");
        File.WriteAllText(pidsMax, "123");
        File.SetUnixFileMode(cgroup.Directory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute | UnixFileMode.GroupRead | UnixFileMode.GroupExecute);
        using var round = new CgroupRound(cgroup);
        round.Restore();
        Assert.Equal(cgroup.Path, TestCgroup.PathOf(round.Pid, cgroup.Controllers));
        Assert.True(Directory.Exists(cgroup.Directory), "the removed cgroup was not made again");
        Assert.Equal("123", File.ReadAllText(pidsMax).Trim());
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute | UnixFileMode.GroupRead | UnixFileMode.GroupExecute, File.GetUnixFileMode(cgroup.Directory));
        var image = Crit.Decode(Path.Combine(round.ImagesDir, "cgroup.img"));
        Assert.Contains(cgroup.Path, image.ToJsonString());
        round.AssertCounting();
    }

    [FerryDumpFact]
    public void With_manage_cgroups_ignore_the_process_stays_in_ferrys_cgroups()
    {
        using var cgroup = TestCgroup.Create();
        using var round = new CgroupRound(cgroup);
        round.Restore("--manage-cgroups=ignore");
        Assert.Equal(TestCgroup.PathOf(Environment.ProcessId, cgroup.Controllers), TestCgroup.PathOf(round.Pid, cgroup.Controllers));
        Assert.False(Directory.Exists(cgroup.Directory), "ignore made a cgroup");
        round.AssertCounting();
    }

    /// <summary>A counter moved into the test cgroup, dumped (which kills it), its cgroup removed.</summary>
    sealed class CgroupRound : IDisposable
    {
        readonly TargetProcess _target;
        readonly TestCgroup _cgroup;

        public CgroupRound(TestCgroup cgroup)
        {
            _cgroup = cgroup;
            CriuVector.BecomeSubreaper();
            _target = TargetProcess.Start("counter");
            cgroup.Enter(_target.Pid);
            ImagesDir = Path.Combine(_target.Directory, "images");
            Directory.CreateDirectory(ImagesDir);
            var dump = FerryBinary.Run("dump", "-t", $"{Pid}", "-D", ImagesDir, "-v4", "-o", "dump.log");
            Assert.True(dump.ExitCode == 0, $"ferry dump failed: {dump.StdErr}");
            _target.WaitForExit();
            CriuVector.WaitUntilGone(Pid);
            cgroup.Remove();
        }

        public int Pid => _target.Pid;
        public string ImagesDir { get; }

        public void Restore(params string[] options)
        {
            var restore = FerryBinary.Run(["restore", "-D", ImagesDir, "-d", "-v4", "-o", "restore.log", .. options]);
            Assert.True(restore.ExitCode == 0, $"ferry restore failed: {restore.StdErr}");
            Assert.True(CriuVector.IsAlive(Pid), $"no process {Pid} after the restore");
        }

        /// <summary>The counter goes on after the restore.</summary>
        public void AssertCounting()
        {
            int before = File.ReadAllLines(_target.OutPath).Length;
            var deadline = DateTime.UtcNow.AddSeconds(20);
            while (File.ReadAllLines(_target.OutPath).Length <= before)
            {
                Assert.True(DateTime.UtcNow < deadline, "the restored counter did not count on");
                Thread.Sleep(10);
            }
        }

        public void Dispose()
        {
            if (CriuVector.IsAlive(Pid))
                Ferry.Linux.LibC.kill(Pid, TargetProcess.SIGKILL);
            CriuVector.WaitUntilGone(Pid);
            _target.Dispose();
            _cgroup.Remove();
        }
    }

    /// <summary>A cgroup made for one test below the test process's own, in one hierarchy.</summary>
    sealed class TestCgroup : IDisposable
    {
        TestCgroup(string controllers, string path, string directory)
        {
            Controllers = controllers;
            Path = path;
            Directory = directory;
        }

        /// <summary>The hierarchy, as /proc/PID/cgroup names it ("pids", or "" for cgroup v2).</summary>
        public string Controllers { get; }
        /// <summary>The cgroup's path in its hierarchy, e.g. /ferry-test-1234/inner.</summary>
        public string Path { get; }
        public string Directory { get; }
        string Outer => System.IO.Path.GetDirectoryName(Directory)!;

        public static TestCgroup Create()
        {
            var mounts = File.ReadAllLines("/proc/self/mountinfo").Select(l => l.Split(" - ")).Select(p => (Fields: p[0].Split(' '), Fs: p[1].Split(' '))).ToList();
            var pids = mounts.FirstOrDefault(m => m.Fs[0] == "cgroup" && m.Fields[3] == "/" && m.Fs[2].Split(',').Contains("pids"));
            var v2 = mounts.FirstOrDefault(m => m.Fs[0] == "cgroup2" && m.Fields[3] == "/");
            var (controllers, mountPoint) = pids.Fields is not null ? ("pids", pids.Fields[4]) : v2.Fields is not null ? ("", v2.Fields[4]) : throw new InvalidOperationException("no cgroup hierarchy is mounted here");
            var own = PathOf(Environment.ProcessId, controllers);
            var path = $"{own.TrimEnd('/')}/ferry-test-{Environment.ProcessId}-{Random.Shared.Next():x}/inner";
            var directory = mountPoint + path;
            System.IO.Directory.CreateDirectory(directory);
            return new TestCgroup(controllers, path, directory);
        }

        public void Enter(int pid) => File.WriteAllText(System.IO.Path.Combine(Directory, "cgroup.procs"), $"{pid}");

        public static string PathOf(int pid, string controllers) =>
            File.ReadAllLines($"/proc/{pid}/cgroup").Select(l => l.Split(':', 3)).First(p => p[1] == controllers)[2];

        /// <summary>Removes the cgroup and its parent (both empty by now).</summary>
        public void Remove()
        {
            foreach (var dir in new[] { Directory, Outer })
                if (System.IO.Directory.Exists(dir))
                    System.IO.Directory.Delete(dir);
        }

        public void Dispose() => Remove();
    }
}
