using System.Buffers.Binary;

namespace Ferry.Restore.Husk;

/// <summary>
/// Emits the handful of x86-64 instructions the husk needs, with forward jumps resolved by label.
/// Not a general assembler: each method is one fixed encoding (comments give the mnemonic).
/// </summary>
internal sealed class X86Emitter
{
    readonly List<byte> _code = [];
    readonly Dictionary<string, int> _labels = [];
    readonly List<(int At, string Label, int Size)> _fixups = [];

    public int Offset => _code.Count;

    public void Label(string name) => _labels.Add(name, _code.Count);

    /// <summary>mov r32, imm32 (zero-extends to the 64-bit register). Registers by number: eax=0, esi=6, edi=7, edx=2.</summary>
    public void MovImm32(int register, uint value)
    {
        _code.Add((byte)(0xb8 + register));
        Imm32(value);
    }

    /// <summary>mov r64, imm64 (REX.W + B8+r); rsi=6, rdi=7.</summary>
    public void MovImm64(int register, ulong value)
    {
        _code.Add(0x48);
        _code.Add((byte)(0xb8 + register));
        Span<byte> bytes = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, value);
        _code.AddRange(bytes);
    }

    public void Syscall() => _code.AddRange([0x0f, 0x05]);
    public void Int3() => _code.Add(0xcc);
    /// <summary>mov r12, rax</summary>
    public void MovR12Rax() => _code.AddRange([0x49, 0x89, 0xc4]);
    /// <summary>test r12, r12</summary>
    public void TestR12() => _code.AddRange([0x4d, 0x85, 0xe4]);
    /// <summary>cmp r12, imm8</summary>
    public void CmpR12(sbyte value) => _code.AddRange([0x49, 0x83, 0xfc, (byte)value]);
    /// <summary>test rax, rax</summary>
    public void TestRax() => _code.AddRange([0x48, 0x85, 0xc0]);
    /// <summary>mov rdi, rax; neg rdi</summary>
    public void MovRdiNegRax() => _code.AddRange([0x48, 0x89, 0xc7, 0x48, 0xf7, 0xdf]);
    /// <summary>mov edi, eax</summary>
    public void MovEdiEax() => _code.AddRange([0x89, 0xc7]);

    public void Jmp(string label) => Jump([0xe9], label);
    public void Jz(string label) => Jump([0x0f, 0x84], label);
    public void Js(string label) => Jump([0x0f, 0x88], label);
    public void Jl(string label) => Jump([0x0f, 0x8c], label);
    public void Jle(string label) => Jump([0x0f, 0x8e], label);

    void Jump(byte[] opcode, string label)
    {
        _code.AddRange(opcode);
        _fixups.Add((_code.Count, label, 4));
        Imm32(0);
    }

    void Imm32(uint value)
    {
        Span<byte> bytes = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32LittleEndian(bytes, value);
        _code.AddRange(bytes);
    }

    public byte[] ToArray()
    {
        var code = _code.ToArray();
        foreach (var (at, label, size) in _fixups)
        {
            int relative = _labels[label] - (at + size);
            BinaryPrimitives.WriteInt32LittleEndian(code.AsSpan(at), relative);
        }
        return code;
    }
}
