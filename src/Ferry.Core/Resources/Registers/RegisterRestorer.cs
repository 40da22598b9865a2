using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics.X86;
using Ferry.Diagnostics;
using Ferry.Images.Protos;
using Ferry.Linux;
using Ferry.Tracing;

namespace Ferry.Resources.Registers;

/// <summary>
/// The last step before a task runs again: FPU/SSE/AVX/AVX-512 state (PTRACE_SETREGSET NT_X86_XSTATE, laid out with
/// this CPU's XSAVE offsets) and the general registers. The registers are final as dumped (a syscall that was
/// interrupted is already adjusted in the image), so orig_rax is set to -1 and the kernel does no restart of its own.
/// </summary>
public sealed class RegisterRestorer(TracedTask task, core_entry core, Log log)
{
    public void Restore()
    {
        var info = core.ThreadInfo;
        if (info.Fpregs.Xsave is { } xsave)
            task.SetXState(BuildXState(task.GetXState(), info.Fpregs, xsave, task.Tid));
        else
            task.SetFpRegs(Legacy(new byte[512], info.Fpregs));
        task.SetRegisters(ToUserRegs(info.Gpregs));
        log.Debug($"pid {task.Pid}: registers set, rip 0x{info.Gpregs.Ip:x} rsp 0x{info.Gpregs.Sp:x}");
    }

    public static UserRegs ToUserRegs(user_x86_regs_entry r) => new()
    {
        r15 = r.R15, r14 = r.R14, r13 = r.R13, r12 = r.R12, rbp = r.Bp, rbx = r.Bx, r11 = r.R11, r10 = r.R10, r9 = r.R9,
        r8 = r.R8, rax = r.Ax, rcx = r.Cx, rdx = r.Dx, rsi = r.Si, rdi = r.Di, orig_rax = ulong.MaxValue, rip = r.Ip,
        cs = r.Cs, eflags = r.Flags, rsp = r.Sp, ss = r.Ss, fs_base = r.FsBase, gs_base = r.GsBase,
        ds = r.Ds, es = r.Es, fs = r.Fs, gs = r.Gs,
    };

    /// <summary>The FXSAVE part: x87 control/status, MXCSR, ST0-7 and XMM0-15 (user_fpregs_struct layout).</summary>
    static byte[] Legacy(byte[] area, user_x86_fpregs_entry fp)
    {
        var s = area.AsSpan();
        BinaryPrimitives.WriteUInt16LittleEndian(s, (ushort)fp.Cwd);
        BinaryPrimitives.WriteUInt16LittleEndian(s[2..], (ushort)fp.Swd);
        BinaryPrimitives.WriteUInt16LittleEndian(s[4..], (ushort)fp.Twd);
        BinaryPrimitives.WriteUInt16LittleEndian(s[6..], (ushort)fp.Fop);
        BinaryPrimitives.WriteUInt64LittleEndian(s[8..], fp.Rip);
        BinaryPrimitives.WriteUInt64LittleEndian(s[16..], fp.Rdp);
        BinaryPrimitives.WriteUInt32LittleEndian(s[24..], fp.Mxcsr);
        BinaryPrimitives.WriteUInt32LittleEndian(s[28..], fp.MxcsrMask);
        Copy(s, 32, 128, MemoryMarshal.AsBytes(fp.StSpace.ToArray().AsSpan()), "st_space");
        Copy(s, 160, 256, MemoryMarshal.AsBytes(fp.XmmSpace.ToArray().AsSpan()), "xmm_space");
        return area;
    }

    /// <summary>XSAVE components: (feature bit, the image's words, bytes per component).</summary>
    internal static byte[] BuildXState(byte[] kernelArea, user_x86_fpregs_entry fp, user_x86_xsave_entry xsave, int tid)
    {
        var area = Legacy(kernelArea, fp);
        ulong supported = BinaryPrimitives.ReadUInt64LittleEndian(area.AsSpan(464)); // XCR0 as the kernel reports it
        ulong features = xsave.XstateBv;
        if ((features & ~supported) != 0)
            throw new FerryException($"core-{tid}.img: the task used XSAVE features 0x{features & ~supported:x} this CPU lacks (XCR0 0x{supported:x})");
        Component(area, 2, MemoryMarshal.AsBytes(xsave.YmmhSpace.ToArray().AsSpan()), supported, "ymmh_space");
        Component(area, 3, MemoryMarshal.AsBytes(xsave.BndregState.ToArray().AsSpan()), supported, "bndreg_state");
        Component(area, 4, MemoryMarshal.AsBytes(xsave.BndcsrState.ToArray().AsSpan()), supported, "bndcsr_state");
        Component(area, 5, MemoryMarshal.AsBytes(xsave.OpmaskReg.ToArray().AsSpan()), supported, "opmask_reg");
        Component(area, 6, MemoryMarshal.AsBytes(xsave.ZmmUpper.ToArray().AsSpan()), supported, "zmm_upper");
        Component(area, 7, MemoryMarshal.AsBytes(xsave.Hi16Zmm.ToArray().AsSpan()), supported, "hi16_zmm");
        Component(area, 9, MemoryMarshal.AsBytes(xsave.Pkru.ToArray().AsSpan()), supported, "pkru");
        // The header: which components hold state; the standard (non-compacted) format has xcomp_bv 0.
        BinaryPrimitives.WriteUInt64LittleEndian(area.AsSpan(512), features);
        BinaryPrimitives.WriteUInt64LittleEndian(area.AsSpan(520), 0);
        return area;
    }

    static void Component(byte[] area, int feature, ReadOnlySpan<byte> data, ulong supported, string name)
    {
        if (data.IsEmpty)
            return;
        if ((supported & (1UL << feature)) == 0)
            throw new FerryException($"the image holds {name} (XSAVE feature {feature}), which this CPU does not have");
        var (offset, size) = Slots[feature];
        Copy(area, offset, size, data, name);
    }

    /// <summary>
    /// (offset, size) of each XSAVE component in the standard format, from CPUID leaf 0xd, asked once: in a virtual
    /// machine every cpuid traps to the hypervisor, and a restore of 256 threads asked it 3584 times.
    /// </summary>
    static readonly (int Offset, int Size)[] Slots = Enumerable.Range(0, 10).Select(feature =>
    {
        var (size, offset, _, _) = X86Base.CpuId(0xd, feature);
        return (offset, size);
    }).ToArray();

    static void Copy(Span<byte> area, int offset, int size, ReadOnlySpan<byte> data, string name)
    {
        if (data.Length > size || offset + size > area.Length)
            throw new FerryException($"{name}: {data.Length} bytes do not fit its {size}-byte XSAVE slot at {offset}");
        data.CopyTo(area[offset..]);
    }
}
