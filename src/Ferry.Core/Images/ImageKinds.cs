using System.Collections.Frozen;
using Ferry.Images.Protos;
using Google.Protobuf.Reflection;

namespace Ferry.Images;

/// <summary>
/// The table of image kinds Ferry reads and writes. Magic values are CRIU's; names are crit's (the magic constant
/// without the _MAGIC suffix; where CRIU gives one value two names, crit prints the first one).
/// </summary>
public static class ImageKinds
{
    public static readonly ImageKind Inventory = Make("INVENTORY", 0x58313116, inventory_entry.Descriptor, prefix: ImagePrefix.None);
    public static readonly ImageKind Pstree = Make("PSTREE", 0x50273030, pstree_entry.Descriptor);
    public static readonly ImageKind Fdinfo = Make("FDINFO", 0x56213732, fdinfo_entry.Descriptor);
    public static readonly ImageKind Pagemap = Make("PAGEMAP", 0x56084025, pagemap_entry.Descriptor, head: pagemap_head.Descriptor);
    public static readonly ImageKind Core = Make("CORE", 0x55053847, core_entry.Descriptor);
    public static readonly ImageKind Ids = Make("IDS", 0x54432030, task_kobj_ids_entry.Descriptor);
    public static readonly ImageKind Vmas = Make("VMAS", 0x54123737, vma_entry.Descriptor);
    public static readonly ImageKind Pipes = Make("PIPES", 0x56513555, pipe_entry.Descriptor);
    public static readonly ImageKind PipesData = Make("PIPES_DATA", 0x56453709, pipe_data_entry.Descriptor, ExtraPayload.PipeData);
    public static readonly ImageKind Fifo = Make("FIFO", 0x58364939, fifo_entry.Descriptor);
    public static readonly ImageKind FifoData = Make("FIFO_DATA", 0x59333054, pipe_data_entry.Descriptor, ExtraPayload.PipeData);
    public static readonly ImageKind Sigact = Make("SIGACT", 0x55344201, sa_entry.Descriptor);
    public static readonly ImageKind UnixSk = Make("UNIXSK", 0x54373943, unix_sk_entry.Descriptor);
    public static readonly ImageKind InetSk = Make("INETSK", 0x56443851, inet_sk_entry.Descriptor);
    public static readonly ImageKind PacketSk = Make("PACKETSK", 0x60454618, packet_sock_entry.Descriptor);
    public static readonly ImageKind Itimers = Make("ITIMERS", 0x57464056, itimer_entry.Descriptor);
    public static readonly ImageKind PosixTimers = Make("POSIX_TIMERS", 0x52603957, posix_timer_entry.Descriptor);
    public static readonly ImageKind SkQueues = Make("SK_QUEUES", 0x56264026, sk_packet_entry.Descriptor, ExtraPayload.SocketQueue);
    public static readonly ImageKind Utsns = Make("UTSNS", 0x54473203, utsns_entry.Descriptor);
    public static readonly ImageKind Creds = Make("CREDS", 0x54023547, creds_entry.Descriptor);
    public static readonly ImageKind IpcVar = Make("IPC_VAR", 0x53115007, ipc_var_entry.Descriptor);
    public static readonly ImageKind IpcnsShm = Make("IPCNS_SHM", 0x46283044, ipc_shm_entry.Descriptor, ExtraPayload.IpcShm);
    public static readonly ImageKind IpcnsMsg = Make("IPCNS_MSG", 0x55453737, ipc_msg_entry.Descriptor, ExtraPayload.IpcMsg);
    public static readonly ImageKind IpcnsSem = Make("IPCNS_SEM", 0x59573019, ipc_sem_entry.Descriptor, ExtraPayload.IpcSem);
    public static readonly ImageKind RegFiles = Make("REG_FILES", 0x50363636, reg_file_entry.Descriptor);
    public static readonly ImageKind ExtFiles = Make("EXT_FILES", 0x59255641, ext_file_entry.Descriptor);
    public static readonly ImageKind Fs = Make("FS", 0x51403912, fs_entry.Descriptor);
    public static readonly ImageKind Mm = Make("MM", 0x57492820, mm_entry.Descriptor);
    public static readonly ImageKind RemapFpath = Make("REMAP_FPATH", 0x59133954, remap_file_path_entry.Descriptor);
    public static readonly ImageKind GhostFile = Make("GHOST_FILE", 0x52583605, ghost_chunk_entry.Descriptor, ExtraPayload.GhostChunk,
        head: ghost_file_entry.Descriptor, headExtra: ExtraPayload.GhostFile);
    public static readonly ImageKind TcpStream = Make("TCP_STREAM", 0x51465506, tcp_stream_entry.Descriptor, ExtraPayload.TcpStream);
    public static readonly ImageKind EventfdFile = Make("EVENTFD_FILE", 0x44523722, eventfd_file_entry.Descriptor);
    public static readonly ImageKind EventpollFile = Make("EVENTPOLL_FILE", 0x45023858, eventpoll_file_entry.Descriptor);
    public static readonly ImageKind EventpollTfd = Make("EVENTPOLL_TFD", 0x44433746, eventpoll_tfd_entry.Descriptor);
    public static readonly ImageKind Signalfd = Make("SIGNALFD", 0x57323820, signalfd_entry.Descriptor);
    public static readonly ImageKind InotifyFile = Make("INOTIFY_FILE", 0x48424431, inotify_file_entry.Descriptor);
    public static readonly ImageKind InotifyWd = Make("INOTIFY_WD", 0x54562009, inotify_wd_entry.Descriptor);
    public static readonly ImageKind Mnts = Make("MNTS", 0x55563928, mnt_entry.Descriptor);
    public static readonly ImageKind Netdev = Make("NETDEV", 0x57373951, net_device_entry.Descriptor);
    public static readonly ImageKind Netns = Make("NETNS", 0x55933752, netns_entry.Descriptor);
    public static readonly ImageKind TtyFiles = Make("TTY_FILES", 0x59433025, tty_file_entry.Descriptor);
    public static readonly ImageKind TtyInfo = Make("TTY_INFO", 0x59453036, tty_info_entry.Descriptor);
    public static readonly ImageKind TtyData = Make("TTY_DATA", 0x59413026, tty_data_entry.Descriptor);
    public static readonly ImageKind FileLocks = Make("FILE_LOCKS", 0x54323616, file_lock_entry.Descriptor);
    public static readonly ImageKind Rlimit = Make("RLIMIT", 0x57113925, rlimit_entry.Descriptor);
    public static readonly ImageKind FanotifyFile = Make("FANOTIFY_FILE", 0x55096122, fanotify_file_entry.Descriptor);
    public static readonly ImageKind FanotifyMark = Make("FANOTIFY_MARK", 0x56506035, fanotify_mark_entry.Descriptor);
    public static readonly ImageKind Signal = Make("SIGNAL", 0x59255647, siginfo_entry.Descriptor);
    public static readonly ImageKind NetlinkSk = Make("NETLINK_SK", 0x58005614, netlink_sk_entry.Descriptor);
    public static readonly ImageKind NsFiles = Make("NS_FILES", 0x61394011, ns_file_entry.Descriptor);
    public static readonly ImageKind Tunfile = Make("TUNFILE", 0x57143751, tunfile_entry.Descriptor);
    public static readonly ImageKind Cgroup = Make("CGROUP", 0x59383330, cgroup_entry.Descriptor);
    public static readonly ImageKind Timerfd = Make("TIMERFD", 0x50493712, timerfd_entry.Descriptor);
    public static readonly ImageKind Cpuinfo = Make("CPUINFO", 0x61404013, cpuinfo_entry.Descriptor);
    public static readonly ImageKind Userns = Make("USERNS", 0x55474906, userns_entry.Descriptor);
    public static readonly ImageKind Seccomp = Make("SECCOMP", 0x64413049, seccomp_entry.Descriptor);
    public static readonly ImageKind BinfmtMisc = Make("BINFMT_MISC", 0x67343323, binfmt_misc_entry.Descriptor);
    public static readonly ImageKind Autofs = Make("AUTOFS", 0x49353943, autofs_entry.Descriptor);
    public static readonly ImageKind Files = Make("FILES", 0x56303138, file_entry.Descriptor);
    public static readonly ImageKind MemfdInode = Make("MEMFD_INODE", 0x48453499, memfd_inode_entry.Descriptor);
    public static readonly ImageKind Timens = Make("TIMENS", 0x43114433, timens_entry.Descriptor);
    public static readonly ImageKind Pidns = Make("PIDNS", 0x61157326, pidns_entry.Descriptor);
    public static readonly ImageKind BpfmapFile = Make("BPFMAP_FILE", 0x57506142, bpfmap_file_entry.Descriptor);
    public static readonly ImageKind BpfmapData = Make("BPFMAP_DATA", 0x64324033, bpfmap_data_entry.Descriptor, ExtraPayload.BpfMapData);
    public static readonly ImageKind Apparmor = Make("APPARMOR", 0x59423047, apparmor_entry.Descriptor);
    public static readonly ImageKind Pidfd = Make("PIDFD", 0x54435556, pidfd_entry.Descriptor);
    public static readonly ImageKind Stats = Make("STATS", 0x57093306, stats_entry.Descriptor, prefix: ImagePrefix.Service);
    public static readonly ImageKind IrmapCache = Make("IRMAP_CACHE", 0x57004059, irmap_cache_entry.Descriptor, prefix: ImagePrefix.Service);

    // Make() collects the kinds above as their initializers run (static initializers run in declaration order),
    // so the list cannot miss one.
    private static List<ImageKind>? collected;

    /// <summary>Every kind, in CRIU's magic.h order.</summary>
    public static IReadOnlyList<ImageKind> All { get; } = collected!;

    private static readonly FrozenDictionary<uint, ImageKind> ByMagicTable = All.ToFrozenDictionary(k => k.Magic);
    private static readonly FrozenDictionary<string, ImageKind> ByNameTable = All.ToFrozenDictionary(k => k.Name, StringComparer.Ordinal);

    /// <summary>The kind with this type magic, or null if Ferry does not know it.</summary>
    public static ImageKind? FindByMagic(uint magic) => ByMagicTable.GetValueOrDefault(magic);

    /// <summary>The kind crit calls <paramref name="name"/> (e.g. "CORE"), or null.</summary>
    public static ImageKind? FindByName(string name) => ByNameTable.GetValueOrDefault(name);

    private static ImageKind Make(string name, uint magic, MessageDescriptor entry, ExtraPayload extra = ExtraPayload.None,
        MessageDescriptor? head = null, ExtraPayload headExtra = ExtraPayload.None, ImagePrefix prefix = ImagePrefix.Common)
    {
        var kind = new ImageKind(name, magic, entry, extra, head, headExtra, prefix);
        (collected ??= []).Add(kind);
        return kind;
    }
}
