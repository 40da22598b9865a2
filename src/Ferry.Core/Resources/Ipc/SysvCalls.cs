using System.Runtime.InteropServices;
using Ferry.Linux;

namespace Ferry.Resources.Ipc;

/// <summary>The System V calls Ferry makes itself (in the namespace's thread), each failure an exception naming the call.</summary>
internal static unsafe class SysvCalls
{
    /// <summary>The object at <paramref name="index"/> of a *_STAT walk: its id, or null for an empty slot (EINVAL).</summary>
    public static int? Stat<T>(long call, int index, int cmd, out T ds) where T : unmanaged
    {
        T buffer = default;
        long id = call == Sys.semctl
            ? LibC.syscall(call, index, 0, cmd, (long)&buffer, 0, 0)
            : LibC.syscall(call, index, cmd, (long)&buffer, 0, 0, 0);
        ds = buffer;
        if (id >= 0) return (int)id;
        var error = LinuxException.FromLastError($"{Sys.Name(call)}({index}, STAT)");
        return error.ErrorNumber == Errno.EINVAL ? null : throw error;
    }

    /// <summary>*_INFO: returns the highest index in use; <paramref name="info"/> holds the counts.</summary>
    public static int Info<T>(long call, int cmd, out T info) where T : unmanaged
    {
        T buffer = default;
        long max = call == Sys.semctl
            ? LibC.syscall(call, 0, 0, cmd, (long)&buffer, 0, 0)
            : LibC.syscall(call, 0, cmd, (long)&buffer, 0, 0, 0);
        if (max < 0) throw LinuxException.FromLastError($"{Sys.Name(call)}(INFO)");
        info = buffer;
        return (int)max;
    }

    public static void ShmCtl(int id, int cmd, ref ShmidDs ds)
    {
        fixed (ShmidDs* p = &ds)
            Check(LibC.syscall(Sys.shmctl, id, cmd, (long)p, 0, 0, 0), "shmctl", id);
    }

    public static void MsgCtl(int id, int cmd, ref MsqidDs ds)
    {
        fixed (MsqidDs* p = &ds)
            Check(LibC.syscall(Sys.msgctl, id, cmd, (long)p, 0, 0, 0), "msgctl", id);
    }

    public static void SemCtl(int id, int cmd, ref SemidDs ds)
    {
        fixed (SemidDs* p = &ds)
            Check(LibC.syscall(Sys.semctl, id, 0, cmd, (long)p, 0, 0), "semctl", id);
    }

    public static void Remove(long call, int id) =>
        Check(call == Sys.semctl ? LibC.syscall(call, id, 0, SysvIpc.IPC_RMID, 0, 0, 0) : LibC.syscall(call, id, SysvIpc.IPC_RMID, 0, 0, 0, 0), $"{Sys.Name(call)}(IPC_RMID)", id);

    public static ushort[] SemGetAll(int id, int count)
    {
        var values = new ushort[count];
        fixed (ushort* p = values)
            Check(LibC.syscall(Sys.semctl, id, 0, SysvIpc.GETALL, (long)p, 0, 0), "semctl(GETALL)", id);
        return values;
    }

    public static void SemSetAll(int id, ushort[] values)
    {
        fixed (ushort* p = values)
            Check(LibC.syscall(Sys.semctl, id, 0, SysvIpc.SETALL, (long)p, 0, 0), "semctl(SETALL)", id);
    }

    public static int Get(long call, int key, long sizeOrCount, int flags) =>
        (int)Check(call == Sys.msgget ? LibC.syscall(call, key, flags, 0, 0, 0, 0) : LibC.syscall(call, key, sizeOrCount, flags, 0, 0, 0),
            $"{Sys.Name(call)}(key 0x{key:x8})", 0);

    /// <summary>Attaches segment <paramref name="id"/> somewhere in Ferry's address space.</summary>
    public static nint Attach(int id, int flags) => (nint)Check(LibC.syscall(Sys.shmat, id, 0, flags, 0, 0, 0), "shmat", id);

    public static void Detach(nint address) => Check(LibC.syscall(Sys.shmdt, address, 0, 0, 0, 0, 0), "shmdt", 0);

    /// <summary>A copy of message number <paramref name="index"/> (MSG_COPY): its type and text length, the text after the type in <paramref name="buffer"/>.</summary>
    public static (long Type, int Size) CopyMessage(int id, int index, byte[] buffer)
    {
        fixed (byte* p = buffer)
        {
            long size = Check(LibC.syscall(Sys.msgrcv, id, (long)p, buffer.Length - 8, index, SysvIpc.IPC_NOWAIT | SysvIpc.MSG_COPY, 0), "msgrcv(MSG_COPY)", id);
            return (*(long*)p, (int)size);
        }
    }

    /// <summary>Queues one message: <paramref name="buffer"/> holds the type (8 bytes) and then <paramref name="size"/> bytes of text.</summary>
    public static void Send(int id, byte[] buffer, int size)
    {
        fixed (byte* p = buffer)
            Check(LibC.syscall(Sys.msgsnd, id, (long)p, size, SysvIpc.IPC_NOWAIT, 0, 0), "msgsnd", id);
    }

    static long Check(long result, string call, int id)
    {
        if (result < 0) throw new LinuxException($"{call} of id {id}", 0, Marshal.GetLastPInvokeError());
        return result;
    }
}
