using Ferry.Diagnostics;
using Ferry.Images;
using Ferry.Images.Protos;

namespace Ferry.Resources.Memory;

/// <summary>
/// Writes the contents of each shared anonymous memory object of a process tree to pagemap-shmem-SHMID.img and its own
/// pages-ID.img, as CRIU does: once per object however many processes and VMAs map it (the shmid is the object's
/// inode, so equal shmids are one object), with run addresses that are offsets in the object, not addresses in a
/// task. The object is read through /proc/PID/map_files of one of its mappings (so pages no task touched or still
/// maps are found too); pages of zeros are left out, a new object is zero-filled.
/// </summary>
internal sealed class ShmemDumper
{
    const int ChunkBytes = 1 << 20;

    readonly Dictionary<ulong, SharedObject> _objects = new();
    readonly List<SharedObject> _inOrder = new();

    /// <summary>One object: a mapping to read it through and the end of its furthest mapping in the tree.</summary>
    sealed class SharedObject(int pid, vma_entry vma)
    {
        public int Pid { get; } = pid;
        public vma_entry Vma { get; } = vma;
        public ulong End { get; set; }
    }

    /// <summary>Whether object <paramref name="shmid"/> is mapped shared somewhere, so this dump writes its contents.</summary>
    public bool Has(ulong shmid) => _objects.ContainsKey(shmid);

    /// <summary>Notes the VMAs of process <paramref name="pid"/> marked VMA_ANON_SHARED.</summary>
    public void Add(int pid, IEnumerable<vma_entry> vmas)
    {
        foreach (var vma in vmas)
        {
            if ((vma.Status & VmaStatus.AnonShared) == 0 || (vma.Status & VmaStatus.SysVIpc) != 0) continue; // SysV: Resources/Ipc
            if (!_objects.TryGetValue(vma.Shmid, out var shared))
            {
                _objects[vma.Shmid] = shared = new SharedObject(pid, vma);
                _inOrder.Add(shared);
            }
            shared.End = Math.Max(shared.End, vma.Pgoff + (vma.End - vma.Start));
        }
    }

    /// <summary>
    /// Dumps each object from offset 0 to the end of its furthest mapping, in the order first met; pages ids come from
    /// <paramref name="nextPagesId"/>. Every task must still be frozen. Returns the bytes written.
    /// </summary>
    public long WriteImages(string imagesDir, Func<uint> nextPagesId)
    {
        long bytes = 0;
        foreach (var shared in _inOrder)
            bytes += DumpOne(shared.Pid, shared.Vma, shared.End, imagesDir, nextPagesId());
        return bytes;
    }

    static long DumpOne(int pid, vma_entry vma, ulong end, string imagesDir, uint pagesId)
    {
        var path = $"/proc/{pid}/map_files/{vma.Start:x}-{vma.End:x}";
        using var writer = new PagesWriter(Path.Combine(imagesDir, ImageNames.ShmemPagemap(vma.Shmid)),
            Path.Combine(imagesDir, ImageNames.Pages(pagesId)), pagesId);
        try
        {
            using var file = File.OpenHandle(path);
            var chunk = new byte[ChunkBytes];
            for (ulong offset = 0; offset < end; offset += ChunkBytes)
            {
                var length = (int)Math.Min(ChunkBytes, end - offset);
                var read = ReadFully(file, chunk.AsSpan(0, length), (long)offset);
                writer.AddNonZeroPages(offset, chunk.AsSpan(0, read / (int)PageScanner.PageSize * (int)PageScanner.PageSize));
                if (read < length) break; // past the end of the object
            }
            writer.Complete();
            return writer.PresentBytes;
        }
        catch (IOException e)
        {
            throw new FerryException($"process {pid}: cannot read the shared anonymous memory at 0x{vma.Start:x} ({path}): {e.Message}");
        }
    }

    static int ReadFully(Microsoft.Win32.SafeHandles.SafeFileHandle file, Span<byte> buffer, long offset)
    {
        var done = 0;
        while (done < buffer.Length)
        {
            var n = RandomAccess.Read(file, buffer[done..], offset + done);
            if (n <= 0) break;
            done += n;
        }
        return done;
    }
}
