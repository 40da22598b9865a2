using System.Buffers.Binary;

namespace Ferry.Programs;

/// <summary>x86-64 general registers by encoding number.</summary>
internal enum Reg
{
    Rax, Rcx, Rdx, Rbx, Rsp, Rbp, Rsi, Rdi, R8, R9, R10, R11, R12, R13, R14, R15,
}

/// <summary>
/// Emits the small x86-64 subset Ferry's own programs (the husk, ferry-init) are written in: register moves, loads and stores at
/// [base + disp], a few ALU forms, conditional jumps to labels and <c>syscall</c>. Every method is one fixed
/// encoding (REX + opcode + ModRM), named after its mnemonic; the "32" forms operate on the low 32 bits (and
/// zero the upper half, as the CPU does). Not a general assembler.
/// </summary>
internal sealed class X86Assembler
{
    readonly List<byte> _code = [];
    readonly Dictionary<string, int> _labels = [];
    readonly List<(int At, string Label)> _fixups = [];

    /// <summary>The offset of the next instruction.</summary>
    public int Offset => _code.Count;

    public void Label(string name) => _labels.Add(name, _code.Count);

    /// <summary>mov r32, imm32 (zero-extends into the 64-bit register).</summary>
    public void MovImm32(Reg dst, uint value)
    {
        Rex(w: false, 0, (int)dst);
        _code.Add((byte)(0xb8 + ((int)dst & 7)));
        Imm32(value);
    }

    /// <summary>mov r64, imm64.</summary>
    public void MovImm64(Reg dst, ulong value)
    {
        Rex(w: true, 0, (int)dst);
        _code.Add((byte)(0xb8 + ((int)dst & 7)));
        Span<byte> bytes = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, value);
        _code.AddRange(bytes);
    }

    /// <summary>mov r64, r64</summary>
    public void Mov(Reg dst, Reg src) => RegReg(w: true, 0x89, src, dst);
    /// <summary>mov r32, r32</summary>
    public void Mov32(Reg dst, Reg src) => RegReg(w: false, 0x89, src, dst);
    /// <summary>add r64, r64</summary>
    public void Add(Reg dst, Reg src) => RegReg(w: true, 0x01, src, dst);
    /// <summary>cmp r32, r32 (flags of a - b)</summary>
    public void Cmp32(Reg a, Reg b) => RegReg(w: false, 0x39, b, a);
    /// <summary>test r64, r64</summary>
    public void Test(Reg a, Reg b) => RegReg(w: true, 0x85, b, a);
    /// <summary>test r32, r32</summary>
    public void Test32(Reg a, Reg b) => RegReg(w: false, 0x85, b, a);
    /// <summary>xor r32, r32 (the usual way to zero a register)</summary>
    public void Zero(Reg r) => RegReg(w: false, 0x31, r, r);

    /// <summary>mov r64, [base + disp]</summary>
    public void Load(Reg dst, Reg @base, int disp) => Memory(w: true, 0x8b, (int)dst, @base, disp);
    /// <summary>mov r32, [base + disp]</summary>
    public void Load32(Reg dst, Reg @base, int disp) => Memory(w: false, 0x8b, (int)dst, @base, disp);
    /// <summary>mov [base + disp], r64</summary>
    public void Store(Reg @base, int disp, Reg src) => Memory(w: true, 0x89, (int)src, @base, disp);
    /// <summary>mov [base + disp], r32</summary>
    public void Store32(Reg @base, int disp, Reg src) => Memory(w: false, 0x89, (int)src, @base, disp);
    /// <summary>mov dword [base + disp], imm32</summary>
    public void Store32Imm(Reg @base, int disp, uint value)
    {
        Memory(w: false, 0xc7, 0, @base, disp);
        Imm32(value);
    }
    /// <summary>lea r64, [base + disp]</summary>
    public void Lea(Reg dst, Reg @base, int disp) => Memory(w: true, 0x8d, (int)dst, @base, disp);

    /// <summary>add r64, imm8</summary>
    public void AddImm(Reg r, sbyte value) => Group1(w: true, 0, r, value);
    /// <summary>cmp r64, imm8</summary>
    public void CmpImm(Reg r, sbyte value) => Group1(w: true, 7, r, value);
    /// <summary>cmp r32, imm8</summary>
    public void CmpImm32(Reg r, sbyte value) => Group1(w: false, 7, r, value);
    /// <summary>and r32, imm8</summary>
    public void AndImm32(Reg r, sbyte value) => Group1(w: false, 4, r, value);
    /// <summary>shl r64, imm8</summary>
    public void Shl(Reg r, byte count) => Shift(w: true, 4, r, count);
    /// <summary>shr r32, imm8</summary>
    public void Shr32(Reg r, byte count) => Shift(w: false, 5, r, count);
    /// <summary>neg r64</summary>
    public void Neg(Reg r)
    {
        Rex(w: true, 0, (int)r);
        _code.Add(0xf7);
        _code.Add(ModRm(3, 3, (int)r));
    }

    public void Syscall() => _code.AddRange([0x0f, 0x05]);
    public void Int3() => _code.Add(0xcc);

    public void Jmp(string label) => Jump([0xe9], label);
    public void Jz(string label) => Jump([0x0f, 0x84], label);
    public void Jnz(string label) => Jump([0x0f, 0x85], label);
    public void Js(string label) => Jump([0x0f, 0x88], label);
    public void Jl(string label) => Jump([0x0f, 0x8c], label);
    public void Jle(string label) => Jump([0x0f, 0x8e], label);
    public void Jg(string label) => Jump([0x0f, 0x8f], label);

    public byte[] ToArray()
    {
        var code = _code.ToArray();
        foreach (var (at, label) in _fixups)
            BinaryPrimitives.WriteInt32LittleEndian(code.AsSpan(at), _labels[label] - (at + 4));
        return code;
    }

    void Jump(byte[] opcode, string label)
    {
        _code.AddRange(opcode);
        _fixups.Add((_code.Count, label));
        Imm32(0);
    }

    void RegReg(bool w, byte opcode, Reg reg, Reg rm)
    {
        Rex(w, (int)reg, (int)rm);
        _code.Add(opcode);
        _code.Add(ModRm(3, (int)reg, (int)rm));
    }

    void Group1(bool w, int digit, Reg r, sbyte value)
    {
        Rex(w, 0, (int)r);
        _code.Add(0x83);
        _code.Add(ModRm(3, digit, (int)r));
        _code.Add((byte)value);
    }

    void Shift(bool w, int digit, Reg r, byte count)
    {
        Rex(w, 0, (int)r);
        _code.Add(0xc1);
        _code.Add(ModRm(3, digit, (int)r));
        _code.Add(count);
    }

    /// <summary>[base + disp32] operand; rsp/r12 as base need a SIB byte.</summary>
    void Memory(bool w, byte opcode, int reg, Reg @base, int disp)
    {
        Rex(w, reg, (int)@base);
        _code.Add(opcode);
        _code.Add(ModRm(2, reg, (int)@base));
        if (((int)@base & 7) == 4) _code.Add(0x24); // SIB: no index, base = rsp/r12
        Imm32((uint)disp);
    }

    void Rex(bool w, int reg, int rm)
    {
        int rex = (w ? 8 : 0) | (reg >= 8 ? 4 : 0) | (rm >= 8 ? 1 : 0);
        if (rex != 0) _code.Add((byte)(0x40 | rex));
    }

    static byte ModRm(int mod, int reg, int rm) => (byte)(mod << 6 | (reg & 7) << 3 | (rm & 7));

    void Imm32(uint value)
    {
        Span<byte> bytes = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32LittleEndian(bytes, value);
        _code.AddRange(bytes);
    }
}
