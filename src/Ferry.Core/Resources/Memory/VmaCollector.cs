using Ferry.Diagnostics;
using Ferry.Images.Protos;
using Ferry.Linux;
using Ferry.Procfs;
using Ferry.Resources.Files;

namespace Ferry.Resources.Memory;

/// <summary>
/// The task's VMAs as CRIU's vma_entry list, from /proc/PID/smaps: protection, mmap flags (with the VmFlags that
/// matter: growsdown, locked, noreserve, hugetlb), madvise bits, status bits and, for file mappings, the id of
/// the file in files.img. [vvar] and [vvar_vclock] become one area, as CRIU 4.2 records them.
/// </summary>
internal static class VmaCollector
{
    public static List<vma_entry> Collect(int pid, FileTable files)
    {
        var vmas = new List<vma_entry>();
        var mappedFiles = new MappedFiles();
        foreach (var area in ProcSmaps.Read(pid))
        {
            var vma = Describe(pid, area, files, mappedFiles);
            if (vmas.Count > 0 && IsVvar(vma) && IsVvar(vmas[^1]) && vmas[^1].End == vma.Start)
            {
                vmas[^1].End = vma.End;
                continue;
            }
            vmas.Add(vma);
        }
        return vmas;
    }

    static bool IsVvar(vma_entry vma) => (vma.Status & VmaStatus.Vvar) != 0;

    /// <summary>
    /// The file ids of a process's mappings so far by the device and inode its maps show, and the access: a library's
    /// several VMAs map one file, which is opened and looked at (stat, build-id) once.
    /// </summary>
    sealed class MappedFiles : Dictionary<(uint DevMajor, uint DevMinor, ulong Inode, uint Flags), uint>;

    static vma_entry Describe(int pid, SmapsEntry area, FileTable files, MappedFiles mappedFiles)
    {
        var map = area.Map;
        var vma = new vma_entry
        {
            Start = map.Start, End = map.End, Pgoff = map.Offset, Shmid = 0, Fd = -1,
            Prot = (uint)map.Prot, Flags = (uint)(map.Shared ? Mman.MAP_SHARED : Mman.MAP_PRIVATE),
        };
        AddVmFlags(vma, area.Flags);
        var ioOrPfn = (area.Flags & (VmFlags.io | VmFlags.pf)) != 0;

        switch (map.Kind)
        {
            case MapKind.Vsyscall:
                vma.Status = VmaStatus.Vsyscall;
                return Anonymous(pid, vma, map);
            case MapKind.Vdso:
                vma.Status = VmaStatus.Regular | ((map.Prot & (MapProt.Read | MapProt.Exec)) == (MapProt.Read | MapProt.Exec) ? VmaStatus.Vdso : 0);
                return Anonymous(pid, vma, map);
            case MapKind.Vvar or MapKind.VvarVclock:
                vma.Status = VmaStatus.Regular | ((map.Prot & MapProt.Read) != 0 ? VmaStatus.Vvar : 0);
                return Anonymous(pid, vma, map);
            case MapKind.Heap:
                vma.Status = VmaStatus.Regular | VmaStatus.Heap;
                break;
            case MapKind.File:
                vma.Status = VmaStatus.Regular;
                return FileBacked(pid, vma, map, files, mappedFiles, ioOrPfn);
            case MapKind.OtherSpecial:
                throw Unsupported(pid, map, $"the special mapping {map.Path}");
            default:
                vma.Status = VmaStatus.Regular;
                break;
        }
        if (ioOrPfn) throw Unsupported(pid, map, "an I/O or PFN mapping");
        return Anonymous(pid, vma, map);
    }

    static vma_entry Anonymous(int pid, vma_entry vma, MapsEntry map)
    {
        if (map.Shared) throw Unsupported(pid, map, "shared anonymous memory");
        vma.Status |= VmaStatus.AnonPrivate;
        vma.Flags |= (uint)Mman.MAP_ANONYMOUS;
        return vma;
    }

    static vma_entry FileBacked(int pid, vma_entry vma, MapsEntry map, FileTable files, MappedFiles mappedFiles, bool ioOrPfn)
    {
        var openable = $"/proc/{pid}/map_files/{map.Start:x}-{map.End:x}";
        if (map.Path.StartsWith("/SYSV", StringComparison.Ordinal))
        {
            // An attach of a SysV segment: its inode number is the segment id, CRIU's shmid (Resources/Ipc dumps the segment).
            vma.Status |= VmaStatus.AnonShared | VmaStatus.SysVIpc;
            vma.Flags |= (uint)Mman.MAP_ANONYMOUS;
            vma.Shmid = map.Inode;
            vma.Fdflags = MappedFileAccess(openable) ?? (uint)OpenFlags.O_RDWR;
            return vma;
        }
        if (map.Shared && map.DevMajor == 0 && map.Path == "/dev/zero" && map.Deleted)
        {
            // MAP_SHARED|MAP_ANONYMOUS: a shmem object the kernel names "/dev/zero (deleted)"; its inode is CRIU's shmid.
            vma.Status |= VmaStatus.AnonShared;
            vma.Flags |= (uint)Mman.MAP_ANONYMOUS;
            vma.Shmid = map.Inode;
            return vma;
        }
        if (ioOrPfn && !map.Shared) throw Unsupported(pid, map, "an I/O or PFN mapping");
        var fdFlags = MappedFileAccess(openable)
            ?? (map.Shared && (map.Prot & MapProt.Write) != 0 ? (uint)OpenFlags.O_RDWR : (uint)OpenFlags.O_RDONLY);
        var memfd = Memfd.MemfdDumper.IsMemfdMapping(map); // a MEMFD file of memfd.img rather than a path (VMA_AREA_MEMFD)
        uint id;
        var key = (map.DevMajor, map.DevMinor, map.Inode, fdFlags);
        try
        {
            if (memfd) id = files.Memfds.AddMapping(files, openable, map.Path, fdFlags);
            else if (!mappedFiles.TryGetValue(key, out id))
                mappedFiles[key] = id = files.ByPath(openable, map.Path, map.Deleted, fdFlags, recordSize: true);
        }
        catch (IOException e)
        {
            throw new FerryException($"process {pid}: cannot open the file mapped at 0x{map.Start:x} ({map.Path}): {e.Message}");
        }
        vma.Status |= (map.Shared ? VmaStatus.FileShared : VmaStatus.FilePrivate) | (memfd ? VmaStatus.Memfd : 0);
        vma.Shmid = id;
        vma.Fdflags = fdFlags;
        return vma;
    }

    /// <summary>
    /// How the mapped file was opened, as CRIU learns it: the owner bits of the map_files link are the file's read and
    /// write access. A read-only mapping of a file opened read-write may be made writable later, which needs that access.
    /// </summary>
    static unsafe uint? MappedFileAccess(string openable)
    {
        FileStatus st;
        long got;
        fixed (byte* path = System.Text.Encoding.UTF8.GetBytes(openable + "\0"))
            got = LibC.syscall(Sys.lstat, (long)path, (long)&st, 0, 0, 0, 0);
        if (got < 0)
            return null;
        return (st.st_mode & 0x180) switch // 0600
        {
            0x80 => (uint)OpenFlags.O_WRONLY,
            0x100 => (uint)OpenFlags.O_RDONLY,
            0x180 => (uint)OpenFlags.O_RDWR,
            _ => null,
        };
    }

    static FerryException Unsupported(int pid, MapsEntry map, string what) =>
        new($"process {pid} maps {what} at 0x{map.Start:x}-0x{map.End:x}, which ferry cannot checkpoint yet; the process was left running untouched");

    /// <summary>The VmFlags CRIU turns into mmap flags and madvise bits (bit N = advice N).</summary>
    static void AddVmFlags(vma_entry vma, VmFlags flags)
    {
        if ((flags & VmFlags.gd) != 0) vma.Flags |= (uint)Mman.MAP_GROWSDOWN;
        if ((flags & VmFlags.lo) != 0) vma.Flags |= 0x2000; // MAP_LOCKED
        if ((flags & VmFlags.nr) != 0) vma.Flags |= (uint)Mman.MAP_NORESERVE;
        if ((flags & VmFlags.ht) != 0) vma.Flags |= 0x40000; // MAP_HUGETLB
        // MAP_DROPPABLE is a mapping type of its own, like MAP_PRIVATE, which it replaces (as CRIU records it).
        if ((flags & VmFlags.dp) != 0) vma.Flags = (vma.Flags & ~(uint)Mman.MAP_PRIVATE) | 0x08;
        ulong madv = 0;
        if ((flags & VmFlags.sr) != 0) madv |= 1UL << Mman.MADV_SEQUENTIAL;
        if ((flags & VmFlags.rr) != 0) madv |= 1UL << Mman.MADV_RANDOM;
        if ((flags & VmFlags.dc) != 0) madv |= 1UL << Mman.MADV_DONTFORK;
        if ((flags & VmFlags.dd) != 0) madv |= 1UL << Mman.MADV_DONTDUMP;
        if ((flags & VmFlags.mg) != 0) madv |= 1UL << Mman.MADV_MERGEABLE;
        if ((flags & VmFlags.hg) != 0) madv |= 1UL << Mman.MADV_HUGEPAGE;
        if ((flags & VmFlags.nh) != 0) madv |= 1UL << Mman.MADV_NOHUGEPAGE;
        if ((flags & VmFlags.wf) != 0) madv |= 1UL << Mman.MADV_WIPEONFORK;
        if (madv != 0) vma.Madv = madv;
    }
}
