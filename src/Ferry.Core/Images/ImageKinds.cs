using System.Collections.Frozen;
using Ferry.Images.Protos;

namespace Ferry.Images;

/// <summary>
/// The table of image kinds Ferry reads and writes. Magic values are CRIU's; names are crit's (the magic constant
/// without the _MAGIC suffix; where CRIU gives one value two names, crit prints the first one).
/// Building it touches no protobuf descriptor (under NativeAOT building them all costs tens of milliseconds, more
/// than a small restore): entries are parsed with the generated parsers, descriptors are built on demand.
/// </summary>
public static class ImageKinds
{
    public static readonly ImageKind Inventory = Make("INVENTORY", 0x58313116, MessageType.Of<inventory_entry>(), prefix: ImagePrefix.None);
    public static readonly ImageKind Pstree = Make("PSTREE", 0x50273030, MessageType.Of<pstree_entry>());
    public static readonly ImageKind Fdinfo = Make("FDINFO", 0x56213732, MessageType.Of<fdinfo_entry>());
    public static readonly ImageKind Pagemap = Make("PAGEMAP", 0x56084025, MessageType.Of<pagemap_entry>(), head: MessageType.Of<pagemap_head>());
    public static readonly ImageKind Core = Make("CORE", 0x55053847, MessageType.Of<core_entry>());
    public static readonly ImageKind Ids = Make("IDS", 0x54432030, MessageType.Of<task_kobj_ids_entry>());
    public static readonly ImageKind Vmas = Make("VMAS", 0x54123737, MessageType.Of<vma_entry>());
    public static readonly ImageKind Pipes = Make("PIPES", 0x56513555, MessageType.Of<pipe_entry>());
    public static readonly ImageKind PipesData = Make("PIPES_DATA", 0x56453709, MessageType.Of<pipe_data_entry>(), ExtraPayload.PipeData);
    public static readonly ImageKind Fifo = Make("FIFO", 0x58364939, MessageType.Of<fifo_entry>());
    public static readonly ImageKind FifoData = Make("FIFO_DATA", 0x59333054, MessageType.Of<pipe_data_entry>(), ExtraPayload.PipeData);
    public static readonly ImageKind Sigact = Make("SIGACT", 0x55344201, MessageType.Of<sa_entry>());
    public static readonly ImageKind UnixSk = Make("UNIXSK", 0x54373943, MessageType.Of<unix_sk_entry>());
    public static readonly ImageKind InetSk = Make("INETSK", 0x56443851, MessageType.Of<inet_sk_entry>());
    public static readonly ImageKind PacketSk = Make("PACKETSK", 0x60454618, MessageType.Of<packet_sock_entry>());
    public static readonly ImageKind Itimers = Make("ITIMERS", 0x57464056, MessageType.Of<itimer_entry>());
    public static readonly ImageKind PosixTimers = Make("POSIX_TIMERS", 0x52603957, MessageType.Of<posix_timer_entry>());
    public static readonly ImageKind SkQueues = Make("SK_QUEUES", 0x56264026, MessageType.Of<sk_packet_entry>(), ExtraPayload.SocketQueue);
    public static readonly ImageKind Utsns = Make("UTSNS", 0x54473203, MessageType.Of<utsns_entry>());
    public static readonly ImageKind Creds = Make("CREDS", 0x54023547, MessageType.Of<creds_entry>());
    public static readonly ImageKind IpcVar = Make("IPC_VAR", 0x53115007, MessageType.Of<ipc_var_entry>());
    public static readonly ImageKind IpcnsShm = Make("IPCNS_SHM", 0x46283044, MessageType.Of<ipc_shm_entry>(), ExtraPayload.IpcShm);
    public static readonly ImageKind IpcnsMsg = Make("IPCNS_MSG", 0x55453737, MessageType.Of<ipc_msg_entry>(), ExtraPayload.IpcMsg);
    public static readonly ImageKind IpcnsSem = Make("IPCNS_SEM", 0x59573019, MessageType.Of<ipc_sem_entry>(), ExtraPayload.IpcSem);
    public static readonly ImageKind RegFiles = Make("REG_FILES", 0x50363636, MessageType.Of<reg_file_entry>());
    public static readonly ImageKind ExtFiles = Make("EXT_FILES", 0x59255641, MessageType.Of<ext_file_entry>());
    public static readonly ImageKind Fs = Make("FS", 0x51403912, MessageType.Of<fs_entry>());
    public static readonly ImageKind Mm = Make("MM", 0x57492820, MessageType.Of<mm_entry>());
    public static readonly ImageKind RemapFpath = Make("REMAP_FPATH", 0x59133954, MessageType.Of<remap_file_path_entry>());
    public static readonly ImageKind GhostFile = Make("GHOST_FILE", 0x52583605, MessageType.Of<ghost_chunk_entry>(), ExtraPayload.GhostChunk,
        head: MessageType.Of<ghost_file_entry>(), headExtra: ExtraPayload.GhostFile);
    public static readonly ImageKind TcpStream = Make("TCP_STREAM", 0x51465506, MessageType.Of<tcp_stream_entry>(), ExtraPayload.TcpStream);
    public static readonly ImageKind EventfdFile = Make("EVENTFD_FILE", 0x44523722, MessageType.Of<eventfd_file_entry>());
    public static readonly ImageKind EventpollFile = Make("EVENTPOLL_FILE", 0x45023858, MessageType.Of<eventpoll_file_entry>());
    public static readonly ImageKind EventpollTfd = Make("EVENTPOLL_TFD", 0x44433746, MessageType.Of<eventpoll_tfd_entry>());
    public static readonly ImageKind Signalfd = Make("SIGNALFD", 0x57323820, MessageType.Of<signalfd_entry>());
    public static readonly ImageKind InotifyFile = Make("INOTIFY_FILE", 0x48424431, MessageType.Of<inotify_file_entry>());
    public static readonly ImageKind InotifyWd = Make("INOTIFY_WD", 0x54562009, MessageType.Of<inotify_wd_entry>());
    public static readonly ImageKind Mnts = Make("MNTS", 0x55563928, MessageType.Of<mnt_entry>());
    public static readonly ImageKind Netdev = Make("NETDEV", 0x57373951, MessageType.Of<net_device_entry>());
    public static readonly ImageKind Netns = Make("NETNS", 0x55933752, MessageType.Of<netns_entry>());
    public static readonly ImageKind TtyFiles = Make("TTY_FILES", 0x59433025, MessageType.Of<tty_file_entry>());
    public static readonly ImageKind TtyInfo = Make("TTY_INFO", 0x59453036, MessageType.Of<tty_info_entry>());
    public static readonly ImageKind TtyData = Make("TTY_DATA", 0x59413026, MessageType.Of<tty_data_entry>());
    public static readonly ImageKind FileLocks = Make("FILE_LOCKS", 0x54323616, MessageType.Of<file_lock_entry>());
    public static readonly ImageKind Rlimit = Make("RLIMIT", 0x57113925, MessageType.Of<rlimit_entry>());
    public static readonly ImageKind FanotifyFile = Make("FANOTIFY_FILE", 0x55096122, MessageType.Of<fanotify_file_entry>());
    public static readonly ImageKind FanotifyMark = Make("FANOTIFY_MARK", 0x56506035, MessageType.Of<fanotify_mark_entry>());
    public static readonly ImageKind Signal = Make("SIGNAL", 0x59255647, MessageType.Of<siginfo_entry>());
    public static readonly ImageKind NetlinkSk = Make("NETLINK_SK", 0x58005614, MessageType.Of<netlink_sk_entry>());
    public static readonly ImageKind NsFiles = Make("NS_FILES", 0x61394011, MessageType.Of<ns_file_entry>());
    public static readonly ImageKind Tunfile = Make("TUNFILE", 0x57143751, MessageType.Of<tunfile_entry>());
    public static readonly ImageKind Cgroup = Make("CGROUP", 0x59383330, MessageType.Of<cgroup_entry>());
    public static readonly ImageKind Timerfd = Make("TIMERFD", 0x50493712, MessageType.Of<timerfd_entry>());
    public static readonly ImageKind Cpuinfo = Make("CPUINFO", 0x61404013, MessageType.Of<cpuinfo_entry>());
    public static readonly ImageKind Userns = Make("USERNS", 0x55474906, MessageType.Of<userns_entry>());
    public static readonly ImageKind Seccomp = Make("SECCOMP", 0x64413049, MessageType.Of<seccomp_entry>());
    public static readonly ImageKind BinfmtMisc = Make("BINFMT_MISC", 0x67343323, MessageType.Of<binfmt_misc_entry>());
    public static readonly ImageKind Autofs = Make("AUTOFS", 0x49353943, MessageType.Of<autofs_entry>());
    public static readonly ImageKind Files = Make("FILES", 0x56303138, MessageType.Of<file_entry>());
    public static readonly ImageKind MemfdInode = Make("MEMFD_INODE", 0x48453499, MessageType.Of<memfd_inode_entry>());
    public static readonly ImageKind Timens = Make("TIMENS", 0x43114433, MessageType.Of<timens_entry>());
    public static readonly ImageKind Pidns = Make("PIDNS", 0x61157326, MessageType.Of<pidns_entry>());
    public static readonly ImageKind BpfmapFile = Make("BPFMAP_FILE", 0x57506142, MessageType.Of<bpfmap_file_entry>());
    public static readonly ImageKind BpfmapData = Make("BPFMAP_DATA", 0x64324033, MessageType.Of<bpfmap_data_entry>(), ExtraPayload.BpfMapData);
    public static readonly ImageKind Apparmor = Make("APPARMOR", 0x59423047, MessageType.Of<apparmor_entry>());
    public static readonly ImageKind Pidfd = Make("PIDFD", 0x54435556, MessageType.Of<pidfd_entry>());
    public static readonly ImageKind Stats = Make("STATS", 0x57093306, MessageType.Of<stats_entry>(), prefix: ImagePrefix.Service);
    public static readonly ImageKind IrmapCache = Make("IRMAP_CACHE", 0x57004059, MessageType.Of<irmap_cache_entry>(), prefix: ImagePrefix.Service);

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

    private static ImageKind Make(string name, uint magic, MessageType entry, ExtraPayload extra = ExtraPayload.None,
        MessageType? head = null, ExtraPayload headExtra = ExtraPayload.None, ImagePrefix prefix = ImagePrefix.Common)
    {
        var kind = new ImageKind(name, magic, entry, extra, head, headExtra, prefix);
        (collected ??= []).Add(kind);
        return kind;
    }
}
