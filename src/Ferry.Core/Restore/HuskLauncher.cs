using System.Buffers.Binary;
using System.Runtime.InteropServices;
using Ferry.Linux;
using Ferry.Tracing;

namespace Ferry.Restore;

/// <summary>
/// Starts the husk: a tiny static ELF, written by Ferry into a memfd, whose only job is to clone3 itself with
/// set_tid = the wanted PID (CLONE_PARENT, so the clone is Ferry's own child) and then wait in pause() for Ferry
/// to seize it and rebuild it into the restored process by remote syscalls. The first husk process exits with 0, or
/// with the errno of clone3 (EEXIST: the PID was taken meanwhile).
/// </summary>
public static class HuskLauncher
{
    const ulong LoadAddress = 0x10000;
    const int CodeOffset = 64 + 56; // after the ELF header and the one program header

    /// <summary>Starts a husk with PID <paramref name="pid"/> and seizes it; the task is stopped on return.</summary>
    public static TracedTask Start(Tracer tracer, int pid)
    {
        using var memfd = WriteElf(Build(pid));
        using var launcher = ChildProcess.Start(new SpawnOptions($"/proc/self/fd/{memfd.Fd}") { ArgumentZero = "ferry-husk" });
        var status = launcher.WaitForExit(TimeSpan.FromSeconds(10));
        if (!status.Exited || status.Code != 0)
            throw new Diagnostics.FerryException(status.Exited && status.Code == Errno.EEXIST
                ? $"PID {pid} was taken while the restore started; run it again"
                : $"the husk could not create PID {pid}: clone3 set_tid {(status.Exited ? Errno.Name(status.Code) : status.ToString())}");
        try
        {
            return tracer.Seize(pid);
        }
        catch
        {
            LibC.kill(pid, Signals.SIGKILL);
            Reap(pid);
            throw;
        }
    }

    /// <summary>Waits for a killed child (the husk clone is ours through CLONE_PARENT).</summary>
    public static unsafe void Reap(int pid)
    {
        int status;
        while (LibC.waitpid(pid, &status, Wait.__WALL) < 0 && Marshal.GetLastPInvokeError() == Errno.EINTR) { }
    }

    /// <summary>The ELF image: header, one R+X PT_LOAD of the whole file, code, then clone_args and the set_tid array.</summary>
    internal static byte[] Build(int pid)
    {
        byte[] code =
        [
            0x48, 0x8d, 0x3d, 0, 0, 0, 0,      //  0: lea rdi, [rip + clone_args]   (displacement patched below)
            0xbe, 88, 0, 0, 0,                 //  7: mov esi, sizeof(struct clone_args)
            0xb8, .. LE32((int)Sys.clone3),    // 12: mov eax, clone3
            0x0f, 0x05,                        // 17: syscall
            0x48, 0x85, 0xc0,                  // 19: test rax, rax
            0x74, 43 - 24,                     // 22: jz child
            0x31, 0xff,                        // 24: xor edi, edi                 (the clone exists: exit 0)
            0x48, 0x85, 0xc0,                  // 26: test rax, rax
            0x7f, 36 - 31,                     // 29: jg exit
            0x48, 0xf7, 0xd8,                  // 31: neg rax
            0x89, 0xc7,                        // 34: mov edi, eax                 (failed: exit with the errno)
            0xb8, .. LE32((int)Sys.exit_group),// 36: exit: mov eax, exit_group
            0x0f, 0x05,                        // 41: syscall
            0xb8, .. LE32((int)Sys.pause),     // 43: child: mov eax, pause
            0x0f, 0x05,                        // 48: syscall
            0xeb, unchecked((byte)(43 - 52)),  // 50: jmp child
            0xcc, 0xcc, 0xcc, 0xcc,            // 52: pad to 8
        ];
        const int leaEnd = 7;

        int argsOffset = CodeOffset + code.Length;
        int setTidOffset = argsOffset + 88;
        int size = setTidOffset + 8;

        var elf = new byte[size];
        var s = elf.AsSpan();
        // ELF header
        s[0] = 0x7f; s[1] = (byte)'E'; s[2] = (byte)'L'; s[3] = (byte)'F';
        s[4] = 2; s[5] = 1; s[6] = 1;                                   // 64-bit, little-endian, version 1
        BinaryPrimitives.WriteUInt16LittleEndian(s[16..], 2);           // ET_EXEC
        BinaryPrimitives.WriteUInt16LittleEndian(s[18..], 0x3e);        // EM_X86_64
        BinaryPrimitives.WriteUInt32LittleEndian(s[20..], 1);
        BinaryPrimitives.WriteUInt64LittleEndian(s[24..], LoadAddress + CodeOffset);
        BinaryPrimitives.WriteUInt64LittleEndian(s[32..], 64);          // e_phoff
        BinaryPrimitives.WriteUInt16LittleEndian(s[52..], 64);          // e_ehsize
        BinaryPrimitives.WriteUInt16LittleEndian(s[54..], 56);          // e_phentsize
        BinaryPrimitives.WriteUInt16LittleEndian(s[56..], 1);           // e_phnum
        // PT_LOAD, R+X, the whole file at LoadAddress
        var ph = s[64..];
        BinaryPrimitives.WriteUInt32LittleEndian(ph, 1);
        BinaryPrimitives.WriteUInt32LittleEndian(ph[4..], 5);
        BinaryPrimitives.WriteUInt64LittleEndian(ph[16..], LoadAddress);
        BinaryPrimitives.WriteUInt64LittleEndian(ph[24..], LoadAddress);
        BinaryPrimitives.WriteUInt64LittleEndian(ph[32..], (ulong)size);
        BinaryPrimitives.WriteUInt64LittleEndian(ph[40..], (ulong)size);
        BinaryPrimitives.WriteUInt64LittleEndian(ph[48..], 0x1000);
        code.CopyTo(s[CodeOffset..]);
        BinaryPrimitives.WriteInt32LittleEndian(s[(CodeOffset + 3)..], argsOffset - (CodeOffset + leaEnd));
        // struct clone_args: flags, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size, tls, set_tid, set_tid_size, cgroup
        var args = s[argsOffset..];
        BinaryPrimitives.WriteUInt64LittleEndian(args, CloneFlags.CLONE_PARENT);
        BinaryPrimitives.WriteUInt64LittleEndian(args[64..], LoadAddress + (ulong)setTidOffset);
        BinaryPrimitives.WriteUInt64LittleEndian(args[72..], 1);
        BinaryPrimitives.WriteInt32LittleEndian(s[setTidOffset..], pid);
        return elf;
    }

    static byte[] LE32(int value)
    {
        var bytes = new byte[4];
        BinaryPrimitives.WriteInt32LittleEndian(bytes, value);
        return bytes;
    }

    sealed class MemFd(int fd) : IDisposable
    {
        public int Fd { get; } = fd;
        public void Dispose() => LibC.close(Fd);
    }

    static unsafe MemFd WriteElf(byte[] elf)
    {
        var name = Marshal.StringToCoTaskMemUTF8("ferry-husk");
        try
        {
            // Not close-on-exec: the spawned child execs it through /proc/self/fd.
            int fd = (int)LibC.syscall(Sys.memfd_create, name, 0, 0, 0, 0, 0);
            if (fd < 0) throw LinuxException.FromLastError("memfd_create");
            var memfd = new MemFd(fd);
            fixed (byte* p = elf)
                if (LibC.write(fd, p, (nuint)elf.Length) != elf.Length)
                {
                    memfd.Dispose();
                    throw LinuxException.FromLastError("write husk");
                }
            return memfd;
        }
        finally
        {
            Marshal.FreeCoTaskMem(name);
        }
    }
}
