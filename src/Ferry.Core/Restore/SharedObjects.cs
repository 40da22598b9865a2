using Ferry.Linux;
using Ferry.Resources.Files;
using Ferry.Resources.Memfd;
using Ferry.Resources.Pipes;

namespace Ferry.Restore;

/// <summary>
/// What the processes of one restore share, made once and held by Ferry until every process has its copy: open file
/// descriptions by file id (one offset for every fd and process that shared it), pipes and FIFOs (one refill of their
/// unread data), and shared anonymous memory objects by shmid (every process that mapped one maps the same pages
/// again), ghost files (one inode for every description and mapping of a deleted file) and memfd inodes.
/// </summary>
public sealed class SharedObjects : IDisposable
{
    readonly Dictionary<uint, HeldFd> _files = new();
    readonly Dictionary<ulong, HeldFd> _memory = new();

    /// <param name="shellJob">--shell-job: the terminal the tree had outside itself becomes Ferry's own.</param>
    public SharedObjects(DumpSet set, bool shellJob = false, Diagnostics.Log? log = null)
    {
        Terminals = new(set, shellJob, log ?? Diagnostics.Log.Quiet);
        Pipes = new(set);
        Fifos = new(set);
        Ghosts = new(set);
        Pidfds = new(set);
        // A shared anonymous object mapped shared by one process and privately (as a memfd file) by another is one object.
        Memfds = new(set, shmid => _memory.GetValueOrDefault(shmid));
    }

    public PipeRestorer Pipes { get; }
    public FifoRestorer Fifos { get; }
    public GhostFiles Ghosts { get; }
    public Resources.Pidfds.PidfdRestorer Pidfds { get; }
    public MemfdInodes Memfds { get; }
    public Resources.Terminals.TerminalRestorer Terminals { get; }

    /// <summary>Ferry's descriptor of file <paramref name="id"/>, opened by <paramref name="open"/> the first time.</summary>
    public HeldFd File(uint id, Func<HeldFd> open)
    {
        if (!_files.TryGetValue(id, out var held))
            _files[id] = held = open();
        return held;
    }

    /// <summary>Ferry's descriptor of shared memory object <paramref name="shmid"/>, or null when no process made it yet.</summary>
    public HeldFd? SharedMemory(ulong shmid) => _memory.GetValueOrDefault(shmid) ?? Memfds.AnonymousObject(shmid);

    public void AddSharedMemory(ulong shmid, HeldFd held) => _memory.Add(shmid, held);

    public void Dispose()
    {
        foreach (var held in _files.Values.Concat(_memory.Values))
            held.Dispose();
        Pipes.Dispose();
        Fifos.Dispose();
        Ghosts.Dispose();
        Pidfds.Dispose();
        Memfds.Dispose();
        Terminals.Dispose();
    }
}
