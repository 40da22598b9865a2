using Ferry.Checkpoint;
using Ferry.Images;
using Ferry.Images.Protos;
using Ferry.Linux;

namespace Ferry.Resources.Files;

/// <summary>
/// ghost-file-ID.img: the metadata and content of a file that was deleted while still open or mapped. Files of
/// 12 KiB and more are written as chunks (offset, length, bytes) the way CRIU does; smaller ones as one blob.
/// Directories, device nodes and FIFOs have no contents (a device its rdev), a symlink its target.
/// </summary>
internal static unsafe class GhostFileWriter
{
    const long ChunkThreshold = 3 * 4096;
    const int ChunkSize = 4 << 20;

    public static void Write(string imagePath, string openable, in FileStatus st)
    {
        if (st.Type is FileStatus.S_IFSOCK)
            throw new Diagnostics.FerryException($"{openable}: deleted file of mode {Convert.ToString(st.st_mode, 8)} cannot be saved as a ghost file");
        var entry = new ghost_file_entry
        {
            Uid = st.st_uid, Gid = st.st_gid, Mode = st.st_mode, Dev = st.KernelDev, Ino = st.st_ino,
            Atim = new timeval { TvSec = (ulong)st.st_atim.tv_sec, TvUsec = (ulong)(st.st_atim.tv_nsec / 1000) },
            Mtim = new timeval { TvSec = (ulong)st.st_mtim.tv_sec, TvUsec = (ulong)(st.st_mtim.tv_nsec / 1000) },
        };
        if (st.Type is FileStatus.S_IFCHR or FileStatus.S_IFBLK)
            entry.Rdev = (uint)st.st_rdev;
        if (st.Type == FileStatus.S_IFLNK)
            entry.SymlnkTarget = SymlinkTarget(openable);
        if (st.Type != FileStatus.S_IFREG)
        {
            // Nothing else is on disk (a FIFO's unread data is in fifo-data.img): the entry alone lets restore make
            // it again, as CRIU does.
            ImageWriter.WriteFile(imagePath, ImageKinds.GhostFile, [entry]);
            return;
        }
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
        foreach (var (start, end) in DataSegments(source, st.st_size))
            for (long offset = start; offset < end; offset += buffer.Length)
            {
                var length = (int)Math.Min(buffer.Length, end - offset);
                ReadExactly(source, buffer.AsSpan(0, length), offset);
                writer.Write(new ghost_chunk_entry { Off = (ulong)offset, Len = (ulong)length }, buffer.AsSpan(0, length));
            }
    }

    /// <summary>
    /// The target of the deleted symlink <paramref name="openable"/> names: opening a /proc fd link without O_NOFOLLOW
    /// lands on the symlink itself (a /proc link is not followed further), which readlinkat with an empty path reads.
    /// </summary>
    static string SymlinkTarget(string openable)
    {
        using var link = Ferry.Linux.HeldFd.Open(openable, OpenFlags.O_PATH, "deleted symlink");
        var buffer = new byte[4096];
        long length;
        fixed (byte* empty = "\0"u8, target = buffer)
            length = LibC.syscall(Sys.readlinkat, link.Fd, (long)empty, (long)target, buffer.Length, 0, 0);
        if (length < 0)
            throw LinuxException.FromLastError($"readlinkat of {openable}");
        return System.Text.Encoding.UTF8.GetString(buffer, 0, (int)length);
    }

    /// <summary>
    /// The parts of the file that hold data (SEEK_DATA/SEEK_HOLE), as CRIU chunks a ghost file: holes are left out
    /// and stay holes when the chunks are written back. A file system without SEEK_DATA gives one segment.
    /// </summary>
    static IEnumerable<(long Start, long End)> DataSegments(Microsoft.Win32.SafeHandles.SafeFileHandle file, long size)
    {
        int fd = (int)file.DangerousGetHandle();
        long hole = 0;
        while (hole < size)
        {
            long data = LibC.syscall(Sys.lseek, fd, hole, OpenFlags.SEEK_DATA, 0, 0, 0);
            if (data < 0)
            {
                var error = LinuxException.FromLastError("lseek(SEEK_DATA)");
                if (error.ErrorNumber == Errno.ENXIO)
                    yield break; // only a hole is left
                if (hole != 0)
                    throw error;
                data = 0;
                hole = size;
            }
            else
            {
                hole = LibC.syscall(Sys.lseek, fd, data, OpenFlags.SEEK_HOLE, 0, 0, 0);
                if (hole < 0)
                    throw LinuxException.FromLastError("lseek(SEEK_HOLE)");
            }
            yield return (data, Math.Min(hole, size));
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
