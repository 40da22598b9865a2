using Ferry.Diagnostics;
using Ferry.Checkpoint;
using Ferry.Images;
using Ferry.Images.Protos;
using Ferry.Linux;

namespace Ferry.Resources.Files;

/// <summary>
/// The file objects of a dump (files.img) and what hangs off them: pipe and FIFO contents, ghost files for deleted
/// files and their remap entries. Ids count from 1 across every kind, as CRIU's do. Files named by path (mapped
/// files, exe, cwd, root) are shared by device, inode and open flags; descriptors by open file description (kcmp).
/// One table serves a whole process tree, so a description several processes hold is one entry.
/// </summary>
internal sealed class FileTable
{
    readonly string _imagesDir;
    readonly KcmpIdTable<(ulong Dev, ulong Ino)> _descriptions;

    readonly long _ghostLimit;

    /// <param name="ghostLimit">The most bytes on disk a deleted file may have to be saved as a ghost file.</param>
    public FileTable(string imagesDir, long ghostLimit)
    {
        _imagesDir = imagesDir;
        _ghostLimit = ghostLimit;
        _descriptions = new KcmpIdTable<(ulong, ulong)>(Kcmp.KCMP_FILE, NextId);
        Memfds = new Memfd.MemfdDumper(imagesDir);
    }

    readonly Dictionary<(ulong Dev, ulong Ino, uint Flags), uint> _byInode = new();
    readonly Dictionary<(ulong Dev, ulong Ino), uint> _ghostByInode = new();
    uint _nextId = 1;
    uint _nextGhostId = 1;

    public List<file_entry> Entries { get; } = new();
    public List<(pipe_data_entry Entry, byte[] Data)> PipeData { get; } = new();
    public List<(pipe_data_entry Entry, byte[] Data)> FifoData { get; } = new();
    public List<remap_file_path_entry> Remaps { get; } = new();
    public Memfd.MemfdDumper Memfds { get; }
    public Terminals.TerminalDumper Terminals { get; } = new();
    readonly HashSet<uint> _pipesWithData = new();
    readonly HashSet<uint> _fifosWithData = new();

    public uint NextId() => _nextId++;

    /// <summary>Every process of the dumped tree, zombies too (Ferry's pids): the processes a pidfd may refer to.</summary>
    public IReadOnlySet<int> TreePids { get; init; } = new HashSet<int>();

    /// <summary>--file-locks: held file locks are saved (filelocks.img); without it they stop the dump.</summary>
    public bool SaveLocks { get; init; }

    public List<file_lock_entry> Locks { get; } = new();
    readonly HashSet<(uint Description, int Owner, uint Flag, uint Type, long Start, long Len)> _lockKeys = new();

    /// <summary>
    /// Records a lock once: a flock or OFD lock belongs to the open file description (the first process met holding
    /// it takes it again on restore), a POSIX lock to its process.
    /// </summary>
    public void AddLock(uint descriptionId, file_lock_entry fileLock)
    {
        int owner = fileLock.Flag == FileLockDumper.Posix ? fileLock.Pid : 0;
        if (_lockKeys.Add((descriptionId, owner, fileLock.Flag, fileLock.Type, fileLock.Start, fileLock.Len)))
            Locks.Add(fileLock);
    }

    public void Add(file_entry entry) => Entries.Add(entry);

    /// <summary>
    /// The file id of the open file description behind descriptor <paramref name="fd"/> of process
    /// <paramref name="pid"/>; IsNew the first time the description is met (the caller then adds its entry).
    /// </summary>
    public (uint Id, bool IsNew) Description(int pid, int fd, in FileStatus st)
    {
        var (id, isNew, _) = _descriptions.Get((st.st_dev, st.st_ino), pid, fd);
        return (id, isNew);
    }

    /// <summary>
    /// A file reached through <paramref name="openable"/> (a /proc link that opens the very inode, even if deleted)
    /// and known to the task by <paramref name="name"/>: returns its id, adding it the first time.
    /// </summary>
    public uint ByPath(string openable, string name, bool deleted, uint flags, bool recordSize)
    {
        var st = Stat(openable);
        if (_byInode.TryGetValue((st.st_dev, st.st_ino, flags), out var known)) return known;
        var id = NextId();
        var reg = Regular(id, name, flags, 0, st);
        if (recordSize && st.Type == FileStatus.S_IFREG)
        {
            reg.Size = (ulong)st.st_size;
            if (ElfBuildId.Read(openable) is { } buildId) reg.BuildId.Add(buildId);
        }
        if (deleted) AddGhost(id, openable, st);
        Add(new file_entry { Type = fd_types.Reg, Id = id, Reg = reg });
        _byInode[(st.st_dev, st.st_ino, flags)] = id;
        return id;
    }

    public static reg_file_entry Regular(uint id, string name, uint flags, ulong pos, in FileStatus st) => new()
    {
        Id = id, Flags = flags, Pos = pos, Name = name, Mode = st.st_mode,
        Fown = new fown_entry { Uid = 0, Euid = 0, Signum = 0, PidType = 0, Pid = 0 },
    };

    /// <summary>--link-remap: a deleted file that still has a link elsewhere keeps its inode through one more link.</summary>
    public bool LinkRemap { get; init; }

    /// <summary>The link_remap files this dump made, removed again if the dump fails.</summary>
    public List<string> CreatedLinks { get; } = new();

    /// <summary>
    /// A file deleted under its name but still linked elsewhere (st_nlink > 0) keeps its inode, as CRIU does it with
    /// --link-remap: one more link, "link_remap.ID" next to the deleted name, which the restore opens and removes.
    /// False when that is not asked for or no link can be made there (the caller saves a ghost copy instead).
    /// </summary>
    public bool TryAddLinkRemap(uint fileId, string openable, string deletedPath, in FileStatus st)
    {
        if (!LinkRemap || st.st_nlink == 0 || st.Type != FileStatus.S_IFREG || Path.GetDirectoryName(deletedPath) is not { } directory)
            return false;
        var link = Path.Combine(directory, $"link_remap.{fileId}");
        if (FileCalls.linkat(OpenFlags.AT_FDCWD, openable, OpenFlags.AT_FDCWD, link, AtSymlinkFollow) < 0)
            return false;
        CreatedLinks.Add(link);
        var linkId = NextId();
        Add(new file_entry { Type = fd_types.Reg, Id = linkId, Reg = Regular(linkId, link, (uint)OpenFlags.O_RDONLY, 0, st) });
        Remaps.Add(new remap_file_path_entry { OrigId = fileId, RemapId = linkId, RemapType = remap_type.Linked });
        return true;
    }

    const int AtSymlinkFollow = 0x400;

    /// <summary>File <paramref name="fileId"/> lies under /proc/<paramref name="pid"/> of a process that had ended (CRIU's PROCFS remap).</summary>
    public void AddDeadProcessRemap(uint fileId, int pid) =>
        Remaps.Add(new remap_file_path_entry { OrigId = fileId, RemapId = (uint)pid, RemapType = remap_type.Procfs });

    /// <summary>Saves a deleted file's content as a ghost file image and points file <paramref name="fileId"/> at it.</summary>
    public void AddGhost(uint fileId, string openable, in FileStatus st)
    {
        if (!_ghostByInode.TryGetValue((st.st_dev, st.st_ino), out var ghostId))
        {
            // Like CRIU, the limit is on the blocks the file really uses: holes cost nothing.
            long onDisk = st.st_blocks * 512;
            if (onDisk > _ghostLimit)
                throw new FerryException($"the deleted file {openable} uses {onDisk} bytes on disk, more than the ghost file limit of " +
                    $"{_ghostLimit} bytes; raise it with --ghost-limit SIZE to save it in the images");
            ghostId = _nextGhostId++;
            GhostFileWriter.Write(Path.Combine(_imagesDir, $"ghost-file-{ghostId:x}.img"), openable, st);
            _ghostByInode[(st.st_dev, st.st_ino)] = ghostId;
        }
        Remaps.Add(new remap_file_path_entry { OrigId = fileId, RemapId = ghostId, RemapType = remap_type.Ghost });
    }

    /// <summary>
    /// Records the unread bytes and the buffer size of a pipe (once per pipe, however many ends the task holds; also
    /// when it is empty, as CRIU does, so its size comes back).
    /// </summary>
    public void AddPipeData(uint pipeId, int bufferSize, byte[] data)
    {
        if (!_pipesWithData.Add(pipeId)) return;
        PipeData.Add((new pipe_data_entry { PipeId = pipeId, Bytes = (uint)data.Length, Size = (uint)bufferSize }, data));
    }

    public void AddFifoData(uint pipeId, int bufferSize, byte[] data)
    {
        if (!_fifosWithData.Add(pipeId) || data.Length == 0) return;
        FifoData.Add((new pipe_data_entry { PipeId = pipeId, Bytes = (uint)data.Length, Size = (uint)bufferSize }, data));
    }

    public bool HasPipeData(uint pipeId) => _pipesWithData.Contains(pipeId);
    public bool HasFifoData(uint pipeId) => _fifosWithData.Contains(pipeId);

    /// <summary>
    /// files.img, pipes-data.img, fifo-data.img, remap-fpath.img, filelocks.img and the terminal images (all but the
    /// first only when they have entries); last of the dump, as it takes the bytes queued in ptys out of them.
    /// </summary>
    public void WriteImages()
    {
        ImageWriter.WriteFile(Path.Combine(_imagesDir, "files.img"), ImageKinds.Files, Entries);
        Memfds.WriteImage();
        Terminals.WriteImages(_imagesDir);
        WriteData("pipes-data.img", ImageKinds.PipesData, PipeData);
        WriteData("fifo-data.img", ImageKinds.FifoData, FifoData);
        if (Remaps.Count > 0)
            ImageWriter.WriteFile(Path.Combine(_imagesDir, "remap-fpath.img"), ImageKinds.RemapFpath, Remaps);
        if (Locks.Count > 0)
            ImageWriter.WriteFile(Path.Combine(_imagesDir, "filelocks.img"), ImageKinds.FileLocks, Locks);
    }

    void WriteData(string name, ImageKind kind, List<(pipe_data_entry Entry, byte[] Data)> data)
    {
        if (data.Count == 0) return;
        using var writer = ImageWriter.Create(Path.Combine(_imagesDir, name), kind);
        foreach (var (entry, bytes) in data) writer.Write(entry, bytes);
    }

    /// <summary>
    /// fstat of what a /proc link opens (directories too, which .NET's file APIs refuse to open). O_PATH: no access is
    /// checked, so the /proc directory of a process that has ended can be looked at too.
    /// </summary>
    static FileStatus Stat(string path)
    {
        var fd = LibC.open_fd(path, OpenFlags.O_PATH | OpenFlags.O_CLOEXEC, 0);
        if (fd < 0) throw new IOException($"cannot open {path}: {Errno.Name(System.Runtime.InteropServices.Marshal.GetLastPInvokeError())}");
        try
        {
            return Stat(fd);
        }
        finally
        {
            LibC.close(fd);
        }
    }

    public static unsafe FileStatus Stat(Microsoft.Win32.SafeHandles.SafeFileHandle handle)
    {
        FileStatus st;
        if (FileCalls.fstat((int)handle.DangerousGetHandle(), &st) < 0)
            throw LinuxException.FromLastError("fstat");
        return st;
    }

    public static unsafe FileStatus Stat(int fd)
    {
        FileStatus st;
        if (FileCalls.fstat(fd, &st) < 0) throw LinuxException.FromLastError("fstat");
        return st;
    }
}
