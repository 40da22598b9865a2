using System.Globalization;

namespace Ferry.Procfs;

/// <summary>
/// One "lock:" line of /proc/PID/fdinfo/N (the kernel's lock_get_status): "1: FLOCK  ADVISORY  WRITE 1234 08:01:5678 0 EOF".
/// </summary>
/// <param name="Kind">POSIX, FLOCK, OFDLCK, LEASE, ...</param>
/// <param name="Type">READ, WRITE or UNLCK</param>
/// <param name="Pid">The process that took the lock (-1 for OFD locks)</param>
/// <param name="End">The last byte locked, or null for "EOF" (to the end of the file, however long it grows)</param>
public sealed record FileLockLine(string Kind, string Type, int Pid, long Start, long? End)
{
    /// <summary>ADVISORY or MANDATORY for locks; a lease's state: ACTIVE, BREAKING (being broken) or BREAKER.</summary>
    public string State { get; init; } = "ADVISORY";

    /// <summary>Parses the value of a "lock:" line; <paramref name="source"/> names the fdinfo file in errors.</summary>
    public static FileLockLine Parse(string value, string source)
    {
        var fields = value.Split([' ', '\t'], StringSplitOptions.RemoveEmptyEntries);
        // id:, kind, ADVISORY, type, pid, maj:min:ino, start, end
        if (fields.Length != 8 || !fields[0].EndsWith(':'))
            throw new ProcFormatException(source, 0, $"a lock line 'ID: KIND ADVISORY TYPE PID DEV:INO START END', found '{value}'");
        if (!int.TryParse(fields[4], CultureInfo.InvariantCulture, out var pid)
            || !long.TryParse(fields[6], CultureInfo.InvariantCulture, out var start))
            throw new ProcFormatException(source, 0, $"a numeric pid and start in the lock line '{value}'");
        long? end = null;
        if (fields[7] != "EOF")
            end = long.TryParse(fields[7], CultureInfo.InvariantCulture, out var last) ? last
                : throw new ProcFormatException(source, 0, $"a numeric end or EOF in the lock line '{value}'");
        return new FileLockLine(fields[1], fields[3], pid, start, end) { State = fields[2] };
    }
}
