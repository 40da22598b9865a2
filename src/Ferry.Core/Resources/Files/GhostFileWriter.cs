using Ferry.Checkpoint;
using Ferry.Images;
using Ferry.Images.Protos;
using Ferry.Linux;

namespace Ferry.Resources.Files;

/// <summary>
/// ghost-file-ID.img: the metadata and content of a file that was deleted while still open or mapped. Files of
/// 12 KiB and more are written as chunks (offset, length, bytes) the way CRIU does; smaller ones as one blob.
/// </summary>
internal static class GhostFileWriter
{
    const long ChunkThreshold = 3 * 4096;
    const int ChunkSize = 4 << 20;

    public static void Write(string imagePath, string openable, in FileStatus st)
    {
        if (st.Type != FileStatus.S_IFREG)
            throw new Diagnostics.FerryException($"{openable}: deleted file of mode {Convert.ToString(st.st_mode, 8)} cannot be saved as a ghost file");
        var entry = new ghost_file_entry
        {
            Uid = st.st_uid, Gid = st.st_gid, Mode = st.st_mode, Dev = (uint)st.st_dev, Ino = st.st_ino,
            Atim = new timeval { TvSec = (ulong)st.st_atim.tv_sec, TvUsec = (ulong)(st.st_atim.tv_nsec / 1000) },
            Mtim = new timeval { TvSec = (ulong)st.st_mtim.tv_sec, TvUsec = (ulong)(st.st_mtim.tv_nsec / 1000) },
        };
        // Reopen read-only: the task may hold the file write-only.
        using var source = File.OpenHandle(openable, FileMode.Open, FileAccess.Read);
        using var writer = ImageWriter.Create(imagePath, ImageKinds.GhostFile);
        if (st.st_size < ChunkThreshold)
        {
            var content = new byte[st.st_size];
            ReadExactly(source, content, 0);
            writer.Write(entry, content);
            return;
        }
        entry.Chunks = true;
        entry.Size = (ulong)st.st_size;
        writer.Write(entry);
        var buffer = new byte[(int)Math.Min(ChunkSize, st.st_size)];
        for (long offset = 0; offset < st.st_size; offset += buffer.Length)
        {
            var length = (int)Math.Min(buffer.Length, st.st_size - offset);
            ReadExactly(source, buffer.AsSpan(0, length), offset);
            writer.Write(new ghost_chunk_entry { Off = (ulong)offset, Len = (ulong)length }, buffer.AsSpan(0, length));
        }
    }

    static void ReadExactly(Microsoft.Win32.SafeHandles.SafeFileHandle handle, Span<byte> buffer, long offset)
    {
        var done = 0;
        while (done < buffer.Length)
        {
            var n = RandomAccess.Read(handle, buffer[done..], offset + done);
            if (n == 0) throw new IOException($"the deleted file ended at {offset + done} bytes while saving it");
            done += n;
        }
    }
}
