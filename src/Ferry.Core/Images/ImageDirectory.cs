using Ferry.Images.Protos;
using Google.Protobuf;

namespace Ferry.Images;

/// <summary>
/// A dump directory: typed access to its images by kind and id. As in CRIU, a missing image reads as empty; an image
/// that must hold exactly one entry (core, mm, ids, fs, inventory) raises <see cref="ImageFormatException"/> instead.
/// Files written here are created with mode 0600.
/// </summary>
public sealed class ImageDirectory
{
    private ImageDirectory(string path) => Path = path;

    public string Path { get; }

    /// <summary>An existing directory of images to read (and possibly add to).</summary>
    public static ImageDirectory Open(string path)
    {
        if (!Directory.Exists(path))
            throw new ImageFormatException(path, 0, "an existing image directory");
        return new ImageDirectory(path);
    }

    /// <summary>A directory to dump into, created (0700) if needed.</summary>
    public static ImageDirectory Create(string path)
    {
        if (OperatingSystem.IsWindows())
            Directory.CreateDirectory(path);
        else
            Directory.CreateDirectory(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        return new ImageDirectory(path);
    }

    public string PathOf(string fileName) => System.IO.Path.Combine(Path, fileName);

    public bool Exists(string fileName) => File.Exists(PathOf(fileName));

    /// <summary>All entries of an image, or none if the file does not exist. The file must be of <paramref name="kind"/>.</summary>
    public IReadOnlyList<ImageEntry> ReadEntries(string fileName, ImageKind kind)
    {
        string path = PathOf(fileName);
        if (!File.Exists(path))
            return [];
        using var reader = ImageReader.Open(path);
        if (reader.Kind != kind)
            throw new ImageFormatException(path, reader.Prefix == ImagePrefix.None ? 0 : 4, $"a {kind.Name} image, found {reader.Kind.Name}");
        return reader.ReadToEnd().Entries;
    }

    /// <summary>All messages of an image (none if the file does not exist).</summary>
    public IReadOnlyList<T> ReadAll<T>(string fileName, ImageKind kind) where T : class, IMessage =>
        [.. ReadEntries(fileName, kind).Select(e => e.As<T>())];

    /// <summary>The one message of an image that must exist and hold exactly one entry.</summary>
    public T ReadSingle<T>(string fileName, ImageKind kind) where T : class, IMessage
    {
        string path = PathOf(fileName);
        if (!File.Exists(path))
            throw new ImageFormatException(path, 0, $"an existing {kind.Name} image");
        var entries = ReadEntries(fileName, kind);
        if (entries.Count != 1)
            throw new ImageFormatException(path, entries.Count == 0 ? new FileInfo(path).Length : entries[1].Offset,
                $"exactly one {kind.Entry.Name}, found {entries.Count}");
        return entries[0].As<T>();
    }

    /// <summary>Writes an image of entries without payload (replacing any existing file).</summary>
    public void Write(string fileName, ImageKind kind, IEnumerable<IMessage> messages) =>
        ImageWriter.WriteFile(PathOf(fileName), kind, messages);

    /// <summary>Starts an image for entries with payload; dispose the writer to close the file.</summary>
    public ImageWriter CreateWriter(string fileName, ImageKind kind) => ImageWriter.Create(PathOf(fileName), kind);

    public inventory_entry ReadInventory() => ReadSingle<inventory_entry>(ImageNames.Inventory, ImageKinds.Inventory);
    public void WriteInventory(inventory_entry inventory) => Write(ImageNames.Inventory, ImageKinds.Inventory, [inventory]);

    public IReadOnlyList<pstree_entry> ReadPstree() => ReadAll<pstree_entry>(ImageNames.Pstree, ImageKinds.Pstree);
    public void WritePstree(IEnumerable<pstree_entry> processes) => Write(ImageNames.Pstree, ImageKinds.Pstree, processes);

    public core_entry ReadCore(int tid) => ReadSingle<core_entry>(ImageNames.Core(tid), ImageKinds.Core);
    public void WriteCore(int tid, core_entry core) => Write(ImageNames.Core(tid), ImageKinds.Core, [core]);

    public task_kobj_ids_entry ReadIds(int pid) => ReadSingle<task_kobj_ids_entry>(ImageNames.Ids(pid), ImageKinds.Ids);
    public void WriteIds(int pid, task_kobj_ids_entry ids) => Write(ImageNames.Ids(pid), ImageKinds.Ids, [ids]);

    public mm_entry ReadMm(int pid) => ReadSingle<mm_entry>(ImageNames.Mm(pid), ImageKinds.Mm);
    public void WriteMm(int pid, mm_entry mm) => Write(ImageNames.Mm(pid), ImageKinds.Mm, [mm]);

    public fs_entry ReadFs(int pid) => ReadSingle<fs_entry>(ImageNames.Fs(pid), ImageKinds.Fs);
    public void WriteFs(int pid, fs_entry fs) => Write(ImageNames.Fs(pid), ImageKinds.Fs, [fs]);

    public IReadOnlyList<fdinfo_entry> ReadFdinfo(uint filesId) => ReadAll<fdinfo_entry>(ImageNames.Fdinfo(filesId), ImageKinds.Fdinfo);
    public void WriteFdinfo(uint filesId, IEnumerable<fdinfo_entry> fds) => Write(ImageNames.Fdinfo(filesId), ImageKinds.Fdinfo, fds);

    public IReadOnlyList<file_entry> ReadFiles() => ReadAll<file_entry>(ImageNames.Files, ImageKinds.Files);
    public void WriteFiles(IEnumerable<file_entry> files) => Write(ImageNames.Files, ImageKinds.Files, files);

    /// <summary>pipes-data.img entries; each entry's Extra holds the queued bytes.</summary>
    public IReadOnlyList<ImageEntry> ReadPipesData() => ReadEntries(ImageNames.PipesData, ImageKinds.PipesData);

    /// <summary>fifo-data.img entries; each entry's Extra holds the queued bytes.</summary>
    public IReadOnlyList<ImageEntry> ReadFifoData() => ReadEntries(ImageNames.FifoData, ImageKinds.FifoData);

    /// <summary>sk-queues.img entries; each entry's Extra holds one queued packet.</summary>
    public IReadOnlyList<ImageEntry> ReadSkQueues() => ReadEntries(ImageNames.SkQueues, ImageKinds.SkQueues);

    /// <summary>The TCP repair state of socket inode <paramref name="inode"/>; Extra = receive queue then send queue.</summary>
    public ImageEntry ReadTcpStream(uint inode)
    {
        string name = ImageNames.TcpStream(inode);
        var entries = ReadEntries(name, ImageKinds.TcpStream);
        return entries.Count == 1 ? entries[0]
            : throw new ImageFormatException(PathOf(name), 0, $"exactly one tcp_stream_entry, found {entries.Count}");
    }

    /// <summary>The dumped memory of <paramref name="pid"/> (dispose it to close the pages file).</summary>
    public PageMap OpenPageMap(int pid) => PageMap.Open(PathOf(ImageNames.Pagemap(pid)));

    /// <summary>The dumped contents of shared anonymous memory <paramref name="shmid"/> (pagemap-shmem-&lt;shmid&gt;.img).</summary>
    public PageMap OpenShmemPageMap(ulong shmid) => PageMap.Open(PathOf(ImageNames.ShmemPagemap(shmid)));

    /// <summary>Starts pages-&lt;pagesId&gt;.img and pagemap-&lt;pid&gt;.img for <paramref name="pid"/>.</summary>
    public PagesWriter CreatePages(int pid, uint pagesId) => PagesWriter.Create(Path, pid, pagesId);
}
