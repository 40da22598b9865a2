using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;
using Ferry.Diagnostics;
using Ferry.Images.Protos;
using Ferry.Linux;

namespace Ferry.Restore;

/// <summary>
/// Like CRIU, the restored tree lives in a new time namespace whose offsets make CLOCK_MONOTONIC and CLOCK_BOOTTIME
/// continue from their dump-time values (timens-0.img). Without it a program sleeping until an absolute monotonic
/// deadline (Python's time.sleep) would sleep on for as long as the two boots differ.
/// </summary>
public static unsafe class TimeNamespace
{
    const int ClockMonotonic = 1, ClockBoottime = 7;
    const long CloneNewTime = 0x80;

    /// <summary>
    /// Makes every child Ferry starts from now on (the husks) enter a new time namespace with the offsets. Must run on
    /// the main thread: /proc/self/timens_offsets belongs to the thread group leader, and the namespace for children
    /// is per thread, so the husks must be spawned from this thread too.
    /// </summary>
    public static void EnterForChildren(timens_entry clocks, Log log)
    {
        if (LibC.syscall(Sys.gettid, 0, 0, 0, 0, 0, 0) != Environment.ProcessId)
            throw new InvalidOperationException("the time namespace for the restored tree must be prepared on the main thread");
        var (previousMonotonic, previousBoottime) = CurrentOffsets();
        if (LibC.syscall(Sys.unshare, CloneNewTime, 0, 0, 0, 0, 0) < 0)
            throw new FerryException($"cannot create a time namespace: {Errno.Name(Marshal.GetLastPInvokeError())}");
        var text = new StringBuilder();
        text.Append(Offset(ClockMonotonic, clocks.Monotonic, previousMonotonic, log));
        text.Append(Offset(ClockBoottime, clocks.Boottime, previousBoottime, log));
        try
        {
            File.WriteAllText("/proc/self/timens_offsets", text.ToString());
        }
        catch (IOException e)
        {
            throw new FerryException($"cannot set the clock offsets of the restored tree's time namespace: {e.Message}");
        }
    }

    static string Offset(int clock, timespec dumped, long previousNanos, Log log)
    {
        TimeSpec now;
        LibC.syscall(Sys.clock_gettime, clock, (nint)(&now), 0, 0, 0, 0);
        // Our own clock without our own namespace's offset, as the new namespace starts from the host's clock.
        long hostNow = now.tv_sec * 1_000_000_000 + now.tv_nsec - previousNanos;
        long offset = (long)dumped.TvSec * 1_000_000_000 + (long)dumped.TvNsec - hostNow;
        long seconds = Math.DivRem(offset, 1_000_000_000, out long nanos);
        if (nanos < 0) { nanos += 1_000_000_000; seconds--; }
        log.Debug($"timens: clock {clock} offset {seconds} s {nanos} ns");
        return $"{clock} {seconds} {nanos}\n";
    }

    static (long Monotonic, long Boottime) CurrentOffsets()
    {
        long monotonic = 0, boottime = 0;
        foreach (var line in File.ReadLines("/proc/self/timens_offsets"))
        {
            var fields = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (fields.Length != 3) continue;
            long nanos = long.Parse(fields[1], CultureInfo.InvariantCulture) * 1_000_000_000 + long.Parse(fields[2], CultureInfo.InvariantCulture);
            if (fields[0] == "monotonic") monotonic = nanos;
            else if (fields[0] == "boottime") boottime = nanos;
        }
        return (monotonic, boottime);
    }
}
