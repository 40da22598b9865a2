namespace Ferry.Diagnostics;

/// <summary>
/// CRIU-style leveled log: 0 none, 1 errors, 2 warnings, 3 info, 4 debug. Writes to a file when one is given,
/// else warnings and errors go to stderr. Thread-safe; one line per call with a timestamp relative to start.
/// </summary>
public sealed class Log : IDisposable
{
    public static Log Quiet { get; } = new(null, 0);

    readonly TextWriter? _file;
    readonly int _level;
    readonly long _start = System.Diagnostics.Stopwatch.GetTimestamp();
    readonly Lock _gate = new();

    public Log(string? path, int level)
    {
        _level = level;
        if (path is not null)
            _file = new StreamWriter(new FileStream(path, new FileStreamOptions
            {
                Mode = FileMode.Create, Access = FileAccess.Write, Share = FileShare.Read,
                UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite,
            })) { AutoFlush = true };
    }

    public void Error(string message) => Write(1, "Error", message);
    public void Warn(string message) => Write(2, "Warn", message);
    public void Info(string message) => Write(3, "Info", message);
    public void Debug(string message) => Write(4, "Debug", message);

    public bool IsDebug => _level >= 4;

    void Write(int level, string tag, string message)
    {
        if (level > _level) return;
        var elapsed = System.Diagnostics.Stopwatch.GetElapsedTime(_start).TotalSeconds;
        var line = $"({elapsed,10:F6}) {tag}: {message}";
        lock (_gate)
        {
            if (_file is not null) _file.WriteLine(line);
            else if (level <= 2) Console.Error.WriteLine(line);
        }
    }

    public void Dispose() => _file?.Dispose();
}
