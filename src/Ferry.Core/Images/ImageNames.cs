namespace Ferry.Images;

/// <summary>CRIU's file names for images in a dump directory (criu/image-desc.c templates).</summary>
public static class ImageNames
{
    public const string Inventory = "inventory.img";
    public const string Pstree = "pstree.img";
    public const string Files = "files.img";
    public const string PipesData = "pipes-data.img";
    public const string FifoData = "fifo-data.img";
    public const string SkQueues = "sk-queues.img";
    public const string RemapFpath = "remap-fpath.img";
    public const string TtyInfo = "tty-info.img";
    public const string TtyData = "tty-data.img";
    public const string Seccomp = "seccomp.img";
    public const string Cgroup = "cgroup.img";
    public const string FileLocks = "filelocks.img";
    public const string Memfd = "memfd.img";
    public const string Cpuinfo = "cpuinfo.img";
    public const string IrmapCache = "irmap-cache.img";
    public const string StatsDump = "stats-dump";
    public const string StatsRestore = "stats-restore";

    public static string Core(int tid) => $"core-{tid}.img";
    public static string Ids(int pid) => $"ids-{pid}.img";
    public static string Mm(int pid) => $"mm-{pid}.img";
    public static string Fs(int pid) => $"fs-{pid}.img";
    public static string Pagemap(int pid) => $"pagemap-{pid}.img";
    public static string ShmemPagemap(ulong shmid) => $"pagemap-shmem-{shmid}.img";
    public static string Pages(uint pagesId) => $"pages-{pagesId}.img";
    public static string Fdinfo(uint filesId) => $"fdinfo-{filesId}.img";
    public static string Creds(int pid) => $"creds-{pid}.img";
    public static string TcpStream(uint inode) => $"tcp-stream-{inode:x}.img";
    public static string GhostFile(uint id) => $"ghost-file-{id:x}.img";
    public static string Utsns(uint id) => $"utsns-{id}.img";
    public static string IpcVar(uint id) => $"ipcns-var-{id}.img";
    public static string IpcShm(uint id) => $"ipcns-shm-{id}.img";
    public static string IpcMsg(uint id) => $"ipcns-msg-{id}.img";
    public static string IpcSem(uint id) => $"ipcns-sem-{id}.img";
    public static string Mountpoints(uint id) => $"mountpoints-{id}.img";
    public static string Netdev(uint id) => $"netdev-{id}.img";
    public static string Netns(uint id) => $"netns-{id}.img";
    public static string Timens(uint id) => $"timens-{id}.img";
    public static string Pidns(uint id) => $"pidns-{id}.img";
    public static string Userns(uint id) => $"userns-{id}.img";
}
