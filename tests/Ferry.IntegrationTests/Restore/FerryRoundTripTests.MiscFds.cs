using Ferry.IntegrationTests.Support;
using Ferry.Linux;
using Xunit;

namespace Ferry.IntegrationTests.Restore;

/// <summary>Round trips of the less common descriptor kinds: pidfds, O_PATH symlinks, removed directories and devices, leases.</summary>
public partial class FerryRoundTripTests
{
    [FerryDumpFact]
    public void Pidfds_of_a_child_of_itself_and_of_a_reaped_child_work_after_the_restore()
    {
        using var round = RoundTrip.Of("pidfd_holder");
        var files = Dump.Images.Entries<Ferry.Images.Protos.file_entry>(Path.Combine(round.ImagesDir, "files.img"));
        var pidfds = files.Where(f => f.Pidfd is not null).Select(f => f.Pidfd.Nspid).Order().ToList();
        Assert.Equal(new[] { -1, round.Pid, int.Parse(round.Target.Ready["child"]) }.Order(), pidfds);
        Assert.Equal(0, round.Stop());
        Assert.Equal("1", round.Target.Result("dead_poll"));
        Assert.Equal("1", round.Target.Result("dead_esrch"));
        Assert.Equal("1", round.Target.Result("self_ok"));
        Assert.Equal("1", round.Target.Result("live_killed"));
    }

    [FerryDumpFact]
    public void A_pidfd_of_a_process_outside_the_tree_stops_the_dump_and_the_process_runs_on()
    {
        using var target = Targets.TargetProcess.Start("pidfd_holder", "parent");
        var images = Directory.CreateDirectory(Path.Combine(target.Directory, "images")).FullName;
        var dump = FerryBinary.Run("dump", "-t", $"{target.Pid}", "-D", images);
        Assert.NotEqual(0, dump.ExitCode);
        Assert.Contains($"pidfd of process {Environment.ProcessId}, which is not part of the dumped tree", dump.StdErr);
        Assert.Equal(0, target.Stop());
        Assert.Equal("1", target.Result("live_killed"));
    }

    [FerryDumpFact]
    public void O_PATH_descriptors_of_a_symlink_and_of_a_removed_symlink_still_name_the_symlinks()
    {
        using var round = RoundTrip.Of("opath_symlink");
        string output = round.Target.OutPath;
        Assert.Equal(0, round.Stop());
        Assert.Equal("1", round.Target.Result("link_lnk"));
        Assert.Equal($"{output}.target", round.Target.Result("link_target"));
        Assert.Equal("1", round.Target.Result("gone_lnk"));
        Assert.Equal($"{output}.elsewhere", round.Target.Result("gone_target"));
        Assert.Equal("1", round.Target.Result("gone_absent"));
        Assert.Empty(Directory.GetFiles(round.Target.Directory, "*.ghost"));
    }

    [FerryDumpFact]
    public void A_removed_working_directory_a_removed_open_directory_a_file_in_it_and_a_removed_device_node_stay_removed()
    {
        using var round = RoundTrip.Of("removed_dirs");
        string output = round.Target.OutPath;
        // The restore made them again to open them and removed them at once.
        Assert.False(Directory.Exists($"{output}.cwd"));
        Assert.False(Directory.Exists($"{output}.dir"));
        Assert.Empty(Directory.GetFileSystemEntries(round.Target.Directory, "*.ghost"));
        Assert.Equal(0, round.Stop());
        Assert.Equal($"{output}.cwd", round.Target.Result("cwd"));
        Assert.Equal("1", round.Target.Result("cwd_deleted"));
        Assert.Equal("0", round.Target.Result("cwd_nlink"));
        Assert.Equal("1", round.Target.Result("dir_isdir"));
        Assert.Equal("0", round.Target.Result("dir_nlink"));
        Assert.Equal("750", round.Target.Result("dir_mode"));
        Assert.Equal("1:3", round.Target.Result("dev_rdev"));
        Assert.Equal("1", round.Target.Result("dev_write"));
        Assert.Equal("1", round.Target.Result("dev_absent"));
        Assert.Equal("inside", round.Target.Result("file")); // a deleted file whose directory is gone too
        Assert.Empty(Directory.GetFileSystemEntries(round.Target.Directory, "*.ghost"));
        // CRIU's decoder reads the ghosts: directories and the device (with its rdev) without contents, the file with its.
        var ghosts = Directory.GetFiles(round.ImagesDir, "ghost-file-*.img").Select(f => Dump.Crit.Decode(f)["entries"]![0]!).ToList();
        Assert.Equal(4, ghosts.Count);
        Assert.Contains(ghosts, g => g["rdev"] is not null);
    }

    [FerryDumpFact]
    public void A_working_directory_in_the_proc_entry_of_an_ended_process_is_such_a_directory_again()
    {
        using var round = RoundTrip.Of("dead_proc_cwd");
        int ended = int.Parse(round.Target.Ready["child"]);
        var remaps = Dump.Images.Entries<Ferry.Images.Protos.remap_file_path_entry>(Path.Combine(round.ImagesDir, "remap-fpath.img"));
        Assert.Contains(remaps, r => r.RemapType == Ferry.Images.Protos.remap_type.Procfs && r.RemapId == ended);
        Assert.False(Directory.Exists($"/proc/{ended}"), "the short-lived process that held the PID is still there");
        Assert.Equal(0, round.Stop());
        Assert.Equal("1", round.Target.Result("cwd_enoent"));
        Assert.Equal($"/proc/{ended}", round.Target.Result("cwd"));
    }

    [FerryDumpFact]
    public void A_lease_still_breaks_after_the_restore_and_its_holder_gets_SIGIO()
    {
        CriuVector.BecomeSubreaper();
        using var round = RoundTrip.Of(Targets.TargetProcess.Start("lease_holder"), "--file-locks");
        var leases = Dump.Images.Entries<Ferry.Images.Protos.file_lock_entry>(Path.Combine(round.ImagesDir, "filelocks.img"));
        Assert.Equal([(8u, 0u), (8u, 1u)], leases.Select(l => (l.Flag, l.Type)).Order());
        Assert.Equal(-1, OpenToWriteWithoutWaiting($"{round.Target.OutPath}.leased"));
        Assert.Equal(0, round.Stop());
        Assert.Equal("1", round.Target.Result("sigio"));
        Assert.Equal("2", round.Target.Result("lease")); // being broken to none
        Assert.Equal("0", round.Target.Result("shared_lease"));
    }

    [FerryDumpFact]
    public void A_lease_being_broken_at_dump_time_is_being_broken_again_without_a_second_SIGIO()
    {
        CriuVector.BecomeSubreaper();
        var target = Targets.TargetProcess.Start("lease_holder");
        int opened = OpenToWriteWithoutWaiting($"{target.OutPath}.leased");
        using var round = RoundTrip.Of(target, "--file-locks");
        Assert.Equal(-1, opened);
        var leases = Dump.Images.Entries<Ferry.Images.Protos.file_lock_entry>(Path.Combine(round.ImagesDir, "filelocks.img"));
        Assert.Contains((8u, 6u), leases.Select(l => (l.Flag, l.Type))); // LEASE_BREAKING | F_UNLCK, as CRIU writes it
        Assert.Equal(-1, OpenToWriteWithoutWaiting($"{round.Target.OutPath}.leased"));
        Assert.Equal(0, round.Stop());
        Assert.Equal("1", round.Target.Result("sigio"));
        Assert.Equal("2", round.Target.Result("lease"));
    }

    /// <summary>
    /// open(O_WRONLY|O_NONBLOCK): a writer that will not wait. A lease on the file makes it fail with EAGAIN (then
    /// -1 is returned) and starts breaking the lease, which tells the holder (SIGIO).
    /// </summary>
    static int OpenToWriteWithoutWaiting(string path)
    {
        int fd = LibC.open_fd(path, OpenFlags.O_WRONLY | OpenFlags.O_NONBLOCK | OpenFlags.O_CLOEXEC, 0);
        int error = System.Runtime.InteropServices.Marshal.GetLastPInvokeError();
        if (fd >= 0)
        {
            LibC.close(fd);
            return fd;
        }
        Assert.Equal(Errno.EAGAIN, error);
        return -1;
    }
}
