using Ferry.Diagnostics;
using Ferry.Images;
using Ferry.Images.Protos;

namespace Ferry.Resources.Memory;

/// <summary>
/// Writes the contents of each shared anonymous memory object the task maps to pagemap-shmem-SHMID.img and its own
/// pages-ID.img, as CRIU does: run addresses are offsets in the object, not addresses in the task. The object is read
/// through /proc/PID/map_files (so pages the task never touched or no longer maps are found too); pages of zeros are
/// left out, a new object is zero-filled.
/// </summary>
internal static class ShmemDumper
{
    const int ChunkBytes = 1 << 20;

    /// <summary>
    /// Dumps each object mapped by VMAs marked VMA_ANON_SHARED once, from offset 0 to the end of its furthest mapping;
    /// pages ids are taken from <paramref name="firstPagesId"/> on.
    /// </summary>
    public static long Dump(int pid, IReadOnlyList<vma_entry> vmas, string imagesDir, uint firstPagesId)
    {
        long bytes = 0;
        var pagesId = firstPagesId;
        foreach (var mappings in vmas.Where(v => (v.Status & VmaStatus.AnonShared) != 0).GroupBy(v => v.Shmid))
            bytes += DumpOne(pid, mappings.First(), mappings.Max(v => v.Pgoff + (v.End - v.Start)), imagesDir, pagesId++);
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
            var extending = false;
            for (ulong offset = 0; offset < end; offset += ChunkBytes)
            {
                var length = (int)Math.Min(ChunkBytes, end - offset);
                var read = ReadFully(file, chunk.AsSpan(0, length), (long)offset);
                for (var page = 0; page < read; page += (int)PageScanner.PageSize)
                {
                    var data = chunk.AsSpan(page, (int)PageScanner.PageSize);
                    if (!data.ContainsAnyExcept((byte)0))
                    {
                        extending = false;
                        continue;
                    }
                    if (extending) writer.ExtendRun(data);
                    else writer.AddPresent(offset + (ulong)page, data);
                    extending = true;
                }
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
