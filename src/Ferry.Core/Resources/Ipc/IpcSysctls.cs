using System.Globalization;
using Ferry.Diagnostics;
using Ferry.Images.Protos;

namespace Ferry.Resources.Ipc;

/// <summary>
/// The per-namespace IPC sysctls of ipcns-var (CRIU's set): limits of SysV semaphores, queues and segments, the POSIX
/// mqueue limits, and the *_next_id knobs (the id the next object of that kind gets; -1, CRIU's "not set", is not
/// stored). Read and written by a thread inside the namespace (<see cref="IpcNamespaceThread"/>).
/// </summary>
internal static class IpcSysctls
{
    const string Kernel = "/proc/sys/kernel/", Mqueue = "/proc/sys/fs/mqueue/";

    public static ipc_var_entry Read()
    {
        var var = new ipc_var_entry
        {
            MsgCtlmax = U32("kernel/msgmax"), MsgCtlmnb = U32("kernel/msgmnb"), AutoMsgmni = U32("kernel/auto_msgmni"),
            MsgCtlmni = U32("kernel/msgmni"), ShmCtlmax = U64("kernel/shmmax"), ShmCtlall = U64("kernel/shmall"),
            ShmCtlmni = U32("kernel/shmmni"), ShmRmidForced = U32("kernel/shm_rmid_forced"),
            MqQueuesMax = U32("fs/mqueue/queues_max"), MqMsgMax = U32("fs/mqueue/msg_max"),
            MqMsgsizeMax = U32("fs/mqueue/msgsize_max"), MqMsgDefault = U32("fs/mqueue/msg_default"),
            MqMsgsizeDefault = U32("fs/mqueue/msgsize_default"),
        };
        var.SemCtls.AddRange(Text("kernel/sem").Split((char[])['\t', ' '], StringSplitOptions.RemoveEmptyEntries).Select(v => uint.Parse(v, CultureInfo.InvariantCulture)));
        if (NextId("kernel/msg_next_id") is { } msg) var.MsgNextId = msg;
        if (NextId("kernel/sem_next_id") is { } sem) var.SemNextId = sem;
        if (NextId("kernel/shm_next_id") is { } shm) var.ShmNextId = shm;
        return var;
    }

    /// <summary>Writes every value the image holds (the optional ones when present), as CRIU does before making the objects.</summary>
    public static void Write(ipc_var_entry var)
    {
        Write("kernel/sem", string.Join('\t', var.SemCtls));
        Write("kernel/msgmax", var.MsgCtlmax);
        Write("kernel/msgmnb", var.MsgCtlmnb);
        Write("kernel/auto_msgmni", var.AutoMsgmni);
        Write("kernel/msgmni", var.MsgCtlmni);
        Write("kernel/shmmax", var.ShmCtlmax);
        Write("kernel/shmall", var.ShmCtlall);
        Write("kernel/shmmni", var.ShmCtlmni);
        Write("kernel/shm_rmid_forced", var.ShmRmidForced);
        if (Directory.Exists(Mqueue))
        {
            Write("fs/mqueue/queues_max", var.MqQueuesMax);
            Write("fs/mqueue/msg_max", var.MqMsgMax);
            Write("fs/mqueue/msgsize_max", var.MqMsgsizeMax);
            if (var.HasMqMsgDefault) Write("fs/mqueue/msg_default", var.MqMsgDefault);
            if (var.HasMqMsgsizeDefault) Write("fs/mqueue/msgsize_default", var.MqMsgsizeDefault);
        }
        if (var.HasMsgNextId) Write("kernel/msg_next_id", var.MsgNextId);
        if (var.HasSemNextId) Write("kernel/sem_next_id", var.SemNextId);
        if (var.HasShmNextId) Write("kernel/shm_next_id", var.ShmNextId);
    }

    /// <summary>Sets kernel/KIND_next_id, so the next object of that kind gets <paramref name="id"/>.</summary>
    public static void SetNextId(string kind, int id) => Write($"kernel/{kind}_next_id", (uint)id);

    static string PathOf(string name) => name.StartsWith("kernel/", StringComparison.Ordinal)
        ? Kernel + name["kernel/".Length..] : Mqueue + name["fs/mqueue/".Length..];

    static string Text(string name)
    {
        try
        {
            return File.ReadAllText(PathOf(name)).Trim();
        }
        catch (IOException e)
        {
            throw new FerryException($"cannot read the IPC sysctl {PathOf(name)}: {e.Message}");
        }
    }

    static uint U32(string name) => uint.Parse(Text(name), CultureInfo.InvariantCulture);

    static ulong U64(string name) => ulong.Parse(Text(name), CultureInfo.InvariantCulture);

    static uint? NextId(string name)
    {
        int value = int.Parse(Text(name), CultureInfo.InvariantCulture);
        return value < 0 ? null : (uint)value;
    }

    static void Write(string name, ulong value) => Write(name, value.ToString(CultureInfo.InvariantCulture));

    static void Write(string name, string value)
    {
        try
        {
            using var file = File.OpenHandle(PathOf(name), FileMode.Open, FileAccess.Write);
            RandomAccess.Write(file, System.Text.Encoding.ASCII.GetBytes(value), 0);
        }
        catch (UnauthorizedAccessException)
        {
            // As CRIU: a knob this namespace does not let us set keeps its value.
        }
        catch (IOException e)
        {
            throw new FerryException($"cannot set the IPC sysctl {PathOf(name)} to {value}: {e.Message}");
        }
    }
}
