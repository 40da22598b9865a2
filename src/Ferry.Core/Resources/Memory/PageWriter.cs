using System.IO.MemoryMappedFiles;
using System.Runtime.InteropServices;
using Ferry.Diagnostics;
using Ferry.Linux;
using Ferry.Restore;

namespace Ferry.Resources.Memory;

/// <summary>
/// Writes dumped pages into a task with process_vm_writev, reading them from an mmap of pages-ID.img: the data is
/// copied once, from the page cache into the task. Runs go in batches of up to IOV_MAX pieces per call.
/// </summary>
public static unsafe class PageWriter
{
    const int IovMax = 1024;
    /// <summary>Pieces are cut at this size so one call never exceeds the kernel's per-call limit (2 GiB - 4 KiB).</summary>
    const ulong MaxPiece = 64UL << 20;

    /// <summary>Writes <paramref name="runs"/> (with their offsets in <paramref name="pagesPath"/>); returns the bytes written.</summary>
    public static ulong Write(int pid, string pagesPath, IReadOnlyList<PageRun> runs)
    {
        if (runs.Count == 0)
            return 0;
        using var file = MemoryMappedFile.CreateFromFile(pagesPath, FileMode.Open, null, 0, MemoryMappedFileAccess.Read);
        using var view = file.CreateViewAccessor(0, 0, MemoryMappedFileAccess.Read);
        byte* basePointer = null;
        view.SafeMemoryMappedViewHandle.AcquirePointer(ref basePointer);
        try
        {
            basePointer += view.PointerOffset;
            var local = new IoVec[IovMax];
            var remote = new IoVec[IovMax];
            ulong total = 0;
            int count = 0;
            foreach (var run in runs)
            {
                for (ulong done = 0; done < run.Length; done += MaxPiece)
                {
                    ulong length = Math.Min(MaxPiece, run.Length - done);
                    local[count] = new IoVec { Base = (nint)(basePointer + run.FileOffset + (long)done), Length = (nuint)length };
                    remote[count] = new IoVec { Base = (nint)(run.Address + done), Length = (nuint)length };
                    if (++count == IovMax)
                    {
                        total += Flush(pid, local, remote, count);
                        count = 0;
                    }
                }
            }
            total += Flush(pid, local, remote, count);
            return total;
        }
        finally
        {
            view.SafeMemoryMappedViewHandle.ReleasePointer();
        }
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
