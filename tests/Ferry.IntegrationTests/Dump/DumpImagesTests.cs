using System.Buffers.Binary;
using System.Globalization;
using System.Text;
using Ferry.Images;
using Ferry.Images.Protos;
using Ferry.IntegrationTests.Support;
using Ferry.Linux;
using Xunit;

namespace Ferry.IntegrationTests.Dump;

/// <summary>
/// Dumps real processes with `ferry dump --leave-running` and checks that the images (read by Ferry's image
/// library and by CRIU's crit) say what the process is: VMAs, registers, descriptors, pipe bytes, signals, timers.
/// </summary>
public sealed class DumpImagesTests
{
    const int SIGUSR1 = 10, SIGUSR2 = 12;

    [RootFact]
    public void Images_of_a_process_with_files_pipes_signals_and_timers_match_the_process()
    {
        using var target = DumpTarget.Start("dump_resources", passWorkDir: true);
        var pid = target.Pid;
        var maps = File.ReadAllLines($"/proc/{pid}/maps");

        var result = target.Dump("--leave-running");

        Assert.True(result.ExitCode == 0, $"ferry dump failed: {result.StdErr}\n{target.DumpLog}");
        Assert.False(target.Process.HasExited);
        Assert.Equal(maps, File.ReadAllLines($"/proc/{pid}/maps")); // no scratch mapping or other trace left
        foreach (var file in Directory.GetFiles(target.ImagesDir).Where(f => !f.EndsWith("dump.log", StringComparison.Ordinal)))
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(file));

        var mm = Images.Single<mm_entry>(target.Image($"mm-{pid}.img"));
        Assert.Equal(ExpectedVmas(maps), mm.Vmas.Select(v => (v.Start, v.End, v.Prot)).ToList());

        var files = Images.Entries<file_entry>(target.Image("files.img")).ToDictionary(f => f.Id);
        var fds = Images.Entries<fdinfo_entry>(target.Image("fdinfo-2.img")).ToDictionary(f => (int)f.Fd);
        var work = target.WorkDir;
        var data = files[fds[3].Id].Reg;
        Assert.Equal((Path.Combine(work, "data.txt"), 5UL, OpenFlags.O_RDONLY), (data.Name, data.Pos, (int)data.Flags & 3));
        // CRIU names a file's mount only when it dumps mount namespaces; an id of a mount it has no image of makes
        // CRIU's restore look for ghosts and links on a mount it cannot find.
        Assert.DoesNotContain(files.Values, f => f.Reg is { HasMntId: true });
        var append = files[fds[4].Id].Reg;
        Assert.Equal(Path.Combine(work, "append.log"), append.Name);
        Assert.Equal(OpenFlags.O_APPEND | OpenFlags.O_WRONLY, (int)append.Flags & (OpenFlags.O_APPEND | 3));
        Assert.Equal(6UL, append.Pos);
        Assert.Equal((fd_types.Pipe, fd_types.Pipe), (fds[5].Type, fds[6].Type));
        var pipeId = files[fds[5].Id].Pipe.PipeId;
        Assert.Equal(pipeId, files[fds[6].Id].Pipe.PipeId);
        var pipeData = Images.EntriesWithExtra<pipe_data_entry>(target.Image("pipes-data.img")).Single(p => p.Message.PipeId == pipeId);
        Assert.Equal("pipe-bytes\n", Encoding.ASCII.GetString(pipeData.Extra));
        Assert.Equal(["/dev/null", "/dev/zero", "/dev/urandom"], new[] { 8, 9, 10 }.Select(fd => files[fds[fd].Id].Reg.Name));
        Assert.Equal((uint)OpenFlags.FD_CLOEXEC, fds[10].Flags);
        Assert.Equal(0u, fds[9].Flags);
        Assert.Equal(fd_types.Fifo, fds[11].Type);
        Assert.Equal("fifo!\n", Encoding.ASCII.GetString(Images.EntriesWithExtra<pipe_data_entry>(target.Image("fifo-data.img")).Single().Extra));

        var ghostFile = files[fds[7].Id].Reg;
        Assert.Equal(Path.Combine(work, "ghost.txt"), ghostFile.Name);
        var remap = Images.Entries<remap_file_path_entry>(target.Image("remap-fpath.img")).Single(r => r.OrigId == ghostFile.Id);
        Assert.Equal(remap_type.Ghost, remap.RemapType);
        var ghost = ImageReader.ReadFile(target.Image($"ghost-file-{remap.RemapId:x}.img")).Entries[0];
        Assert.Equal("ghost content\n", Encoding.ASCII.GetString(ghost.Extra.Span));

        var core = Images.Single<core_entry>(target.Image($"core-{pid}.img"));
        var usr1 = core.Tc.Sigactions[SigactionIndex(SIGUSR1)];
        Assert.NotEqual(0UL, usr1.Sigaction);
        Assert.NotEqual(0UL, usr1.Flags & Signals.SA_RESTART);
        Assert.Equal(Signals.Bit(SIGUSR2), usr1.Mask);
        Assert.Equal(62, core.Tc.Sigactions.Count);
        Assert.Equal(Signals.Bit(SIGUSR2), core.Tc.BlkSigset);
        Assert.Contains(core.ThreadCore.SignalsP.Signals, s => BinaryPrimitives.ReadInt32LittleEndian(s.Siginfo.Span) == SIGUSR2);
        Assert.Equal((5UL, 0UL), (core.Tc.Timers.Real.Isec, core.Tc.Timers.Real.Iusec));
        Assert.True(core.Tc.Timers.Real.Vsec <= 5);
        var posix = Assert.Single(core.Tc.Timers.Posix);
        Assert.Equal((1u, (uint)SIGUSR1, 0x1234UL, 7UL, 0u), (posix.ClockId, posix.SiSigno, posix.SivalPtr, posix.Isec, posix.ItSigevNotify));
        Assert.True(posix.Vsec <= 7);
        Assert.Equal(65536UL, core.ThreadCore.Sas.SsSize);
        Assert.Equal("dump_resources", core.Tc.Comm);
        Assert.Equal(0x17u, Images.Single<fs_entry>(target.Image($"fs-{pid}.img")).Umask); // 027

        // The 16 MiB pattern is in the pages image: page i holds byte (i * 7 + 1) & 0xff.
        using var pages = PageMap.Open(target.Image($"pagemap-{pid}.img"));
        var memory = target.Address("memory");
        var page = new byte[4096];
        for (var i = 0; i < 4096; i++)
        {
            Assert.Equal(4096, pages.Read(memory + (ulong)i * 4096, page));
            Assert.True(page.All(b => b == (byte)(i * 7 + 1)), $"page {i} of the pattern differs in the images");
        }
        // Pages the task may not even read (PROT_NONE) are saved too, through /proc/PID/mem.
        var hidden = target.Address("protnone");
        Assert.Contains(mm.Vmas, v => v.Start <= hidden && hidden < v.End && v.Prot == 0);
        for (var i = 0; i < 2; i++)
        {
            Assert.Equal(4096, pages.Read(hidden + (ulong)i * 4096, page));
            Assert.True(page.All(b => b == 0xab), $"PROT_NONE page {i} differs in the images");
        }
    }

    [CritFact]
    public void Crit_decodes_every_image_and_agrees_on_descriptors_pipe_bytes_and_timers()
    {
        using var target = DumpTarget.Start("dump_resources", passWorkDir: true);
        var result = target.Dump("--leave-running");
        Assert.True(result.ExitCode == 0, $"ferry dump failed: {result.StdErr}\n{target.DumpLog}");

        foreach (var image in Directory.GetFiles(target.ImagesDir, "*.img").Where(f => !Path.GetFileName(f).StartsWith("pages-", StringComparison.Ordinal)))
            Crit.Decode(image);
        // zdtm checks (shpages_written + pages_written) * 4096 against the size of the pages files.
        var stats = Crit.Decode(target.Image("stats-dump"))["entries"]![0]!["dump"]!;
        long pagesBytes = Directory.GetFiles(target.ImagesDir, "pages-*.img").Sum(f => new FileInfo(f).Length);
        Assert.Equal(pagesBytes, ((long)stats["pages_written"]! + (long)stats["shpages_written"]!) * 4096);

        var fdinfo = Crit.Decode(target.Image("fdinfo-2.img"))["entries"]!.AsArray();
        Assert.Equal(Enumerable.Range(0, 12), fdinfo.Select(e => (int)e!["fd"]!).Where(fd => fd < 12));
        var pipes = Crit.Decode(target.Image("pipes-data.img"))["entries"]!.AsArray();
        Assert.Equal("pipe-bytes\n", Encoding.ASCII.GetString(Convert.FromBase64String(((string)pipes[0]!["extra"]!).Replace("\n", ""))));
        var core = Crit.Decode(target.Image($"core-{target.Pid}.img"))["entries"]![0]!;
        Assert.Equal(5, (int)core["tc"]!["timers"]!["real"]!["isec"]!);
        Assert.Equal("dump_resources", (string)core["tc"]!["comm"]!);
        var vmas = Crit.Decode(target.Image($"mm-{target.Pid}.img"))["entries"]![0]!["vmas"]!.AsArray();
        Assert.Equal(Images.Single<mm_entry>(target.Image($"mm-{target.Pid}.img")).Vmas.Count, vmas.Count);
    }

    [RootFact]
    public void Registers_set_by_the_program_are_in_the_core_image()
    {
        using var target = DumpTarget.Start("dump_registers", passWorkDir: false);
        Thread.Sleep(100); // the registers are loaded right after "ready"
        var result = target.Dump("--leave-running");
        Assert.True(result.ExitCode == 0, $"ferry dump failed: {result.StdErr}\n{target.DumpLog}");

        var info = Images.Single<core_entry>(target.Image($"core-{target.Pid}.img")).ThreadInfo;
        Assert.Equal(0x1122334455667788UL, info.Gpregs.R12);
        Assert.Equal(0x0badc0ffee0ddf00UL, info.Gpregs.R13);
        Assert.Equal(0x7766554433221100UL, info.Gpregs.R14);
        Assert.Equal(0xfeedfacecafebeefUL, info.Gpregs.R15);

        ulong[] pattern =
        [
            0x1111222233334444, 0x5555666677778888, 0x99990000aaaabbbb, 0xccccddddeeeeffff,
            0x0123456789abcdef, 0xfedcba9876543210, 0x0f1e2d3c4b5a6978, 0x8796a5b4c3d2e1f0,
        ];
        var fp = info.Fpregs;
        Assert.Equal(Words(pattern[0..2]), fp.XmmSpace.Skip(7 * 4).Take(4)); // xmm7
        Assert.Equal(Words(pattern[2..4]), fp.Xsave.YmmhSpace.Skip(7 * 4).Take(4)); // upper half of ymm7
        if (target.Output.Contains("avx512=1", StringComparison.Ordinal))
        {
            Assert.Equal(pattern[4..8], fp.Xsave.ZmmUpper.Skip(7 * 4).Take(4)); // upper 256 bits of zmm7
            Assert.Equal(pattern, fp.Xsave.Hi16Zmm.Skip((23 - 16) * 8).Take(8)); // zmm23
            Assert.Equal(0x5a5a5a5a5a5a5a5aUL, fp.Xsave.OpmaskReg[1]); // k1
        }
    }

    [RootFact]
    public void A_task_blocked_in_read_is_saved_ready_to_restart_the_syscall()
    {
        using var target = DumpTarget.Start("dump_resources", passWorkDir: true, "read");
        target.WaitFor(() => File.ReadAllText($"/proc/{target.Pid}/syscall").StartsWith("0 ", StringComparison.Ordinal), "a blocked read()");
        var result = target.Dump("--leave-running");
        Assert.True(result.ExitCode == 0, $"ferry dump failed: {result.StdErr}\n{target.DumpLog}");

        var regs = Images.Single<core_entry>(target.Image($"core-{target.Pid}.img")).ThreadInfo.Gpregs;
        Assert.Equal(0UL, regs.OrigAx); // read
        Assert.Equal(regs.OrigAx, regs.Ax); // -ERESTARTSYS turned back into the syscall number
        using var mem = File.OpenHandle($"/proc/{target.Pid}/mem");
        var code = new byte[2];
        RandomAccess.Read(mem, code, (long)regs.Ip);
        Assert.Equal(new byte[] { 0x0f, 0x05 }, code); // ip points at the syscall instruction again
        target.WaitFor(() => target.Status().State == 'S', "the live task blocked in its read again");
    }

    [RootFact]
    public void Every_thread_gets_its_core_image_with_its_own_signal_mask()
    {
        using var target = DumpTarget.Start("dump_threads", passWorkDir: false);
        var tids = Directory.GetDirectories($"/proc/{target.Pid}/task").Select(d => uint.Parse(Path.GetFileName(d), CultureInfo.InvariantCulture)).Order().ToList();
        var result = target.Dump("--leave-running");
        Assert.True(result.ExitCode == 0, $"ferry dump failed: {result.StdErr}\n{target.DumpLog}");

        var pstree = Images.Single<pstree_entry>(target.Image("pstree.img"));
        Assert.Equal((uint)target.Pid, pstree.Pid);
        Assert.Equal(tids, pstree.Threads.Order());
        Assert.Equal((uint)target.Pid, pstree.Threads[0]);
        var masks = new HashSet<ulong>();
        foreach (var tid in tids.Where(t => t != target.Pid))
        {
            var core = Images.Single<core_entry>(target.Image($"core-{tid}.img"));
            Assert.Null(core.Tc); // process-wide state lives in the leader's image only
            Assert.NotEqual(0UL, core.ThreadInfo.Gpregs.Sp);
            masks.Add(core.ThreadCore.BlkSigset);
        }
        // Thread i blocks SIGRTMIN + i; glibc's SIGRTMIN is 34 here.
        Assert.Equal(3, masks.Count);
        Assert.NotNull(Images.Single<core_entry>(target.Image($"core-{target.Pid}.img")).Tc);
        Assert.Equal(4, Directory.GetDirectories($"/proc/{target.Pid}/task").Length); // all still running
    }

    /// <summary>The VMAs /proc/PID/maps shows, with [vvar] and [vvar_vclock] as one area (as CRIU records them).</summary>
    static List<(ulong, ulong, uint)> ExpectedVmas(string[] maps)
    {
        var result = new List<(ulong Start, ulong End, uint Prot, bool Vvar)>();
        foreach (var line in maps)
        {
            var fields = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            var range = fields[0].Split('-');
            var start = ulong.Parse(range[0], NumberStyles.HexNumber);
            var end = ulong.Parse(range[1], NumberStyles.HexNumber);
            var prot = (fields[1][0] == 'r' ? 1u : 0) | (fields[1][1] == 'w' ? 2u : 0) | (fields[1][2] == 'x' ? 4u : 0);
            var vvar = fields.Length > 5 && fields[5].StartsWith("[vvar", StringComparison.Ordinal);
            if (vvar && result.Count > 0 && result[^1].Vvar && result[^1].End == start)
                result[^1] = result[^1] with { End = end };
            else
                result.Add((start, end, prot, vvar));
        }
        return result.Select(r => (r.Start, r.End, r.Prot)).ToList();
    }

    /// <summary>CRIU's sigactions list holds signals 1..64 without SIGKILL (9) and SIGSTOP (19).</summary>
    static int SigactionIndex(int signal) => signal - 1 - (signal > 9 ? 1 : 0) - (signal > 19 ? 1 : 0);

    static uint[] Words(ulong[] values) => values.SelectMany(v => new[] { (uint)v, (uint)(v >> 32) }).ToArray();
}
