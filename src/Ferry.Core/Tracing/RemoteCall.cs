using Ferry.Programs;

namespace Ferry.Tracing;

/// <summary>One system call of a <see cref="TracedTask.SyscallBatch"/>: its number and up to six arguments.</summary>
public readonly record struct RemoteCall(long Nr, long A1 = 0, long A2 = 0, long A3 = 0, long A4 = 0, long A5 = 0, long A6 = 0);

/// <summary>
/// The program a syscall batch runs: each call's registers set (those still holding the value the previous call
/// left are not set again), `syscall`, its rax stored in the results array; an int3 at the end stops the task.
/// </summary>
internal static class SyscallProgram
{
    static readonly Reg[] ArgumentRegisters = [Reg.Rdi, Reg.Rsi, Reg.Rdx, Reg.R10, Reg.R8, Reg.R9];

    /// <summary>The code, and the offset of the int3's end: where the task stops once every call ran.</summary>
    public static (byte[] Code, int End) Build(IReadOnlyList<RemoteCall> calls, ulong results)
    {
        var a = new X86Assembler();
        a.MovImm64(Reg.Rbx, results); // the kernel keeps rbx across syscalls
        var known = new long?[ArgumentRegisters.Length]; // rcx and r11 are clobbered, the argument registers kept
        for (var i = 0; i < calls.Count; i++)
        {
            var call = calls[i];
            Span<long> args = [call.A1, call.A2, call.A3, call.A4, call.A5, call.A6];
            Load(a, Reg.Rax, call.Nr);
            for (var r = 0; r < args.Length; r++)
            {
                if (known[r] == args[r]) continue;
                Load(a, ArgumentRegisters[r], args[r]);
                known[r] = args[r];
            }
            a.Syscall();
            a.Store(Reg.Rbx, i * sizeof(long), Reg.Rax);
        }
        a.Int3();
        return (a.ToArray(), a.Offset);
    }

    static void Load(X86Assembler a, Reg register, long value)
    {
        if (value is >= 0 and <= uint.MaxValue) a.MovImm32(register, (uint)value);
        else a.MovImm64(register, (ulong)value);
    }
}
