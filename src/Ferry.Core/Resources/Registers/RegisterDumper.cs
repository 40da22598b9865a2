using System.Buffers.Binary;
using System.Runtime.Intrinsics.X86;
using Ferry.Images.Protos;
using Ferry.Linux;
using Ferry.Tracing;

namespace Ferry.Resources.Registers;

/// <summary>
/// Turns a stopped thread's registers into CRIU's thread_info_x86: general registers restart-adjusted the way CRIU
/// stores them, the FXSAVE fields and the XSAVE components this CPU has, and the three GDT TLS slots.
/// </summary>
internal static class RegisterDumper
{
    const long ERESTARTSYS = 512, ERESTARTNOINTR = 513, ERESTARTNOHAND = 514, ERESTART_RESTARTBLOCK = 516, EINTR = 4;

    public static thread_info_x86 Dump(TracedTask task, ulong clearTidAddress)
    {
        var regs = task.GetRegisters();
        return new thread_info_x86
        {
            ClearTidAddr = clearTidAddress,
            Gpregs = GeneralRegisters(RestartAdjusted(regs)),
            Fpregs = FloatingPoint(task.GetXState()),
            Tls = { ThreadAreas(task) },
        };
    }

    /// <summary>
    /// A thread stopped inside a syscall that will restart: store it as if it had not entered the syscall yet
    /// (rax = syscall number, rip back on the `syscall` instruction), so a restore that simply sets the registers
    /// re-issues the call. Restart-block calls (nanosleep and friends) cannot be re-issued this way: they return EINTR.
    /// </summary>
    public static UserRegs RestartAdjusted(UserRegs regs)
    {
        if ((long)regs.orig_rax < 0) return regs;
        switch ((long)regs.rax)
        {
            case -ERESTARTSYS or -ERESTARTNOINTR or -ERESTARTNOHAND:
                regs.rax = regs.orig_rax;
                regs.rip -= 2;
                break;
            case -ERESTART_RESTARTBLOCK:
                regs.rax = unchecked((ulong)-EINTR);
                break;
        }
        return regs;
    }

    static user_x86_regs_entry GeneralRegisters(UserRegs r) => new()
    {
        R15 = r.r15, R14 = r.r14, R13 = r.r13, R12 = r.r12, Bp = r.rbp, Bx = r.rbx, R11 = r.r11, R10 = r.r10,
        R9 = r.r9, R8 = r.r8, Ax = r.rax, Cx = r.rcx, Dx = r.rdx, Si = r.rsi, Di = r.rdi, OrigAx = r.orig_rax,
        Ip = r.rip, Cs = r.cs, Flags = r.eflags, Sp = r.rsp, Ss = r.ss, FsBase = r.fs_base, GsBase = r.gs_base,
        Ds = r.ds, Es = r.es, Fs = r.fs, Gs = r.gs, Mode = user_x86_regs_mode.Native,
    };

    /// <summary>Splits the XSAVE area (standard layout, as ptrace gives it) into CRIU's fields.</summary>
    internal static user_x86_fpregs_entry FloatingPoint(ReadOnlySpan<byte> area)
    {
        if (area.Length < 512 + 64)
            throw new InvalidDataException($"the XSAVE area is {area.Length} bytes, expected at least 576");
        var fp = new user_x86_fpregs_entry
        {
            Cwd = BinaryPrimitives.ReadUInt16LittleEndian(area),
            Swd = BinaryPrimitives.ReadUInt16LittleEndian(area[2..]),
            Twd = BinaryPrimitives.ReadUInt16LittleEndian(area[4..]),
            Fop = BinaryPrimitives.ReadUInt16LittleEndian(area[6..]),
            Rip = BinaryPrimitives.ReadUInt64LittleEndian(area[8..]),
            Rdp = BinaryPrimitives.ReadUInt64LittleEndian(area[16..]),
            Mxcsr = BinaryPrimitives.ReadUInt32LittleEndian(area[24..]),
            MxcsrMask = BinaryPrimitives.ReadUInt32LittleEndian(area[28..]),
        };
        AddWords(fp.StSpace, area.Slice(32, 128));
        AddWords(fp.XmmSpace, area.Slice(160, 256));

        // The kernel puts the enabled feature mask (XCR0) in the FXSAVE software-reserved bytes at 464.
        var xcr0 = BinaryPrimitives.ReadUInt64LittleEndian(area[464..]);
        var xsave = new user_x86_xsave_entry { XstateBv = BinaryPrimitives.ReadUInt64LittleEndian(area[512..]) };
        AddComponent(xsave.YmmhSpace, area, xcr0, 2);
        AddComponent(xsave.BndregState, area, xcr0, 3);
        AddComponent(xsave.BndcsrState, area, xcr0, 4);
        AddComponent(xsave.OpmaskReg, area, xcr0, 5);
        AddComponent(xsave.ZmmUpper, area, xcr0, 6);
        AddComponent(xsave.Hi16Zmm, area, xcr0, 7);
        AddComponent(xsave.Pkru, area, xcr0, 9);
        if (HasShadowStack) xsave.Cet = new user_x86_cet_entry { Cet = 0, Ssp = 0 };
        fp.Xsave = xsave;
        return fp;
    }

    static bool HasShadowStack => X86Base.IsSupported && (X86Base.CpuId(7, 0).Ecx & (1 << 7)) != 0;

    static void AddComponent(Google.Protobuf.Collections.RepeatedField<uint> field, ReadOnlySpan<byte> area, ulong xcr0, int component)
    {
        if (Component(area, xcr0, component) is { } bytes) AddWords(field, bytes);
    }

    static void AddComponent(Google.Protobuf.Collections.RepeatedField<ulong> field, ReadOnlySpan<byte> area, ulong xcr0, int component)
    {
        if (Component(area, xcr0, component) is not { } bytes) return;
        var span = bytes.AsSpan();
        for (var i = 0; i + 8 <= span.Length; i += 8) field.Add(BinaryPrimitives.ReadUInt64LittleEndian(span[i..]));
    }

    /// <summary>The bytes of an XSAVE component at the offset CPUID leaf 0xD gives, if XCR0 enables it.</summary>
    static byte[]? Component(ReadOnlySpan<byte> area, ulong xcr0, int component)
    {
        if ((xcr0 & (1UL << component)) == 0 || !X86Base.IsSupported) return null;
        var (size, offset, _, _) = X86Base.CpuId(0xD, component);
        if (size <= 0 || offset < 576 || offset + size > area.Length) return null;
        return area.Slice(offset, size).ToArray();
    }

    static void AddWords(Google.Protobuf.Collections.RepeatedField<uint> field, ReadOnlySpan<byte> bytes)
    {
        for (var i = 0; i + 4 <= bytes.Length; i += 4) field.Add(BinaryPrimitives.ReadUInt32LittleEndian(bytes[i..]));
    }

    /// <summary>The three TLS descriptors of the GDT (entries 12..14), empty for most 64-bit programs.</summary>
    static IEnumerable<user_desc_t> ThreadAreas(TracedTask task)
    {
        const int PTRACE_GET_THREAD_AREA = 25, GdtEntryTlsMin = 12, GdtEntryTlsEntries = 3;
        var result = new List<user_desc_t>();
        for (var i = 0; i < GdtEntryTlsEntries; i++)
        {
            var entry = GdtEntryTlsMin + i;
            var desc = task.Tracer.Run(() => GetThreadArea(task.Tid, entry, PTRACE_GET_THREAD_AREA));
            result.Add(desc);
        }
        return result;
    }

    static unsafe user_desc_t GetThreadArea(int tid, int entry, int request)
    {
        var raw = stackalloc uint[4];
        raw[0] = (uint)entry;
        if (LibC.ptrace(request, tid, entry, (nint)raw) < 0)
            return new user_desc_t { EntryNumber = (uint)entry, ReadExecOnly = true, SegNotPresent = true };
        var bits = raw[3];
        return new user_desc_t
        {
            EntryNumber = raw[0], BaseAddr = raw[1], Limit = raw[2],
            Seg32Bit = (bits & 1) != 0, ContentsH = (bits & 4) != 0, ContentsL = (bits & 2) != 0,
            ReadExecOnly = (bits & 8) != 0, LimitInPages = (bits & 16) != 0, SegNotPresent = (bits & 32) != 0,
            Usable = (bits & 64) != 0,
        };
    }
}
