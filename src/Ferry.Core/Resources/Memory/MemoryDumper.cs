using System.Collections.Concurrent;
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
/// process_vm_readv (many runs per call) or, for pages it may not read (PROT_NONE and the like),
/// through /proc/PID/mem. Slices already filled are written to the image while the next ones are filled.
/// </summary>
internal static unsafe class MemoryDumper
{
    const int SliceBytes = 1 << 20;
    const int Slices = 4;
    const int MaxIovecs = 1024;

    /// <param name="vpid">The PID inside the task's pid namespace, which names its pagemap image.</param>
    /// <param name="parent">With `--cow-pages-once`, the fork parent whose pages this process's images need not hold again.</param>
    /// <param name="frames">With `--cow-pages-once`, receives this process's frames for its children (<see cref="ForkParent"/>).</param>
    public static MemoryDumpStats Dump(int pid, int vpid, IReadOnlyList<vma_entry> vmas, IReadOnlyCollection<ulong> stackPointers,
        string imagesDir, uint pagesId, ForkParent? parent = null, List<(ulong Address, ulong Pfn)>? frames = null)
    {
        using var scanner = new PageScanner(pid, vmas, stackPointers, parent, frames);
        Copy copy;
        using (var pages = new FileStream(Path.Combine(imagesDir, $"pages-{pagesId}.img"), new FileStreamOptions
               {
                   // A pages file left by an earlier dump is overwritten in place, not truncated first: its pages
                   // are then reused instead of freed and allocated again.
                   Mode = FileMode.OpenOrCreate, Access = FileAccess.Write, BufferSize = 0,
                   UnixCreateMode = ImageWriter.FileMode,
               }))
        {
            File.SetUnixFileMode(pages.SafeFileHandle, ImageWriter.FileMode);
            copy = new Copy(pid, scanner, pages.SafeFileHandle);
            copy.Run();
            pages.SetLength(scanner.Bytes);
        }
        WritePagemap(Path.Combine(imagesDir, $"pagemap-{vpid}.img"), pagesId, scanner.Runs);
        return new MemoryDumpStats(scanner.Bytes / (long)PageScanner.PageSize, scanner.Bytes, scanner.Stored.Count,
            Ticks(copy.ScanTicks), Ticks(copy.ReadTicks), Ticks(copy.WaitTicks));
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
    /// Copies the pages through a ring of small slices: this thread scans pagemap a batch at a time and fills one
    /// slice after another with process_vm_readv from the runs found so far, while a writer thread writes the filled
    /// slices to the image in order. Writing the page cache is the slowest part, so the writer starts as soon as the
    /// first slice is full and the scan and the reads hide behind it. The slices are small so they stay in the CPU
    /// cache between the two copies and cost few fresh pages; a dump that fits in one slice is written on this thread
    /// and starts no writer.
    /// </summary>
    sealed class Copy(int pid, PageScanner scanner, SafeFileHandle pages)
    {
        readonly PageReader _reader = new(pid);
        int _runIndex;
        ulong _runDone; // bytes of runs[_runIndex] already copied
        long _copied;
        readonly bool _preallocate = !IsTmpfs(pages);
        long _preallocated;

        public long ScanTicks, ReadTicks, WaitTicks;

        public void Run()
        {
            using (_reader)
            {
                ScanAhead(SliceBytes);
                if (scanner.Done && scanner.Bytes <= SliceBytes)
                    CopyAlone();
                else
                    CopyThroughRing();
            }
        }

        /// <summary>Scans until at least <paramref name="bytes"/> bytes not yet copied are known, or to the end.</summary>
        void ScanAhead(long bytes)
        {
            var start = System.Diagnostics.Stopwatch.GetTimestamp();
            while (scanner.Bytes - _copied < bytes && scanner.ScanMore()) { }
            if (_preallocate && scanner.Bytes > _preallocated)
            {
                // A hint (failure only costs speed): on ext4 or xfs the blocks are reserved as unwritten extents, so
                // the writes skip block allocation. Never on tmpfs, where it would allocate every page up front at
                // the cost of the writes themselves.
                LibC.syscall(Sys.fallocate, (long)pages.DangerousGetHandle(), FallocKeepSize, _preallocated, scanner.Bytes - _preallocated, 0, 0);
                _preallocated = scanner.Bytes;
            }
            ScanTicks += System.Diagnostics.Stopwatch.GetTimestamp() - start;
        }

        const long FallocKeepSize = 1, TmpfsMagic = 0x01021994;

        static bool IsTmpfs(SafeFileHandle file)
        {
            var statfs = stackalloc long[15]; // struct statfs; f_type comes first
            return LibC.syscall(Sys.fstatfs, (long)file.DangerousGetHandle(), (long)statfs, 0, 0, 0, 0) == 0 && statfs[0] == TmpfsMagic;
        }

        void CopyAlone()
        {
            var total = (int)scanner.Bytes;
            if (total == 0) return;
            using var single = new LargeBuffer(total);
            var start = System.Diagnostics.Stopwatch.GetTimestamp();
            _reader.Fill(scanner.Stored, ref _runIndex, ref _runDone, single.Pointer, total);
            var filledAt = System.Diagnostics.Stopwatch.GetTimestamp();
            RandomAccess.Write(pages, new ReadOnlySpan<byte>(single.Pointer, total), 0);
            ReadTicks += filledAt - start;
            WaitTicks += System.Diagnostics.Stopwatch.GetTimestamp() - filledAt;
        }

        void CopyThroughRing()
        {
            using var ring = new LargeBuffer((long)Slices * SliceBytes);
            var buffers = ring.Pointer;
            using var free = new BlockingCollection<int>(Slices);
            using var filled = new BlockingCollection<(int Slice, int Length, long Offset)>(Slices);
            for (var slice = 0; slice < Slices; slice++) free.Add(slice);
            using var failed = new CancellationTokenSource();
            var writer = Task.Factory.StartNew(() =>
            {
                try
                {
                    foreach (var (slice, length, offset) in filled.GetConsumingEnumerable())
                    {
                        RandomAccess.Write(pages, new ReadOnlySpan<byte>(buffers + (long)slice * SliceBytes, length), offset);
                        free.Add(slice);
                    }
                }
                catch
                {
                    failed.Cancel(); // the reader stops waiting for a slice that will never come back
                    throw;
                }
            }, TaskCreationOptions.LongRunning);
            try
            {
                while (true)
                {
                    ScanAhead(SliceBytes);
                    var length = (int)Math.Min(SliceBytes, scanner.Bytes - _copied);
                    if (length == 0) break;
                    var waitStart = System.Diagnostics.Stopwatch.GetTimestamp();
                    var slice = free.Take(failed.Token);
                    var readStart = System.Diagnostics.Stopwatch.GetTimestamp();
                    _reader.Fill(scanner.Stored, ref _runIndex, ref _runDone, buffers + (long)slice * SliceBytes, length);
                    var readEnd = System.Diagnostics.Stopwatch.GetTimestamp();
                    WaitTicks += readStart - waitStart;
                    ReadTicks += readEnd - readStart;
                    filled.Add((slice, length, _copied));
                    _copied += length;
                }
            }
            catch (OperationCanceledException) when (failed.IsCancellationRequested)
            {
                // The writer failed: its exception is thrown below.
            }
            finally
            {
                filled.CompleteAdding();
                var drainStart = System.Diagnostics.Stopwatch.GetTimestamp();
                writer.GetAwaiter().GetResult();
                WaitTicks += System.Diagnostics.Stopwatch.GetTimestamp() - drainStart;
            }
        }
    }

    static TimeSpan Ticks(long ticks) => TimeSpan.FromSeconds(ticks / (double)System.Diagnostics.Stopwatch.Frequency);

    /// <summary>Copies runs of the task's memory into a local buffer.</summary>
    sealed class PageReader(int pid) : IDisposable
    {
        readonly IoVec* _remote = (IoVec*)NativeMemory.Alloc(MaxIovecs, (nuint)sizeof(IoVec));
        SafeFileHandle? _mem;

        /// <summary>
        /// Copies the next <paramref name="length"/> bytes of the runs (which must hold that many past the position)
        /// and advances the position. A run is left only when the next piece is copied, so the last run may still
        /// grow while the position is at its end.
        /// </summary>
        public void Fill(List<DumpRun> runs, ref int runIndex, ref ulong runDone, byte* buffer, int length)
        {
            var filled = 0;
            while (filled < length)
            {
                // Gather consecutive readable pieces into one process_vm_readv.
                var count = 0;
                var batchStart = filled;
                var index = runIndex;
                var done = runDone;
                while (filled < length && count < MaxIovecs)
                {
                    if (done == runs[index].Pages * PageScanner.PageSize) { index++; done = 0; }
                    var run = runs[index];
                    if (!run.Readable) break;
                    var piece = Math.Min(run.Pages * PageScanner.PageSize - done, (ulong)(length - filled));
                    _remote[count++] = new IoVec { Base = (nint)(run.Address + done), Length = (nuint)piece };
                    filled += (int)piece;
                    done += piece;
                }
                runIndex = index;
                runDone = done;
                if (count > 0)
                {
                    ReadVectors(buffer + batchStart, filled - batchStart, count);
                    continue;
                }
                // An unreadable run (PROT_NONE ...): only /proc/PID/mem may read it.
                var unreadable = runs[runIndex];
                var size = Math.Min(unreadable.Pages * PageScanner.PageSize - runDone, (ulong)(length - filled));
                ReadMem(unreadable.Address + runDone, buffer + filled, (int)size);
                filled += (int)size;
                runDone += size;
            }
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
