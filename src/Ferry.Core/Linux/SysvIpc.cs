using System.Runtime.InteropServices;

namespace Ferry.Linux;

/// <summary>System V IPC constants (x86-64: the 64-bit structures are the only ones, cmd carries no IPC_64 bit).</summary>
public static class SysvIpc
{
    public const int IPC_PRIVATE = 0, IPC_CREAT = 0x200, IPC_EXCL = 0x400, IPC_NOWAIT = 0x800;
    public const int IPC_RMID = 0, IPC_SET = 1, IPC_STAT = 2;
    public const int SHM_STAT = 13, SHM_INFO = 14, MSG_STAT = 11, MSG_INFO = 12, SEM_STAT = 18, SEM_INFO = 19;
    public const int GETALL = 13, SETALL = 17;
    public const int SHM_RDONLY = 0x1000, SHM_EXEC = 0x8000;
    /// <summary>Mode bits the kernel adds: segment marked for removal (IPC_RMID while attached), locked (SHM_LOCK).</summary>
    public const uint SHM_DEST = 0x200, SHM_LOCKED = 0x400;
    /// <summary>msgrcv flag: copy message number msgtyp without removing it (CONFIG_CHECKPOINT_RESTORE).</summary>
    public const int MSG_COPY = 0x4000;
    /// <summary>The permission bits shmget/msgget/semget take from their flags.</summary>
    public const uint ModeMask = 0x1ff;
}

/// <summary>struct ipc64_perm.</summary>
[StructLayout(LayoutKind.Sequential)]
public struct Ipc64Perm
{
    public int key;
    public uint uid, gid, cuid, cgid, mode;
    public ushort seq, pad2;
    public uint pad3;
    public ulong unused1, unused2;
}

/// <summary>struct shmid64_ds (x86-64).</summary>
[StructLayout(LayoutKind.Sequential)]
public struct ShmidDs
{
    public Ipc64Perm shm_perm;
    public ulong shm_segsz;
    public long shm_atime, shm_dtime, shm_ctime;
    public int shm_cpid, shm_lpid;
    public ulong shm_nattch, unused4, unused5;
}

/// <summary>struct msqid64_ds (x86-64).</summary>
[StructLayout(LayoutKind.Sequential)]
public struct MsqidDs
{
    public Ipc64Perm msg_perm;
    public long msg_stime, msg_rtime, msg_ctime;
    public ulong msg_cbytes, msg_qnum, msg_qbytes;
    public int msg_lspid, msg_lrpid;
    public ulong unused4, unused5;
}

/// <summary>struct semid64_ds (x86-64).</summary>
[StructLayout(LayoutKind.Sequential)]
public struct SemidDs
{
    public Ipc64Perm sem_perm;
    public long sem_otime;
    public ulong unused1;
    public long sem_ctime;
    public ulong unused2;
    public ulong sem_nsems, unused3, unused4;
}

/// <summary>struct shm_info (SHM_INFO): only the count of segments is used.</summary>
[StructLayout(LayoutKind.Sequential)]
public struct ShmInfo
{
    public int used_ids;
    public ulong shm_tot, shm_rss, shm_swp, swap_attempts, swap_successes;
}

/// <summary>struct msginfo (MSG_INFO): msgpool is the count of queues.</summary>
[StructLayout(LayoutKind.Sequential)]
public struct MsgInfo
{
    public int msgpool, msgmap, msgmax, msgmnb, msgmni, msgssz, msgtql;
    public ushort msgseg;
}

/// <summary>struct seminfo (SEM_INFO): semusz is the count of sets.</summary>
[StructLayout(LayoutKind.Sequential)]
public struct SemInfo
{
    public int semmap, semmni, semmns, semmnu, semmsl, semopm, semume, semusz, semvmx, semaem;
}
