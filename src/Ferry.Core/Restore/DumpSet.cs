using Ferry.Images;
using Ferry.Images.Protos;
using Google.Protobuf;

namespace Ferry.Restore;

/// <summary>
/// Every image of one dump, read and cross-checked before anything is created: a defect anywhere surfaces as one
/// <see cref="ImageFormatException"/> naming the file, the offset and what was expected.
/// </summary>
public sealed class DumpSet
{
    DumpSet(string directory, inventory_entry inventory, IReadOnlyList<TaskImages> tasks,
        IReadOnlyDictionary<uint, file_entry> files, IReadOnlyDictionary<uint, ReadOnlyMemory<byte>> pipeData,
        IReadOnlyDictionary<uint, remap_file_path_entry> remaps, IReadOnlyDictionary<uint, GhostFile> ghosts, timens_entry? clocks,
        IReadOnlyList<ZombieImages> zombies, IReadOnlyDictionary<ulong, SharedMemoryImage> sharedMemory)
    {
        SharedMemory = sharedMemory;
        Zombies = zombies;
        Ghosts = ghosts;
        Clocks = clocks;
        Directory = directory;
        Inventory = inventory;
        Tasks = tasks;
        Files = files;
        PipeData = pipeData;
        Remaps = remaps;
    }

    public string Directory { get; }
    public inventory_entry Inventory { get; }

    /// <summary>The living processes in pstree order: the root first, parents before children.</summary>
    public IReadOnlyList<TaskImages> Tasks { get; }

    /// <summary>The dumped zombies (leaves of the tree: an exited process has no children left).</summary>
    public IReadOnlyList<ZombieImages> Zombies { get; }

    public TaskImages Root => Tasks[0];

    /// <summary>
    /// Whether the tree was dumped from a pid namespace of its own without its init (a tree started by `ferry run`):
    /// its PIDs are the ones inside, so it is restored into a fresh namespace (see Namespaces/FerryNamespaces).
    /// </summary>
    public bool RanInOwnPidNamespace =>
        Inventory.RootIds is { } dumper && Root.Ids.PidNsId != dumper.PidNsId && Root.Pid != 1;

    /// <summary>Whether the root was PID 1 of its own pid namespace: it is restored as the init of a fresh one.</summary>
    public bool RootIsNamespaceInit =>
        Inventory.RootIds is { } dumper && Root.Ids.PidNsId != dumper.PidNsId && Root.Pid == 1;

    /// <summary>
    /// The root's IPC namespace when it was another than the dumper's (root_ids.ipc_ns_id): dumped with the tree and
    /// recreated by the restore, as CRIU does; null when the tree shared the dumper's.
    /// </summary>
    public Resources.Ipc.IpcNamespaceImages? IpcNamespace { get; private init; }

    /// <summary>Each shared anonymous memory object of the tree by shmid: its size and contents (offsets in the object).</summary>
    public IReadOnlyDictionary<ulong, SharedMemoryImage> SharedMemory { get; }

    /// <summary>Every PID and TID the restore creates: threads of living processes, zombies, group helpers.</summary>
    public IEnumerable<int> AllTids =>
        Tasks.SelectMany(t => t.Process.Threads.Select(tid => (int)tid)).Concat(Zombies.Select(z => z.Pid)).Concat(GroupHelpers.Select(g => (int)g));

    /// <summary>
    /// Process groups whose leader was gone at dump time while members lived on (a group lives as long as any
    /// member). Such a group can only be made by a process with its PID: the restore makes a short-lived helper
    /// with that PID, as CRIU does. The root's own group is not among them: it stays Ferry's (shell-job style).
    /// </summary>
    public IEnumerable<uint> GroupHelpers
    {
        get
        {
            var entries = Tasks.Select(t => t.Process).Concat(Zombies.Select(z => z.Process)).ToList();
            var pids = entries.Select(p => p.Pid).ToHashSet();
            return entries.Select(p => p.Pgid).Where(g => g != 0 && g != Root.Process.Pgid && !pids.Contains(g)).Distinct();
        }
    }

    /// <summary>Every file object of files.img by id (regular files, pipes, ...; also exe, cwd and root).</summary>
    public IReadOnlyDictionary<uint, file_entry> Files { get; }

    /// <summary>Unread pipe contents from pipes-data.img by pipe_id.</summary>
    public IReadOnlyDictionary<uint, ReadOnlyMemory<byte>> PipeData { get; }

    /// <summary>remap-fpath.img by orig_id: files that were deleted (ghosts) or renamed while open.</summary>
    public IReadOnlyDictionary<uint, remap_file_path_entry> Remaps { get; }

    /// <summary>Contents of deleted-but-open files by remap_id (ghost-file-ID.img).</summary>
    public IReadOnlyDictionary<uint, GhostFile> Ghosts { get; }

    /// <summary>CLOCK_MONOTONIC and CLOCK_BOOTTIME at dump time (timens-0.img), or null when not dumped.</summary>
    public timens_entry? Clocks { get; }

    /// <summary>tty-info.img and tty-data.img: the terminals behind the TTY files.</summary>
    public Resources.Terminals.TerminalImages Terminals { get; private init; } = Resources.Terminals.TerminalImages.None;

    /// <summary>filelocks.img: the flock, POSIX and OFD locks each process takes again on one of its descriptors.</summary>
    public IReadOnlyList<file_lock_entry> FileLocks { get; private init; } = [];

    /// <summary>cgroup.img: the cgroup sets the tasks' cores name; null when the tree was in the dumping tool's cgroups.</summary>
    public cgroup_entry? Cgroups { get; private init; }

    public string PathOf(string image) => Path.Combine(Directory, image);

    public static DumpSet Load(string directory)
    {
        if (!System.IO.Directory.Exists(directory))
            throw new ImageFormatException(directory, 0, "an existing images directory");
        var set = new Loader(directory);
        var inventory = set.One<inventory_entry>("inventory.img", ImageKinds.Inventory);
        if (inventory.ImgVersion != 2)
            throw set.Defect("inventory.img", 0, $"img_version 2 (images v1.1), found {inventory.ImgVersion}");
        if (!inventory.FdinfoPerId)
            throw set.Defect("inventory.img", 0, "fdinfo_per_id (images older than CRIU 1.3 are not supported)");

        var files = new Dictionary<uint, file_entry>();
        foreach (var entry in set.Entries("files.img", ImageKinds.Files, optional: true))
            if (!files.TryAdd(entry.As<file_entry>().Id, entry.As<file_entry>()))
                throw set.Defect("files.img", entry.Offset, $"unique file ids, id {entry.As<file_entry>().Id} appears twice");

        var pipeData = new Dictionary<uint, ReadOnlyMemory<byte>>();
        foreach (var entry in set.Entries("pipes-data.img", ImageKinds.PipesData, optional: true))
            pipeData[entry.As<pipe_data_entry>().PipeId] = entry.Extra;

        var remaps = new Dictionary<uint, remap_file_path_entry>();
        foreach (var entry in set.Entries("remap-fpath.img", ImageKinds.RemapFpath, optional: true))
            remaps[entry.As<remap_file_path_entry>().OrigId] = entry.As<remap_file_path_entry>();

        var ghosts = new Dictionary<uint, GhostFile>();
        foreach (var remap in remaps.Values)
        {
            if (!files.TryGetValue(remap.OrigId, out var original) || original.Reg is null)
                throw set.Defect("remap-fpath.img", 0, $"orig_id {remap.OrigId} to name a regular file of files.img");
            if (remap.RemapType == remap_type.Ghost && !ghosts.ContainsKey(remap.RemapId))
                ghosts[remap.RemapId] = GhostFile.Load(set, remap.RemapId);
        }

        var clocks = set.Entries("timens-0.img", ImageKinds.Timens, optional: true) is [var clock, ..] ? clock.As<timens_entry>() : null;

        var pstree = set.Entries("pstree.img", ImageKinds.Pstree, optional: false);
        if (pstree.Count == 0)
            throw set.Defect("pstree.img", 0, "at least one process");
        var tasks = new List<TaskImages>();
        var zombies = new List<ZombieImages>();
        var known = new HashSet<uint>();
        foreach (var entry in pstree)
        {
            var process = entry.As<pstree_entry>();
            bool isRoot = known.Count == 0;
            if (!isRoot && !known.Contains(process.Ppid))
                throw set.Defect("pstree.img", entry.Offset, $"the parent {process.Ppid} of {process.Pid} listed before it");
            if (process.Pid == 0 || !known.Add(process.Pid))
                throw set.Defect("pstree.img", entry.Offset, $"a unique non-zero pid, found {process.Pid}");
            var core = set.One<core_entry>($"core-{process.Pid}.img", ImageKinds.Core);
            if (ZombieImages.IsZombie(core))
                zombies.Add(ZombieImages.Load(set, process, core));
            else
                tasks.Add(TaskImages.Load(set, entry, core, files));
        }
        if (tasks.Count == 0 || tasks[0].Process != pstree[0].As<pstree_entry>())
            throw set.Defect("pstree.img", 0, "a living process as the root of the tree");
        foreach (var zombie in zombies)
            if (tasks.Any(t => t.Process.Ppid == zombie.Process.Pid) || zombies.Any(z => z.Process.Ppid == zombie.Process.Pid))
                throw set.Defect("pstree.img", 0, $"zombie {zombie.Pid} to have no children");
        // One object may be mapped by several processes, each seeing part of it: its size is the furthest mapping's end.
        var sharedMemory = new Dictionary<ulong, SharedMemoryImage>();
        foreach (var mappings in tasks.SelectMany(t => t.Mm.Vmas).Where(TaskImages.IsSharedAnonymous).GroupBy(v => v.Shmid))
        {
            ulong size = TaskImages.SharedSize(mappings);
            sharedMemory[mappings.Key] = new SharedMemoryImage(size, PageMapImage.LoadShmem(set, mappings.Key, size));
        }
        return new DumpSet(Path.GetFullPath(directory), inventory, tasks, files, pipeData, remaps, ghosts, clocks, zombies, sharedMemory)
        {
            FileLocks = LoadFileLocks(set, tasks),
            Terminals = Resources.Terminals.TerminalImages.Load(set, files),
            Cgroups = LoadCgroups(set, inventory, tasks),
            IpcNamespace = inventory.RootIds is { } dumper && tasks[0].Ids.IpcNsId != dumper.IpcNsId
                ? Resources.Ipc.IpcNamespaceImages.Load(set, tasks[0].Ids.IpcNsId) : null,
        };
    }

    /// <summary>filelocks.img: each lock names a living process and one of its descriptors, and a kind Ferry takes.</summary>
    static List<file_lock_entry> LoadFileLocks(Loader set, List<TaskImages> tasks)
    {
        var locks = new List<file_lock_entry>();
        foreach (var entry in set.Entries("filelocks.img", ImageKinds.FileLocks, optional: true))
        {
            var fileLock = entry.As<file_lock_entry>();
            if (fileLock.Flag is not (1 or 2 or 4 or 8))
                throw set.Defect("filelocks.img", entry.Offset, $"a POSIX, flock or OFD lock or a lease (flag 1, 2, 4 or 8), found flag {fileLock.Flag}");
            if (fileLock.Flag == 8 ? fileLock.Type is not (0 or 1 or 4 or 6) : fileLock.Type > 1)
                throw set.Defect("filelocks.img", entry.Offset, fileLock.Flag == 8
                    ? $"a read or write lease, or one being broken to read or none (type 0, 1, 4 or 6), found type {fileLock.Type}"
                    : $"a read or write lock (type 0 or 1), found type {fileLock.Type}");
            var owner = tasks.FirstOrDefault(t => t.Pid == fileLock.Pid)
                ?? throw set.Defect("filelocks.img", entry.Offset, $"pid {fileLock.Pid} to be a living process of pstree.img");
            if (!owner.Fds.Any(f => f.Fd == fileLock.Fd))
                throw set.Defect("filelocks.img", entry.Offset, $"fd {fileLock.Fd} to be a descriptor of process {fileLock.Pid}");
            locks.Add(fileLock);
        }
        return locks;
    }

    /// <summary>cgroup.img, when there is one: every set a thread names is in it (or is the dumping tool's own).</summary>
    static cgroup_entry? LoadCgroups(Loader set, inventory_entry inventory, List<TaskImages> tasks)
    {
        var entries = set.Entries(ImageNames.Cgroup, ImageKinds.Cgroup, optional: true);
        if (entries.Count > 1)
            throw set.Defect(ImageNames.Cgroup, entries[1].Offset, "one cgroup entry");
        var image = entries.Count == 1 ? entries[0].As<cgroup_entry>() : null;
        var known = image?.Sets.Select(s => s.Id).ToHashSet() ?? [];
        foreach (var set1 in image?.Sets ?? [])
            foreach (var member in set1.Ctls)
                if (!member.Path.StartsWith('/') || member.Path.Split('/').Contains(".."))
                    throw set.Defect(ImageNames.Cgroup, 0, $"absolute cgroup paths without '..', set {set1.Id} has '{member.Path}'");
        foreach (var dir in image?.Controllers.SelectMany(c => c.Dirs) ?? [])
            CheckCgroupDir(set, dir);
        foreach (var task in tasks)
            foreach (var thread in task.Threads)
            {
                var id = Resources.Cgroups.CgroupRestorer.SetOf(thread);
                if (id != 0 && id != inventory.RootCgSet && !known.Contains(id))
                    throw set.Defect($"core-{task.Pid}.img", 0, $"cg_set {id} to be one of cgroup.img's sets{(image is null ? " (there is no cgroup.img)" : "")}");
            }
        return image;
    }

    /// <summary>Directory and property names stay inside the cgroup they belong to.</summary>
    static void CheckCgroupDir(Loader set, cgroup_dir_entry dir)
    {
        if (dir.DirName.Length == 0 || dir.DirName.Split('/').Contains(".."))
            throw set.Defect(ImageNames.Cgroup, 0, $"cgroup directory names without '..', found '{dir.DirName}'");
        foreach (var property in dir.Properties)
            if (property.Name.Length == 0 || property.Name.Contains('/') || property.Name is "." or "..")
                throw set.Defect(ImageNames.Cgroup, 0, $"cgroup property file names, found '{property.Name}' in {dir.DirName}");
        foreach (var child in dir.Children)
            CheckCgroupDir(set, child);
    }

    /// <summary>Reads image files of one directory and checks each is of the expected kind.</summary>
    internal sealed class Loader(string directory)
    {
        public string Directory { get; } = directory;

        public bool Exists(string name) => File.Exists(Path.Combine(Directory, name));

        public IReadOnlyList<ImageEntry> Entries(string name, ImageKind kind, bool optional)
        {
            string path = Path.Combine(Directory, name);
            if (optional && !File.Exists(path))
                return [];
            var image = ImageReader.ReadFile(path);
            if (image.Kind != kind)
                throw Defect(name, 0, $"a {kind.Name} image, found {image.Kind.Name}");
            return image.Entries;
        }

        public T One<T>(string name, ImageKind kind) where T : class, IMessage
        {
            var entries = Entries(name, kind, optional: false);
            if (entries.Count != 1)
                throw Defect(name, entries.Count == 0 ? 0 : entries[1].Offset, $"exactly one {kind.Entry.Name} entry, found {entries.Count}");
            return entries[0].As<T>();
        }

        public ImageFormatException Defect(string name, long offset, string expected) =>
            new(Path.Combine(Directory, name), offset, expected);
    }
}

/// <summary>A shared anonymous memory object: the size every mapping of it needs, and its dumped pages.</summary>
public sealed record SharedMemoryImage(ulong Size, PageMapImage Contents);
