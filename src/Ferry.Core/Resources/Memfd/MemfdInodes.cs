using System.Text;
using Ferry.Diagnostics;
using Ferry.Images;
using Ferry.Images.Protos;
using Ferry.Linux;
using Ferry.Restore;
using Microsoft.Win32.SafeHandles;

namespace Ferry.Resources.Memfd;

/// <summary>
/// The memfd inodes of a dump (memfd.img), created on first use in Ferry itself with their name, size, contents
/// (pagemap-shmem-SHMID.img), owner and mode, and kept for the whole restore so every descriptor and mapping of one
/// inode, in any task, gets the same memory. Like CRIU, read-write mappings and the first read-write descriptor
/// share the description memfd_create made: the kernel does not count that one as a writer, so a program can still
/// execveat() its memfd (a reopened read-write description would make that fail with ETXTBSY). Every other
/// descriptor gets its own description, reopened through /proc/self/fd with its flags. Seals are added last
/// (<see cref="ApplySeals"/>): F_SEAL_WRITE and F_SEAL_FUTURE_WRITE would forbid writable mappings still to be made.
/// </summary>
public sealed unsafe class MemfdInodes : IDisposable
{
    const uint SealSeal = 1;
    const uint MfdAllowSealing = 2;

    readonly DumpSet _set;
    readonly Func<ulong, HeldFd?> _sharedMemory;
    readonly Dictionary<ulong, (HeldFd Fd, uint PendingSeals)> _created = new();
    readonly Dictionary<ulong, HeldFd> _anonymousObjects = new(); // by shmid
    readonly HashSet<ulong> _originalGiven = new();
    Dictionary<ulong, memfd_inode_entry>? _entries;

    /// <summary>
    /// The memfd inodes of <paramref name="set"/>, made on first use; one set of them serves the whole tree. A shared
    /// anonymous object mapped privately is the one <paramref name="sharedMemory"/> gives by shmid when a shared mapping
    /// of it was made first.
    /// </summary>
    public MemfdInodes(DumpSet set, Func<ulong, HeldFd?> sharedMemory)
    {
        _set = set;
        _sharedMemory = sharedMemory;
    }

    /// <summary>Ferry's descriptor of shared anonymous object <paramref name="shmid"/> if a private mapping made it first.</summary>
    public HeldFd? AnonymousObject(ulong shmid) => _anonymousObjects.GetValueOrDefault(shmid);

    /// <summary>An fd to map the memfd behind MEMFD file <paramref name="fileId"/> with access <paramref name="flags"/>.</summary>
    public HeldFd OpenForMapping(uint fileId, int flags) => Open(fileId, flags, mapping: true);

    /// <summary>A descriptor's description: the memfd opened with its flags, at its offset.</summary>
    public HeldFd OpenDescriptor(memfd_file_entry file)
    {
        var fd = Open(file.Id, (int)file.Flags, mapping: false);
        if (file.Pos != 0 && LibC.syscall(Sys.lseek, fd.Fd, (long)file.Pos, OpenFlags.SEEK_SET, 0, 0, 0) < 0)
        {
            fd.Dispose();
            throw new FerryException($"memfd file {file.Id}: cannot seek to {file.Pos}: {Errno.Name(LinuxException.FromLastError("lseek").ErrorNumber)}");
        }
        return fd;
    }

    HeldFd Open(uint fileId, int flags, bool mapping)
    {
        if (!_set.Files.TryGetValue(fileId, out var file) || file.Memfd is null)
            throw new FerryException($"files.img has no memfd file {fileId}");
        ulong id = file.Memfd.InodeId;
        var inode = Inode(id);
        if ((flags & 3) == OpenFlags.O_RDWR && (mapping || _originalGiven.Add(id)))
        {
            int dup = (int)LibC.syscall(Sys.fcntl, inode.Fd, OpenFlags.F_DUPFD_CLOEXEC, 0, 0, 0, 0);
            if (dup < 0)
                throw LinuxException.FromLastError("fcntl(F_DUPFD_CLOEXEC) of a memfd");
            if (!mapping)
                LibC.syscall(Sys.fcntl, dup, OpenFlags.F_SETFL, flags & ~3, 0, 0, 0);
            return new HeldFd(dup);
        }
        return HeldFd.Open($"/proc/self/fd/{inode.Fd}", flags & ~OpenFlags.O_CREAT & ~OpenFlags.O_TRUNC & ~OpenFlags.O_EXCL,
            $"memfd file {fileId}");
    }

    /// <summary>Adds the dumped seals to every memfd created; call once all its descriptors and mappings exist.</summary>
    public void ApplySeals()
    {
        foreach (var (id, (fd, seals)) in _created)
        {
            if (seals == 0)
                continue;
            if (LibC.syscall(Sys.fcntl, fd.Fd, OpenFlags.F_ADD_SEALS, seals, 0, 0, 0) < 0)
                throw new FerryException($"memfd inode {id}: cannot add seals 0x{seals:x}: {Errno.Name(LinuxException.FromLastError("fcntl").ErrorNumber)}");
            _created[id] = (fd, 0);
        }
    }

    public void Dispose()
    {
        foreach (var (fd, _) in _created.Values)
            fd.Dispose();
        _created.Clear();
    }

    HeldFd Inode(ulong id)
    {
        if (_created.TryGetValue(id, out var known))
            return known.Fd;
        _entries ??= Load();
        if (!_entries.TryGetValue(id, out var entry))
            throw new ImageFormatException(_set.PathOf(ImageNames.Memfd), 0, $"memfd inode {id}, which a MEMFD file of files.img names");
        // Sealed with F_SEAL_SEAL alone means "no seals, and no more": create it without sealing allowed.
        uint pending = entry.Seals == SealSeal ? 0 : entry.Seals;
        HeldFd fd;
        if (entry.Name == MemfdDumper.AnonymousShmemName)
            _anonymousObjects[entry.Shmid] = fd = AnonymousObject(entry);
        else // hugetlb_flag is MFD_HUGETLB with the page size bits, as memfd_create takes them.
            fd = Create(entry, (entry.Seals == SealSeal ? 0 : MfdAllowSealing) | (entry.HasHugetlbFlag ? entry.HugetlbFlag : 0));
        _created[id] = (fd, pending);
        return fd;
    }

    HeldFd Create(memfd_inode_entry entry, uint flags)
    {
        long created;
        fixed (byte* name = Encoding.UTF8.GetBytes(entry.Name + "\0"))
            created = LibC.syscall(Sys.memfd_create, (long)name, flags, 0, 0, 0, 0);
        if (created < 0)
            throw new FerryException($"cannot create memfd:{entry.Name}: {Errno.Name(LinuxException.FromLastError("memfd_create").ErrorNumber)}");
        return Prepared(new HeldFd((int)created), entry);
    }

    /// <summary>
    /// A shared anonymous object mapped privately: the one a shared mapping of it made already, or a new one made as the
    /// kernel makes them (an anonymous MAP_SHARED mapping in Ferry, kept through map_files), so it is "/dev/zero".
    /// </summary>
    HeldFd AnonymousObject(memfd_inode_entry entry)
    {
        if (_sharedMemory(entry.Shmid) is { } made)
        {
            int dup = (int)LibC.syscall(Sys.fcntl, made.Fd, OpenFlags.F_DUPFD_CLOEXEC, 0, 0, 0, 0);
            if (dup < 0)
                throw LinuxException.FromLastError("fcntl(F_DUPFD_CLOEXEC) of shared anonymous memory");
            return new HeldFd(dup);
        }
        var at = LibC.mmap(0, (nuint)entry.Size, Mman.PROT_READ | Mman.PROT_WRITE, Mman.MAP_SHARED | Mman.MAP_ANONYMOUS, -1, 0);
        if (at == -1)
            throw Failed(entry, $"make {entry.Size} bytes of shared anonymous memory", "mmap");
        try
        {
            return Prepared(HeldFd.Open($"/proc/self/map_files/{at:x}-{at + (nint)entry.Size:x}", OpenFlags.O_RDWR, $"shared anonymous memory {entry.Shmid}"), entry);
        }
        finally
        {
            LibC.munmap(at, (nuint)entry.Size);
        }
    }

    /// <summary>Gives a new inode its size, contents, owner and mode.</summary>
    HeldFd Prepared(HeldFd fd, memfd_inode_entry entry)
    {
        try
        {
            if (LibC.syscall(Sys.ftruncate, fd.Fd, (long)entry.Size, 0, 0, 0, 0) < 0)
                throw Failed(entry, $"set its size to {entry.Size}", "ftruncate");
            if (entry.Size > 0)
                Fill(fd.Fd, entry);
            if (LibC.syscall(Sys.fchown, fd.Fd, entry.Uid, entry.Gid, 0, 0, 0) < 0)
                throw Failed(entry, $"give it to {entry.Uid}:{entry.Gid}", "fchown");
            if (entry.HasMode && LibC.syscall(Sys.fchmod, fd.Fd, entry.Mode & 0xfff, 0, 0, 0, 0) < 0)
                throw Failed(entry, $"set its mode to {Convert.ToString(entry.Mode & 0xfff, 8)}", "fchmod");
            return fd;
        }
        catch
        {
            fd.Dispose();
            throw;
        }
    }

    /// <summary>Writes the dumped pages at their offsets, never past the file's size (the last page may be partial).</summary>
    void Fill(int fd, memfd_inode_entry entry)
    {
        var contents = PageMapImage.LoadShmem(new DumpSet.Loader(_set.Directory), entry.Shmid, RoundUpToPage(entry.Size));
        using var pages = File.OpenHandle(contents.PagesPath);
        if (entry.HasHugetlbFlag)
        {
            FillThroughMapping(fd, entry, contents, pages);
            return;
        }
        using var memfd = new SafeFileHandle(fd, ownsHandle: false);
        var buffer = new byte[1 << 20];
        foreach (var run in contents.Runs)
            for (ulong done = 0; done < run.Length && run.Address + done < entry.Size; done += (ulong)buffer.Length)
            {
                int length = (int)Math.Min((ulong)buffer.Length, Math.Min(run.Length - done, entry.Size - run.Address - done));
                RandomAccess.Read(pages, buffer.AsSpan(0, length), run.FileOffset + (long)done);
                RandomAccess.Write(memfd, buffer.AsSpan(0, length), (long)(run.Address + done));
            }
    }

    /// <summary>
    /// hugetlbfs files cannot be written with write(): their pages are filled through a shared mapping of the whole
    /// file (a size of whole huge pages; mmap reserves the huge pages, so a lack of them fails here, not later).
    /// </summary>
    static void FillThroughMapping(int fd, memfd_inode_entry entry, PageMapImage contents, SafeFileHandle pages)
    {
        var mapped = LibC.mmap(0, (nuint)entry.Size, Mman.PROT_READ | Mman.PROT_WRITE, Mman.MAP_SHARED, fd, 0);
        if (mapped == -1)
            throw Failed(entry, $"map its {entry.Size} bytes of huge pages", "mmap");
        try
        {
            foreach (var run in contents.Runs)
            {
                if (run.Address >= entry.Size)
                    continue;
                var length = Math.Min(run.Length, entry.Size - run.Address);
                for (ulong done = 0; done < length; done += int.MaxValue)
                {
                    var chunk = (int)Math.Min(length - done, int.MaxValue);
                    RandomAccess.Read(pages, new Span<byte>((byte*)mapped + run.Address + done, chunk), run.FileOffset + (long)done);
                }
            }
        }
        finally
        {
            LibC.munmap(mapped, (nuint)entry.Size);
        }
    }

    Dictionary<ulong, memfd_inode_entry> Load()
    {
        var entries = new Dictionary<ulong, memfd_inode_entry>();
        foreach (var entry in new DumpSet.Loader(_set.Directory).Entries(ImageNames.Memfd, ImageKinds.MemfdInode, optional: true))
            entries[entry.As<memfd_inode_entry>().InodeId] = entry.As<memfd_inode_entry>();
        return entries;
    }

    static ulong RoundUpToPage(ulong size)
    {
        ulong page = (ulong)Environment.SystemPageSize;
        return (size + page - 1) / page * page;
    }

    static FerryException Failed(memfd_inode_entry entry, string what, string call) =>
        new($"memfd:{entry.Name}: cannot {what}: {Errno.Name(LinuxException.FromLastError(call).ErrorNumber)}");
}
