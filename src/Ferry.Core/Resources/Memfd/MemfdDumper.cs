using Ferry.Diagnostics;
using Ferry.Images;
using Ferry.Images.Protos;
using Ferry.Linux;
using Ferry.Procfs;
using Ferry.Resources.Files;
using Microsoft.Win32.SafeHandles;

namespace Ferry.Resources.Memfd;

/// <summary>
/// memfd files in CRIU's format: each descriptor or mapping of a memfd is a MEMFD file of files.img that names an
/// inode of memfd.img (name, owner, mode, size, seals); the inode's contents go to pagemap-shmem-SHMID.img and its
/// own pages-ID.img, offsets in the file as addresses, pages of zeros left out. The shmid is the inode number, as
/// CRIU chooses it. Contents are read while the task is frozen, once per inode. A private mapping of a shared
/// anonymous object (mmap of /proc/self/map_files/... MAP_PRIVATE) is such a file too, as CRIU 4.2 writes it, named
/// <see cref="AnonymousShmemName"/>: its pages not yet copied on write must stay those of the object.
/// </summary>
internal sealed class MemfdDumper(string imagesDir)
{
    const string Prefix = "/memfd:";
    const int ChunkBytes = 1 << 20;

    readonly Dictionary<(ulong Dev, ulong Ino), memfd_inode_entry> _inodes = new();
    readonly Dictionary<(ulong Dev, ulong Ino, uint Flags), uint> _mappedFiles = new();

    /// <summary>
    /// Pages ids of memfd contents count down from the top of the u32 range, so they never meet the ids the memory
    /// dumpers count up from 1 for the tasks and shared anonymous memory.
    /// </summary>
    uint _nextPagesId = uint.MaxValue;

    /// <summary>Bytes of memfd contents written to pages files (CRIU counts them as shared pages in stats-dump).</summary>
    public long BytesWritten { get; private set; }

    /// <summary>The memfd.img name of a shared anonymous object (the kernel's "/dev/zero (deleted)").</summary>
    public const string AnonymousShmemName = "/dev/zero";

    /// <summary>A descriptor or mapping named "/memfd:NAME" (the kernel adds " (deleted)"): a memfd.</summary>
    public static bool IsMemfd(string path) => path.StartsWith(Prefix, StringComparison.Ordinal);

    /// <summary>
    /// A mapping of a memfd, or a private one of a shared anonymous object (a shared one is VMA_ANON_SHARED memory).
    /// </summary>
    public static bool IsMemfdMapping(MapsEntry map) =>
        IsMemfd(map.Path) || (!map.Shared && map.DevMajor == 0 && map.Deleted && map.Path == AnonymousShmemName);

    /// <summary>
    /// Whether the shared memory dump writes the contents of object SHMID (it is mapped shared somewhere in the tree):
    /// then the anonymous objects mapped privately here leave them to it.
    /// </summary>
    public Func<ulong, bool> DumpedAsSharedMemory { get; set; } = _ => false;

    /// <summary>Shared anonymous objects met through private mappings, their contents written by WriteImage.</summary>
    readonly Dictionary<(ulong Dev, ulong Ino), string> _anonymousObjects = new();

    /// <summary>Adds the MEMFD file <paramref name="id"/> for a descriptor; <paramref name="fd"/> is Ferry's copy of it.</summary>
    public void AddFile(FileTable files, uint id, string path, int fd, in FileStatus st, uint flags, ulong pos)
    {
        var inode = Inode(path, fd, st);
        files.Add(new file_entry
        {
            Type = fd_types.Memfd, Id = id,
            Memfd = new memfd_file_entry { Id = id, Flags = flags, Pos = pos, Fown = NoOwner(), InodeId = (uint)inode.InodeId },
        });
    }

    /// <summary>The id of the MEMFD file a VMA maps, reached through <paramref name="openable"/> (map_files).</summary>
    public uint AddMapping(FileTable files, string openable, string path, uint flags)
    {
        using var handle = File.OpenHandle(openable, FileMode.Open, FileAccess.Read);
        var fd = (int)handle.DangerousGetHandle();
        var st = FileTable.Stat(handle);
        if (_mappedFiles.TryGetValue((st.st_dev, st.st_ino, flags), out var known))
            return known;
        var id = files.NextId();
        AddFile(files, id, path, fd, st, flags, 0);
        _mappedFiles[(st.st_dev, st.st_ino, flags)] = id;
        if (!IsMemfd(path))
            _anonymousObjects.TryAdd((st.st_dev, st.st_ino), openable);
        return id;
    }

    /// <summary>memfd.img, when any memfd was seen, and the contents of anonymous objects no shared mapping dumps.</summary>
    public void WriteImage()
    {
        foreach (var (key, openable) in _anonymousObjects)
        {
            var inode = _inodes[key];
            if (DumpedAsSharedMemory(inode.Shmid))
                continue;
            using var handle = File.OpenHandle(openable, FileMode.Open, FileAccess.Read);
            WriteContents((int)handle.DangerousGetHandle(), inode, openable);
        }
        if (_inodes.Count > 0)
            ImageWriter.WriteFile(Path.Combine(imagesDir, ImageNames.Memfd), ImageKinds.MemfdInode, _inodes.Values);
    }

    memfd_inode_entry Inode(string path, int fd, in FileStatus st)
    {
        if (_inodes.TryGetValue((st.st_dev, st.st_ino), out var known))
            return known;
        bool memfd = IsMemfd(path);
        var seals = LibC.syscall(Sys.fcntl, fd, OpenFlags.F_GET_SEALS, 0, 0, 0, 0);
        if (seals < 0)
            throw new FerryException($"{path}: cannot read the memfd's seals: {Errno.Name(LinuxException.FromLastError("fcntl").ErrorNumber)}");
        var inode = new memfd_inode_entry
        {
            Name = memfd ? path[Prefix.Length..] : AnonymousShmemName, Uid = st.st_uid, Gid = st.st_gid, Size = (ulong)st.st_size, Shmid = (uint)st.st_ino,
            Seals = (uint)seals, InodeId = (ulong)_inodes.Count + 1, Mode = st.st_mode,
        };
        // A memfd of huge pages is made again with memfd_create(MFD_HUGETLB) of the same page size.
        if (Hugetlb.PageSizeOf(fd) is var hugePage and > 0)
            inode.HugetlbFlag = Hugetlb.MemfdFlag(hugePage);
        if (memfd)
            WriteContents(fd, inode, path);
        _inodes[(st.st_dev, st.st_ino)] = inode;
        return inode;
    }

    void WriteContents(int fd, memfd_inode_entry inode, string path)
    {
        if (inode.Size == 0)
            return;
        var pagesId = _nextPagesId--;
        using var writer = new PagesWriter(Path.Combine(imagesDir, ImageNames.ShmemPagemap(inode.Shmid)),
            Path.Combine(imagesDir, ImageNames.Pages(pagesId)), pagesId);
        using var file = new SafeFileHandle(fd, ownsHandle: false);
        var chunk = new byte[ChunkBytes];
        int pageSize = Environment.SystemPageSize;
        for (ulong offset = 0; offset < inode.Size; offset += ChunkBytes)
        {
            int length = (int)Math.Min(ChunkBytes, inode.Size - offset);
            int read;
            try
            {
                read = RandomAccess.Read(file, chunk.AsSpan(0, length), (long)offset);
            }
            catch (IOException e)
            {
                throw new FerryException($"{path}: cannot read the memfd's contents: {e.Message}");
            }
            // The last page is written whole, zero-padded past the end of the file, as a page of the pagemap.
            int wholePages = (length + pageSize - 1) / pageSize * pageSize;
            chunk.AsSpan(read, wholePages - read).Clear();
            writer.AddNonZeroPages(offset, chunk.AsSpan(0, wholePages));
        }
        writer.Complete();
        BytesWritten += writer.PresentBytes;
    }

    static fown_entry NoOwner() => new() { Uid = 0, Euid = 0, Signum = 0, PidType = 0, Pid = 0 };
}
