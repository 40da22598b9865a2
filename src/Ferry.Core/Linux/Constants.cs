namespace Ferry.Linux;

/// <summary>ptrace(2) requests, options, events and regset note types (x86-64).</summary>
public static class Ptrace
{
    public const int TRACEME = 0;
    public const int PEEKTEXT = 1;
    public const int PEEKDATA = 2;
    public const int PEEKUSER = 3;
    public const int POKETEXT = 4;
    public const int POKEDATA = 5;
    public const int POKEUSER = 6;
    public const int CONT = 7;
    public const int KILL = 8;
    public const int SINGLESTEP = 9;
    public const int GETREGS = 12;
    public const int SETREGS = 13;
    public const int GETFPREGS = 14;
    public const int SETFPREGS = 15;
    public const int ATTACH = 16;
    public const int DETACH = 17;
    public const int SYSCALL = 24;
    public const int GET_THREAD_AREA = 25;
    public const int SET_THREAD_AREA = 26;
    public const int ARCH_PRCTL = 30;
    public const int SETOPTIONS = 0x4200;
    public const int GETEVENTMSG = 0x4201;
    public const int GETSIGINFO = 0x4202;
    public const int SETSIGINFO = 0x4203;
    public const int GETREGSET = 0x4204;
    public const int SETREGSET = 0x4205;
    public const int SEIZE = 0x4206;
    public const int INTERRUPT = 0x4207;
    public const int LISTEN = 0x4208;
    public const int PEEKSIGINFO = 0x4209;
    public const int GETSIGMASK = 0x420a;
    public const int SETSIGMASK = 0x420b;
    public const int SECCOMP_GET_FILTER = 0x420c;
    public const int SECCOMP_GET_METADATA = 0x420d;
    public const int GET_SYSCALL_INFO = 0x420e;
    public const int GET_RSEQ_CONFIGURATION = 0x420f;

    /// <summary>PTRACE_PEEKSIGINFO flag: read the process-wide (shared) queue instead of the thread's.</summary>
    public const uint PEEKSIGINFO_SHARED = 1;

    public const int O_TRACESYSGOOD = 0x1;
    public const int O_TRACEFORK = 0x2;
    public const int O_TRACEVFORK = 0x4;
    public const int O_TRACECLONE = 0x8;
    public const int O_TRACEEXEC = 0x10;
    public const int O_TRACEVFORKDONE = 0x20;
    public const int O_TRACEEXIT = 0x40;
    public const int O_TRACESECCOMP = 0x80;
    public const int O_EXITKILL = 0x100000;
    public const int O_SUSPEND_SECCOMP = 0x200000;

    public const int EVENT_FORK = 1;
    public const int EVENT_VFORK = 2;
    public const int EVENT_CLONE = 3;
    public const int EVENT_EXEC = 4;
    public const int EVENT_VFORK_DONE = 5;
    public const int EVENT_EXIT = 6;
    public const int EVENT_SECCOMP = 7;
    public const int EVENT_STOP = 128;

    public const byte SYSCALL_INFO_NONE = 0;
    public const byte SYSCALL_INFO_ENTRY = 1;
    public const byte SYSCALL_INFO_EXIT = 2;
    public const byte SYSCALL_INFO_SECCOMP = 3;

    /// <summary>ELF note types for GETREGSET/SETREGSET.</summary>
    public const int NT_PRSTATUS = 1;
    public const int NT_PRFPREG = 2;
    public const int NT_X86_XSTATE = 0x202;
}

/// <summary>wait4/waitpid/waitid options and idtypes.</summary>
public static class Wait
{
    public const int WNOHANG = 0x1;
    public const int WSTOPPED = 0x2;
    public const int WUNTRACED = 0x2;
    public const int WEXITED = 0x4;
    public const int WCONTINUED = 0x8;
    public const int WNOWAIT = 0x01000000;
    public const int __WNOTHREAD = 0x20000000;
    public const int __WALL = 0x40000000;
    public const int __WCLONE = unchecked((int)0x80000000);

    public const int P_ALL = 0;
    public const int P_PID = 1;
    public const int P_PGID = 2;
    public const int P_PIDFD = 3;
}

/// <summary>Signal numbers and sigaction flags (x86-64).</summary>
public static class Signals
{
    public const int SIGHUP = 1, SIGINT = 2, SIGQUIT = 3, SIGILL = 4, SIGTRAP = 5, SIGABRT = 6, SIGBUS = 7, SIGFPE = 8,
        SIGKILL = 9, SIGUSR1 = 10, SIGSEGV = 11, SIGUSR2 = 12, SIGPIPE = 13, SIGALRM = 14, SIGTERM = 15, SIGSTKFLT = 16,
        SIGCHLD = 17, SIGCONT = 18, SIGSTOP = 19, SIGTSTP = 20, SIGTTIN = 21, SIGTTOU = 22, SIGURG = 23, SIGXCPU = 24,
        SIGXFSZ = 25, SIGVTALRM = 26, SIGPROF = 27, SIGWINCH = 28, SIGIO = 29, SIGPWR = 30, SIGSYS = 31, SIGRTMIN = 32;
    /// <summary>Kernel signal count: the kernel's sigset is 64 bits.</summary>
    public const int NSIG = 64;

    public const ulong SA_NOCLDSTOP = 0x1, SA_NOCLDWAIT = 0x2, SA_SIGINFO = 0x4, SA_RESTORER = 0x04000000,
        SA_ONSTACK = 0x08000000, SA_RESTART = 0x10000000, SA_NODEFER = 0x40000000, SA_RESETHAND = 0x80000000;

    public const ulong SIG_DFL = 0, SIG_IGN = 1;

    public const int SIG_BLOCK = 0, SIG_UNBLOCK = 1, SIG_SETMASK = 2;

    /// <summary>The kernel sigset bit of a signal (signals count from 1).</summary>
    public static ulong Bit(int signal) => 1UL << (signal - 1);

    /// <summary>Size of the kernel's sigset_t, the sigsetsize argument of rt_sig* calls.</summary>
    public const int KernelSigSetSize = 8;
}

/// <summary>Memory mapping constants for mmap/mprotect/madvise/mremap.</summary>
public static class Mman
{
    public const int PROT_NONE = 0, PROT_READ = 1, PROT_WRITE = 2, PROT_EXEC = 4;
    public const int MAP_SHARED = 0x01, MAP_PRIVATE = 0x02, MAP_FIXED = 0x10, MAP_ANONYMOUS = 0x20, MAP_GROWSDOWN = 0x100,
        MAP_LOCKED = 0x2000, MAP_NORESERVE = 0x4000, MAP_POPULATE = 0x8000, MAP_STACK = 0x20000, MAP_FIXED_NOREPLACE = 0x100000;
    public const int MREMAP_MAYMOVE = 1, MREMAP_FIXED = 2, MREMAP_DONTUNMAP = 4;
    public const int MADV_NORMAL = 0, MADV_RANDOM = 1, MADV_SEQUENTIAL = 2, MADV_WILLNEED = 3, MADV_DONTNEED = 4,
        MADV_FREE = 8, MADV_DONTFORK = 10, MADV_DOFORK = 11, MADV_MERGEABLE = 12, MADV_HUGEPAGE = 14,
        MADV_NOHUGEPAGE = 15, MADV_DONTDUMP = 16, MADV_WIPEONFORK = 18;
    public const long PageSize = 4096;
}

/// <summary>open/fcntl flags (x86-64).</summary>
public static class OpenFlags
{
    public const int O_RDONLY = 0, O_WRONLY = 1, O_RDWR = 2, O_CREAT = 0x40, O_EXCL = 0x80, O_NOCTTY = 0x100,
        O_TRUNC = 0x200, O_APPEND = 0x400, O_NONBLOCK = 0x800, O_DIRECTORY = 0x10000, O_NOFOLLOW = 0x20000,
        O_CLOEXEC = 0x80000, O_PATH = 0x200000, O_TMPFILE = 0x400000 | O_DIRECTORY;
    public const int AT_FDCWD = -100;
    public const int F_DUPFD = 0, F_GETFD = 1, F_SETFD = 2, F_GETFL = 3, F_SETFL = 4, F_SETOWN = 8, F_GETOWN = 9,
        F_SETSIG = 10, F_GETSIG = 11, F_SETOWN_EX = 15, F_GETOWN_EX = 16, F_SETLEASE = 1024, F_GETLEASE = 1025,
        F_DUPFD_CLOEXEC = 1030, F_SETPIPE_SZ = 1031, F_GETPIPE_SZ = 1032, F_ADD_SEALS = 1033, F_GET_SEALS = 1034;
    public const int FD_CLOEXEC = 1;
    public const int SEEK_SET = 0, SEEK_CUR = 1, SEEK_END = 2, SEEK_DATA = 3, SEEK_HOLE = 4;
}

/// <summary>prctl(2) options Ferry uses, including the PR_SET_MM family.</summary>
public static class Prctl
{
    public const int PR_SET_PDEATHSIG = 1, PR_GET_PDEATHSIG = 2, PR_GET_DUMPABLE = 3, PR_SET_DUMPABLE = 4,
        PR_SET_NAME = 15, PR_GET_NAME = 16, PR_GET_SECCOMP = 21, PR_SET_SECCOMP = 22, PR_CAPBSET_READ = 23,
        PR_GET_SECUREBITS = 27, PR_SET_SECUREBITS = 28, PR_GET_TIMERSLACK = 30, PR_SET_TIMERSLACK = 29,
        PR_SET_MM = 35, PR_SET_CHILD_SUBREAPER = 36, PR_GET_CHILD_SUBREAPER = 37, PR_SET_NO_NEW_PRIVS = 38,
        PR_GET_NO_NEW_PRIVS = 39, PR_GET_TID_ADDRESS = 40, PR_SET_THP_DISABLE = 41, PR_GET_THP_DISABLE = 42,
        PR_CAP_AMBIENT = 47, PR_TIMER_CREATE_RESTORE_IDS = 77;
    /// <summary>PR_TIMER_CREATE_RESTORE_IDS arguments: while ON, timer_create takes the id to create from its timer_id.</summary>
    public const int PR_TIMER_CREATE_RESTORE_IDS_OFF = 0, PR_TIMER_CREATE_RESTORE_IDS_ON = 1;
    public const int PR_SET_MM_START_CODE = 1, PR_SET_MM_END_CODE = 2, PR_SET_MM_START_DATA = 3,
        PR_SET_MM_END_DATA = 4, PR_SET_MM_START_STACK = 5, PR_SET_MM_START_BRK = 6, PR_SET_MM_BRK = 7,
        PR_SET_MM_ARG_START = 8, PR_SET_MM_ARG_END = 9, PR_SET_MM_ENV_START = 10, PR_SET_MM_ENV_END = 11,
        PR_SET_MM_AUXV = 12, PR_SET_MM_EXE_FILE = 13, PR_SET_MM_MAP = 14, PR_SET_MM_MAP_SIZE = 15;
}

/// <summary>arch_prctl(2) codes.</summary>
public static class ArchPrctl
{
    public const int ARCH_SET_GS = 0x1001, ARCH_SET_FS = 0x1002, ARCH_GET_FS = 0x1003, ARCH_GET_GS = 0x1004;
}

/// <summary>clone/clone3 flags.</summary>
public static class CloneFlags
{
    public const ulong CLONE_VM = 0x100, CLONE_FS = 0x200, CLONE_FILES = 0x400, CLONE_SIGHAND = 0x800,
        CLONE_PIDFD = 0x1000, CLONE_PTRACE = 0x2000, CLONE_VFORK = 0x4000, CLONE_PARENT = 0x8000,
        CLONE_THREAD = 0x10000, CLONE_NEWNS = 0x20000, CLONE_SYSVSEM = 0x40000, CLONE_SETTLS = 0x80000,
        CLONE_PARENT_SETTID = 0x100000, CLONE_CHILD_CLEARTID = 0x200000, CLONE_UNTRACED = 0x800000,
        CLONE_CHILD_SETTID = 0x1000000, CLONE_NEWCGROUP = 0x2000000, CLONE_NEWUTS = 0x4000000,
        CLONE_NEWIPC = 0x8000000, CLONE_NEWUSER = 0x10000000, CLONE_NEWPID = 0x20000000, CLONE_NEWNET = 0x40000000,
        CLONE_IO = 0x80000000, CLONE_NEWTIME = 0x80, CLONE_CLEAR_SIGHAND = 0x100000000, CLONE_INTO_CGROUP = 0x200000000;
}

/// <summary>kcmp(2) types.</summary>
public static class Kcmp
{
    public const int KCMP_FILE = 0, KCMP_VM = 1, KCMP_FILES = 2, KCMP_FS = 3, KCMP_SIGHAND = 4, KCMP_IO = 5,
        KCMP_SYSVSEM = 6, KCMP_EPOLL_TFD = 7;
}

/// <summary>Interval timer and clock ids.</summary>
public static class Timers
{
    public const int ITIMER_REAL = 0, ITIMER_VIRTUAL = 1, ITIMER_PROF = 2;
    public const int CLOCK_REALTIME = 0, CLOCK_MONOTONIC = 1, CLOCK_PROCESS_CPUTIME_ID = 2,
        CLOCK_THREAD_CPUTIME_ID = 3, CLOCK_MONOTONIC_RAW = 4, CLOCK_BOOTTIME = 7;
}

public static class Sockets
{
    public const int AF_UNIX = 1, SOCK_DGRAM = 2, SOL_SOCKET = 1, SCM_RIGHTS = 1, MSG_CMSG_CLOEXEC = 0x40000000;
}

/// <summary>mount(2) flags.</summary>
public static class Mounts
{
    public const int MS_NOSUID = 2, MS_NODEV = 4, MS_NOEXEC = 8, MS_REC = 0x4000, MS_PRIVATE = 0x40000;
    /// <summary>umount2(2): detach now, finish when no longer busy.</summary>
    public const int MNT_DETACH = 2;
}
