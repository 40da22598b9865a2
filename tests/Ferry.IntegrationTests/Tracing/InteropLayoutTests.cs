using System.Runtime.InteropServices;
using Ferry.IntegrationTests.Support;
using Ferry.Linux;
using Ferry.Tracing;
using Xunit;

namespace Ferry.IntegrationTests.Tracing;

/// <summary>The C# interop structs against the C compiler's view of the same kernel and libc structs.</summary>
public sealed class InteropLayoutTests
{
    static readonly Lazy<Dictionary<string, ulong>> C = new(ReadCLayout);

    [Theory]
    [InlineData("UserRegs", typeof(UserRegs))]
    [InlineData("IoVec", typeof(IoVec))]
    [InlineData("CloneArgs", typeof(CloneArgs))]
    [InlineData("SigInfo", typeof(SigInfo))]
    [InlineData("StackT", typeof(StackT))]
    [InlineData("ITimerVal", typeof(ITimerVal))]
    [InlineData("TimeSpec", typeof(TimeSpec))]
    [InlineData("ITimerSpec", typeof(ITimerSpec))]
    [InlineData("SigEvent", typeof(SigEvent))]
    [InlineData("RLimit", typeof(RLimit))]
    [InlineData("PrctlMmMap", typeof(PrctlMmMap))]
    [InlineData("PtraceSyscallInfo", typeof(PtraceSyscallInfo))]
    [InlineData("PtracePeekSigInfoArgs", typeof(PtracePeekSigInfoArgs))]
    [InlineData("PtraceRseqConfiguration", typeof(PtraceRseqConfiguration))]
    [InlineData("SockFilter", typeof(SockFilter))]
    [InlineData("UffdioApi", typeof(UffdioApi))]
    [InlineData("UffdioRegister", typeof(UffdioRegister))]
    public void Struct_sizes_match_C(string name, Type type) => Assert.Equal(C.Value[name], (ulong)Marshal.SizeOf(type));

    [Theory]
    [InlineData("UserRegs", typeof(UserRegs), "orig_rax")]
    [InlineData("UserRegs", typeof(UserRegs), "rip")]
    [InlineData("UserRegs", typeof(UserRegs), "fs_base")]
    [InlineData("UserRegs", typeof(UserRegs), "gs")]
    [InlineData("CloneArgs", typeof(CloneArgs), "set_tid")]
    [InlineData("CloneArgs", typeof(CloneArgs), "cgroup")]
    [InlineData("StackT", typeof(StackT), "ss_size")]
    [InlineData("SigEvent", typeof(SigEvent), "sigev_notify")]
    [InlineData("SigEvent", typeof(SigEvent), "sigev_notify_thread_id")]
    [InlineData("PrctlMmMap", typeof(PrctlMmMap), "auxv_size")]
    [InlineData("PtraceSyscallInfo", typeof(PtraceSyscallInfo), "Nr")]
    [InlineData("PtraceSyscallInfo", typeof(PtraceSyscallInfo), "Args")]
    public void Field_offsets_match_C(string name, Type type, string field) =>
        Assert.Equal(C.Value[$"{name}.{field}"], (ulong)Marshal.OffsetOf(type, field));

    [Theory]
    [InlineData("Pid")]
    [InlineData("Uid")]
    [InlineData("Status")]
    [InlineData("Value")]
    [InlineData("Address")]
    public void SigInfo_accessors_read_at_the_C_offsets(string field)
    {
        var raw = new byte[128];
        var offset = (int)C.Value[$"SigInfo.{field}"];
        raw[offset] = 0x5a;
        var info = MemoryMarshal.Read<SigInfo>(raw);
        var value = field switch
        {
            "Pid" => (ulong)info.Pid,
            "Uid" => (ulong)info.Uid,
            "Status" => (ulong)info.Status,
            "Value" => info.Value,
            _ => info.Address,
        };
        Assert.Equal(0x5aUL, value);
    }

    [Fact]
    public void Userfaultfd_ioctl_numbers_match_C()
    {
        Assert.Equal(Uffd.UFFDIO_API, C.Value["UFFDIO_API"]);
        Assert.Equal(Uffd.UFFDIO_REGISTER, C.Value["UFFDIO_REGISTER"]);
        Assert.Equal(Uffd.UFFDIO_UNREGISTER, C.Value["UFFDIO_UNREGISTER"]);
    }

    [Fact]
    public void Names_of_syscalls_and_errnos_are_kernel_names()
    {
        Assert.Equal("process_vm_readv", Sys.Name(Sys.process_vm_readv));
        Assert.Equal(434, Sys.pidfd_open);
        Assert.Equal(438, Sys.pidfd_getfd);
        Assert.Equal("syscall 9999", Sys.Name(9999));
        Assert.Equal("ESRCH", Errno.Name(Errno.ESRCH));
        Assert.Equal("ERESTART_RESTARTBLOCK", Errno.Name(516));
        Assert.Equal("errno 9999", Errno.Name(9999));
        Assert.Equal("ptrace(PTRACE_GETREGS) for pid 7 failed: ESRCH (No such process)",
            new LinuxException("ptrace(PTRACE_GETREGS)", 7, Errno.ESRCH).Message);
        Assert.Equal("pipe2 failed: EMFILE (Too many open files)", new LinuxException("pipe2", 0, Errno.EMFILE).Message);
    }

    [Fact]
    public void Wait_statuses_decode_like_the_libc_macros()
    {
        Assert.Equal((true, 3), (new WaitStatus(0x0300).Exited, new WaitStatus(0x0300).ExitCode));
        Assert.Equal((true, 9), (new WaitStatus(0x0009).Signaled, new WaitStatus(0x0009).TermSignal));
        var eventStop = new WaitStatus(0x80057f); // PTRACE_EVENT_STOP << 16 | SIGTRAP << 8 | 0x7f
        Assert.True(eventStop.IsEventStop);
        Assert.Equal(Signals.SIGTRAP, eventStop.StopSignal);
        Assert.False(eventStop.IsGone);
        Assert.Equal("stopped by signal 19", new WaitStatus(0x137f).ToString());
    }

    static Dictionary<string, ulong> ReadCLayout()
    {
        var path = Path.Combine(Path.GetTempPath(), $"ferry-layout-{Environment.ProcessId}-{Guid.NewGuid():N}");
        try
        {
            using (var layout = ChildProcess.Start(new SpawnOptions(TestTargets.Path("trace_layout")) { Stdout = Stdio.ToFile(path) }))
                Assert.Equal(new ExitStatus(true, 0, 0), layout.WaitForExit(Poll.Patience));
            return File.ReadAllLines(path).Select(l => l.Split('=')).ToDictionary(p => p[0], p => ulong.Parse(p[1]));
        }
        finally
        {
            File.Delete(path);
        }
    }
}
