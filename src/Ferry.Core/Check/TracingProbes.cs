using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using Ferry.Linux;
using Ferry.Tracing;

namespace Ferry.Check;

/// <summary>Probes of ptrace, remote memory, pidfds, clone3 and the mm: all done to a helper process.</summary>
internal static unsafe class TracingProbes
{
    public static string PtraceAndRemoteSyscalls()
    {
        using var helper = ProbeHelper.Start();
        var clock = Stopwatch.StartNew();
        const int calls = 100;
        for (var i = 0; i < calls; i++)
        {
            var pid = helper.Task.Syscall(Sys.getpid);
            if (pid != helper.Pid) throw new FeatureMissingException($"remote getpid returned {pid}, not {helper.Pid}");
        }
        var perCall = clock.Elapsed.TotalMicroseconds / calls;
        return $"seized and interrupted pid {helper.Pid}; remote getpid via the vDSO's syscall at +0x{helper.Task.SyscallInstruction - VdsoStart(helper.Pid):x} ({perCall:0} µs each)";
    }

    public static string ProcessVm()
    {
        using var helper = ProbeHelper.Start();
        using var scratch = helper.Task.MapScratch();
        var data = "ferry check process_vm_writev"u8.ToArray();
        var back = new byte[data.Length];
        fixed (byte* d = data, b = back)
        {
            var local = new IoVec { Base = (nint)d, Length = (nuint)data.Length };
            var remote = new IoVec { Base = (nint)scratch.Address, Length = (nuint)data.Length };
            if (LibC.process_vm_writev(helper.Pid, &local, 1, &remote, 1, 0) != data.Length)
                throw LinuxException.FromLastError("process_vm_writev", helper.Pid);
            local.Base = (nint)b;
            if (LibC.process_vm_readv(helper.Pid, &local, 1, &remote, 1, 0) != data.Length)
                throw LinuxException.FromLastError("process_vm_readv", helper.Pid);
        }
        if (!back.AsSpan().SequenceEqual(data)) throw new FeatureMissingException("process_vm_readv read back other bytes than were written");
        return $"wrote and read back {data.Length} bytes in pid {helper.Pid}";
    }

    public static string ProcPidMem()
    {
        using var helper = ProbeHelper.Start();
        var page = helper.Task.SyscallOrThrow(Sys.mmap, 0, Mman.PageSize, Mman.PROT_READ, Mman.MAP_PRIVATE | Mman.MAP_ANONYMOUS, -1, 0);
        using var mem = LibC.open($"/proc/{helper.Pid}/mem", OpenFlags.O_RDWR | OpenFlags.O_CLOEXEC, 0);
        if (mem.IsInvalid) throw LinuxException.FromLastError($"open /proc/{helper.Pid}/mem");
        var data = "read-only page"u8.ToArray();
        var back = new byte[data.Length];
        fixed (byte* d = data, b = back)
        {
            if (LibC.pwrite(mem, d, (nuint)data.Length, page) != data.Length)
                throw LinuxException.FromLastError("pwrite /proc/PID/mem into a read-only page", helper.Pid);
            if (LibC.pread(mem, b, (nuint)back.Length, page) != back.Length)
                throw LinuxException.FromLastError("pread /proc/PID/mem", helper.Pid);
        }
        if (!back.AsSpan().SequenceEqual(data)) throw new FeatureMissingException("/proc/PID/mem read back other bytes than were written");
        return "wrote into a read-only private page and read it back";
    }

    public static string Pidfd()
    {
        using var helper = ProbeHelper.Start(seize: false);
        var pidfd = (int)LibC.syscall(Sys.pidfd_open, helper.Pid, 0, 0, 0, 0, 0);
        if (pidfd < 0) throw LinuxException.FromLastError("pidfd_open", helper.Pid);
        try
        {
            var fd = (int)LibC.syscall(Sys.pidfd_getfd, pidfd, 0, 0, 0, 0, 0);
            if (fd < 0) throw LinuxException.FromLastError("pidfd_getfd of fd 0", helper.Pid);
            LibC.close(fd);
            return $"took a copy of fd 0 of pid {helper.Pid}";
        }
        finally
        {
            LibC.close(pidfd);
        }
    }

    public static string Clone3SetTid()
    {
        using var helper = ProbeHelper.Start();
        var wanted = FreePid();
        var got = CloneInHelper(helper, 0, [wanted]);
        if (got != wanted) throw new FeatureMissingException($"asked for PID {wanted}, got {got}");
        return $"a clone3 in the helper got the asked-for PID {wanted}";
    }

    public static string Clone3SetTidNewPidNs()
    {
        using var helper = ProbeHelper.Start();
        var wanted = FreePid();
        var nspid = "";
        var got = CloneInHelper(helper, CloneFlags.CLONE_NEWPID, [1, wanted],
            pid => nspid = File.ReadLines($"/proc/{pid}/status").First(l => l.StartsWith("NSpid:", StringComparison.Ordinal)));
        var expected = $"NSpid:\t{wanted}\t1";
        if (got != wanted || nspid != expected) throw new FeatureMissingException($"asked for PIDs 1 and {wanted}, got {got} ({nspid.Replace('\t', ' ')})");
        return $"a clone3(CLONE_NEWPID) in the helper got PID 1 inside and {wanted} outside";
    }

    /// <summary>
    /// clone3 run in the helper with CLONE_PARENT (the child is ours to reap) and CLONE_PTRACE (it is born traced,
    /// so it stops before running any code); then it is killed and reaped. Returns the PID the kernel gave it.
    /// </summary>
    static long CloneInHelper(ProbeHelper helper, ulong flags, int[] setTid, Action<long>? inspect = null) => helper.Tracer.Run(() =>
    {
        using var scratch = helper.Task.MapScratch();
        const int setTidOffset = 256;
        for (var i = 0; i < setTid.Length; i++) scratch.Write(setTidOffset + i * 4, setTid[i]);
        scratch.Write(0, new CloneArgs
        {
            flags = flags | CloneFlags.CLONE_PARENT | CloneFlags.CLONE_PTRACE,
            set_tid = (ulong)scratch.At(setTidOffset),
            set_tid_size = (ulong)setTid.Length,
        });
        var child = helper.Task.Syscall(Sys.clone3, scratch.At(), sizeof(CloneArgs));
        if (child < 0) throw new LinuxException("remote clone3 with set_tid", helper.Pid, (int)-child);
        try
        {
            inspect?.Invoke(child);
        }
        finally
        {
            LibC.kill((int)child, Signals.SIGKILL);
            while (!Tracer.WaitFor((int)child).IsGone) LibC.ptrace(Ptrace.CONT, (int)child, 0, 0);
        }
        return child;
    });

    /// <summary>A PID no process uses now, away from where the kernel hands out new ones.</summary>
    static int FreePid()
    {
        var pidMax = int.Parse(File.ReadAllText("/proc/sys/kernel/pid_max").Trim(), CultureInfo.InvariantCulture);
        var last = int.Parse(File.ReadAllText("/proc/sys/kernel/ns_last_pid").Trim(), CultureInfo.InvariantCulture);
        for (var i = 0; i < pidMax; i++)
        {
            var candidate = 300 + (last - 300 + pidMax / 2 + i) % (pidMax - 300);
            if (!Directory.Exists($"/proc/{candidate}")) return candidate;
        }
        throw new FeatureMissingException("no free PID");
    }

    public static string PrSetMmMap()
    {
        using var helper = ProbeHelper.Start();
        var task = helper.Task;
        using var scratch = task.MapScratch(8192);
        task.SyscallOrThrow(Sys.prctl, Prctl.PR_SET_MM, Prctl.PR_SET_MM_MAP_SIZE, scratch.At());
        var size = scratch.Read<uint>(0);
        if (size != sizeof(PrctlMmMap)) throw new FeatureMissingException($"PR_SET_MM_MAP_SIZE is {size}, Ferry's prctl_mm_map is {sizeof(PrctlMmMap)}");

        // Set the helper's own current layout again: a real PR_SET_MM_MAP that changes nothing.
        var stat = File.ReadAllText($"/proc/{helper.Pid}/stat");
        var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        ulong Field(int number) => ulong.Parse(fields[number - 3], CultureInfo.InvariantCulture);
        var auxv = File.ReadAllBytes($"/proc/{helper.Pid}/auxv");
        const int auxvOffset = 512;
        scratch.Write(auxvOffset, auxv);
        var map = new PrctlMmMap
        {
            start_code = Field(26), end_code = Field(27), start_stack = Field(28), start_data = Field(45),
            end_data = Field(46), start_brk = Field(47), brk = (ulong)task.SyscallOrThrow(Sys.brk, 0),
            arg_start = Field(48), arg_end = Field(49), env_start = Field(50), env_end = Field(51),
            auxv = (ulong)scratch.At(auxvOffset), auxv_size = (uint)auxv.Length, exe_fd = uint.MaxValue,
        };
        scratch.Write(0, map);
        task.SyscallOrThrow(Sys.prctl, Prctl.PR_SET_MM, Prctl.PR_SET_MM_MAP, scratch.At(), sizeof(PrctlMmMap));
        return $"set the helper's mm layout and {auxv.Length}-byte auxv again (prctl_mm_map is {size} bytes)";
    }

    public static string VdsoLayout()
    {
        using var helper = ProbeHelper.Start();
        var areas = SpecialAreas(helper.Pid);
        if (!areas.Any(a => a.Name == "[vdso]")) throw new FeatureMissingException("the helper has no [vdso]");
        for (var i = 1; i < areas.Count; i++)
            if (areas[i].Start != areas[i - 1].End)
                throw new FeatureMissingException($"{areas[i - 1].Name} and {areas[i].Name} are not adjacent");
        var layout = string.Join(" + ", areas.Select(a => $"{a.Name} {(a.End - a.Start) / 1024} KiB"));

        // Restore moves these areas to their dumped addresses: move them all, keeping their relative layout.
        var start = areas[0].Start;
        var total = areas[^1].End - start;
        var task = helper.Task;
        var target = (ulong)task.SyscallOrThrow(Sys.mmap, 0, (long)total, Mman.PROT_NONE, Mman.MAP_PRIVATE | Mman.MAP_ANONYMOUS, -1, 0);
        foreach (var area in areas)
            task.SyscallOrThrow(Sys.mremap, (long)area.Start, (long)(area.End - area.Start), (long)(area.End - area.Start),
                Mman.MREMAP_MAYMOVE | Mman.MREMAP_FIXED, (long)(target + (area.Start - start)));
        var moved = SpecialAreas(helper.Pid);
        if (moved.Count != areas.Count || moved[0].Start != target)
            throw new FeatureMissingException($"mremap did not move {layout} to 0x{target:x}");
        return $"{layout}, contiguous; mremap moves them together";
    }

    internal sealed record Area(string Name, ulong Start, ulong End);

    /// <summary>The [vvar], [vvar_vclock] and [vdso] mappings, in address order.</summary>
    internal static List<Area> SpecialAreas(int pid)
    {
        var areas = new List<Area>();
        foreach (var line in File.ReadLines($"/proc/{pid}/maps"))
        {
            var name = line[(line.LastIndexOf(' ') + 1)..];
            if (name is not ("[vdso]" or "[vvar]" or "[vvar_vclock]")) continue;
            var range = line[..line.IndexOf(' ')].Split('-');
            areas.Add(new Area(name, ulong.Parse(range[0], NumberStyles.HexNumber), ulong.Parse(range[1], NumberStyles.HexNumber)));
        }
        return areas.OrderBy(a => a.Start).ToList();
    }

    static ulong VdsoStart(int pid) => SpecialAreas(pid).First(a => a.Name == "[vdso]").Start;
}
