using System.Runtime.InteropServices;
using Ferry.Checkpoint;
using Ferry.Images;
using Ferry.Images.Protos;
using Ferry.Linux;
using Microsoft.Win32.SafeHandles;

namespace Ferry.Resources.Memory;

/// <summary>What the memory dump wrote.</summary>
/// <param name="Scan">Reading pagemap and choosing pages.</param>
/// <param name="Read">Copying pages out of the task.</param>
/// <param name="WriteWait">Time spent waiting for image writes that reading could not hide.</param>
internal readonly record struct MemoryDumpStats(long Pages, long Bytes, int Runs, TimeSpan Scan, TimeSpan Read, TimeSpan WriteWait);

/// <summary>
/// Writes pagemap-PID.img and pages-ID.img: the pages <see cref="PageScanner"/> picked, copied out of the task with
/// process_vm_readv (many runs per call, into large buffers) or, for pages it may not read (PROT_NONE and the like),
/// through /proc/PID/mem. One buffer is written to the image while the next is filled.
/// </summary>
internal static unsafe class MemoryDumper
{
    const int BufferBytes = 32 << 20;
    const int MaxIovecs = 1024;

    /// <param name="vpid">The PID inside the task's pid namespace, which names its pagemap image.</param>
    /// <param name="parent">With `--cow-pages-once`, the fork parent whose pages this process's images need not hold again.</param>
    /// <param name="frames">With `--cow-pages-once`, receives this process's frames for its children (<see cref="ForkParent"/>).</param>
    public static MemoryDumpStats Dump(int pid, int vpid, IReadOnlyList<vma_entry> vmas, IReadOnlyCollection<ulong> stackPointers,
        string imagesDir, uint pagesId, ForkParent? parent = null, List<(ulong Address, ulong Pfn)>? frames = null)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var listed = PageScanner.Scan(pid, vmas, stackPointers, parent, frames);
        var scan = clock.Elapsed;
        TimeSpan read = default, writeWait = default;
        WritePagemap(Path.Combine(imagesDir, $"pagemap-{vpid}.img"), pagesId, listed);
        var runs = listed.Where(r => !r.InParent).ToList();
        var total = runs.Sum(r => (long)r.Pages) * (long)PageScanner.PageSize;
        using (var pages = new FileStream(Path.Combine(imagesDir, $"pages-{pagesId}.img"), new FileStreamOptions
               {
                   Mode = FileMode.Create, Access = FileAccess.Write, BufferSize = 0, PreallocationSize = total,
                   UnixCreateMode = ImageWriter.FileMode,
               }))
        {
            if (total > 0) (read, writeWait) = CopyPages(pid, runs, pages.SafeFileHandle, total);
        }
        return new MemoryDumpStats(total / (long)PageScanner.PageSize, total, runs.Count, scan, read, writeWait);
    }

    static void WritePagemap(string path, uint pagesId, List<DumpRun> runs)
    {
        using var writer = ImageWriter.Create(path, ImageKinds.Pagemap);
        writer.Write(new pagemap_head { PagesId = pagesId });
        // nr_pages is CRIU 4.x's count; the old 32-bit field is filled too when it fits, so CRIU 3.x tools read it.
        foreach (var run in runs)
            writer.Write(new pagemap_entry
            {
                Vaddr = run.Address, CompatNrPages = run.Pages <= uint.MaxValue ? (uint)run.Pages : 0, Flags = run.Flags,
                NrPages = run.Pages,
            });
    }

    /// <summary>
    /// Fills one buffer while the previous one is being written; the last (for small processes the only) buffer
    /// is written on this thread, so a small dump starts no worker thread.
    /// </summary>
    static (TimeSpan Read, TimeSpan WriteWait) CopyPages(int pid, List<DumpRun> runs, SafeFileHandle pages, long total)
    {
        var size = (int)Math.Min(BufferBytes, total);
        using var first = new LargeBuffer(size);
        using var second = total > size ? new LargeBuffer(size) : null;
        var buffers = new[] { first.Pointer, second is null ? null : second.Pointer };
        using var reader = new PageReader(pid);
        Task? writing = null;
        long readTicks = 0, waitTicks = 0;
        try
        {
            long fileOffset = 0;
            var runIndex = 0;
            ulong runDone = 0; // bytes of runs[runIndex] already copied
            for (var turn = 0; runIndex < runs.Count; turn++)
            {
                var buffer = buffers[turn & 1];
                var started = System.Diagnostics.Stopwatch.GetTimestamp();
                var filled = reader.Fill(runs, ref runIndex, ref runDone, buffer, size);
                var filledAt = System.Diagnostics.Stopwatch.GetTimestamp();
                readTicks += filledAt - started;
                writing?.Wait();
                writing = null;
                var offset = fileOffset;
                fileOffset += filled;
                if (runIndex == runs.Count)
                    RandomAccess.Write(pages, new ReadOnlySpan<byte>(buffer, filled), offset);
                else
                    writing = Task.Run(() => RandomAccess.Write(pages, new ReadOnlySpan<byte>(buffer, filled), offset));
                waitTicks += System.Diagnostics.Stopwatch.GetTimestamp() - filledAt;
            }
            return (TimeSpan.FromSeconds(readTicks / (double)System.Diagnostics.Stopwatch.Frequency),
                TimeSpan.FromSeconds(waitTicks / (double)System.Diagnostics.Stopwatch.Frequency));
        }
        finally
        {
            writing?.Wait();
        }
    }

    /// <summary>Copies runs of the task's memory into a local buffer.</summary>
    sealed class PageReader(int pid) : IDisposable
    {
        readonly IoVec* _remote = (IoVec*)NativeMemory.Alloc(MaxIovecs, (nuint)sizeof(IoVec));
        SafeFileHandle? _mem;

        /// <summary>Fills up to <paramref name="capacity"/> bytes from the runs, advancing the position; returns the bytes filled.</summary>
        public int Fill(List<DumpRun> runs, ref int runIndex, ref ulong runDone, byte* buffer, int capacity)
        {
            var filled = 0;
            while (runIndex < runs.Count && filled < capacity)
            {
                // Gather consecutive readable pieces into one process_vm_readv.
                var count = 0;
                var batchStart = filled;
                var index = runIndex;
                var done = runDone;
                while (index < runs.Count && filled < capacity && count < MaxIovecs && runs[index].Readable)
                {
                    var run = runs[index];
                    var length = Math.Min(run.Pages * PageScanner.PageSize - done, (ulong)(capacity - filled));
                    _remote[count++] = new IoVec { Base = (nint)(run.Address + done), Length = (nuint)length };
                    filled += (int)length;
                    done += length;
                    if (done == run.Pages * PageScanner.PageSize) { index++; done = 0; }
                }
                if (count > 0)
                {
                    ReadVectors(buffer + batchStart, filled - batchStart, count);
                    runIndex = index;
                    runDone = done;
                    continue;
                }
                // An unreadable run (PROT_NONE ...): only /proc/PID/mem may read it.
                var unreadable = runs[runIndex];
                var size = Math.Min(unreadable.Pages * PageScanner.PageSize - runDone, (ulong)(capacity - filled));
                ReadMem(unreadable.Address + runDone, buffer + filled, (int)size);
                filled += (int)size;
                runDone += size;
                if (runDone == unreadable.Pages * PageScanner.PageSize) { runIndex++; runDone = 0; }
            }
            return filled;
        }

        void ReadVectors(byte* destination, int length, int count)
        {
            var local = new IoVec { Base = (nint)destination, Length = (nuint)length };
            var got = (long)LibC.process_vm_readv(pid, &local, 1, _remote, (nuint)count, 0);
            if (got == length) return;
            if (got < 0) got = 0;
            // A piece it could not read (a page it may not touch): finish piece by piece through /proc/PID/mem.
            long offset = 0;
            for (var i = 0; i < count; i++)
            {
                var pieceLength = (long)_remote[i].Length;
                if (offset + pieceLength > got)
                {
                    var skip = Math.Max(0, got - offset);
                    ReadMem((ulong)_remote[i].Base + (ulong)skip, destination + offset + skip, (int)(pieceLength - skip));
                }
                offset += pieceLength;
            }
        }

        void ReadMem(ulong address, byte* destination, int length)
        {
            _mem ??= File.OpenHandle($"/proc/{pid}/mem", FileMode.Open, FileAccess.Read);
            var done = 0;
            while (done < length)
            {
                var n = RandomAccess.Read(_mem, new Span<byte>(destination + done, length - done), (long)(address + (ulong)done));
                if (n <= 0) throw new IOException($"cannot read the memory of process {pid} at 0x{address + (ulong)done:x}");
                done += n;
            }
        }

        public void Dispose()
        {
            NativeMemory.Free(_remote);
            _mem?.Dispose();
        }
    }
}
