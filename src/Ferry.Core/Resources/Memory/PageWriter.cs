using System.Runtime.InteropServices;
using Ferry.Diagnostics;
using Ferry.Linux;
using Ferry.Restore;
using Microsoft.Win32.SafeHandles;

namespace Ferry.Resources.Memory;

/// <summary>
/// Writes dumped pages into a task with process_vm_writev, reading them from an mmap of pages-ID.img: the data is
/// copied once, from the page cache into the task. The runs are cut into pieces of at most 64 MiB and shared out
/// to one worker per CPU (the copy and the target's page allocation are CPU-bound); each worker writes its pieces
/// in batches of up to IOV_MAX iovecs per call, after populating its part of the source mapping in one go.
/// </summary>
public static unsafe class PageWriter
{
    const int IovMax = 1024;
    const ulong MaxPiece = 64UL << 20;
    const int MADV_POPULATE_READ = 22;

    readonly record struct Piece(long FileOffset, ulong Address, ulong Length);

    /// <summary>Writes <paramref name="runs"/> (with their offsets in <paramref name="pagesPath"/>); returns the bytes written.</summary>
    public static ulong Write(int pid, string pagesPath, IReadOnlyList<PageRange> runs)
    {
        if (runs.Count == 0)
            return 0;
        using var file = File.OpenHandle(pagesPath);
        long size = RandomAccess.GetLength(file);
        nint mapping = LibC.mmap(0, (nuint)size, Mman.PROT_READ, Mman.MAP_PRIVATE, (int)file.DangerousGetHandle(), 0);
        if (mapping == -1)
            throw new FerryException($"cannot map {pagesPath}: {Errno.Name(Marshal.GetLastPInvokeError())}");
        try
        {
            var pieces = new List<Piece>();
            foreach (var run in runs)
                for (ulong done = 0; done < run.Length; done += MaxPiece)
                    pieces.Add(new Piece(run.FileOffset + (long)done, run.Address + done, Math.Min(MaxPiece, run.Length - done)));
            var shares = Share(pieces, Math.Clamp(Environment.ProcessorCount, 1, 4));
            long total = 0;
            Parallel.ForEach(shares, share => Interlocked.Add(ref total, (long)WriteShare(pid, (byte*)mapping, share)));
            return (ulong)total;
        }
        finally
        {
            LibC.munmap(mapping, (nuint)size);
        }
    }

    /// <summary>Consecutive pieces into <paramref name="count"/> shares of about equal bytes.</summary>
    static List<List<Piece>> Share(List<Piece> pieces, int count)
    {
        ulong total = pieces.Aggregate(0UL, (sum, p) => sum + p.Length);
        ulong perShare = Math.Max(1, (total + (ulong)count - 1) / (ulong)count);
        var shares = new List<List<Piece>> { new() };
        ulong inShare = 0;
        foreach (var piece in pieces)
        {
            if (inShare >= perShare)
            {
                shares.Add(new List<Piece>());
                inShare = 0;
            }
            shares[^1].Add(piece);
            inShare += piece.Length;
        }
        return shares;
    }

    static ulong WriteShare(int pid, byte* source, List<Piece> share)
    {
        var local = new IoVec[IovMax];
        var remote = new IoVec[IovMax];
        ulong written = 0;
        for (int first = 0; first < share.Count; first += IovMax)
        {
            int count = Math.Min(IovMax, share.Count - first);
            for (int i = 0; i < count; i++)
            {
                var piece = share[first + i];
                // Mapping the source pages in bulk is cheaper than one fault per 16 pages inside the copy.
                LibC.madvise((nint)(source + piece.FileOffset), (nuint)piece.Length, MADV_POPULATE_READ);
                local[i] = new IoVec { Base = (nint)(source + piece.FileOffset), Length = (nuint)piece.Length };
                remote[i] = new IoVec { Base = (nint)piece.Address, Length = (nuint)piece.Length };
            }
            written += Flush(pid, local, remote, count);
        }
        return written;
    }

    /// <summary>Writes the batch, continuing after short writes (a call may stop at its per-call byte limit).</summary>
    static ulong Flush(int pid, IoVec[] local, IoVec[] remote, int count)
    {
        ulong written = 0;
        int first = 0;
        while (first < count)
        {
            nint n;
            fixed (IoVec* l = &local[first], r = &remote[first])
                n = LibC.process_vm_writev(pid, l, (nuint)(count - first), r, (nuint)(count - first), 0);
            if (n <= 0)
            {
                int errno = n < 0 ? Marshal.GetLastPInvokeError() : Errno.EFAULT;
                throw new FerryException(
                    $"writing pages at 0x{(ulong)remote[first].Base:x} into pid {pid} failed: {Errno.Name(errno)}");
            }
            written += (ulong)n;
            // Skip the pieces written in full; trim the one cut short.
            ulong left = (ulong)n;
            while (first < count && left >= remote[first].Length)
            {
                left -= remote[first].Length;
                first++;
            }
            if (left > 0)
            {
                local[first].Base += (nint)left;
                local[first].Length -= (nuint)left;
                remote[first].Base += (nint)left;
                remote[first].Length -= (nuint)left;
            }
        }
        return written;
    }
}
