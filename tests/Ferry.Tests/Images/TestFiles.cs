namespace Ferry.Tests.Images;

/// <summary>Unix modes of test files.</summary>
internal static class FileModes
{
    public static UnixFileMode Of(string path) =>
        OperatingSystem.IsWindows() ? throw new PlatformNotSupportedException() : File.GetUnixFileMode(path);

    public static void Set(string path, UnixFileMode mode)
    {
        if (OperatingSystem.IsWindows())
            throw new PlatformNotSupportedException();
        File.SetUnixFileMode(path, mode);
    }
}

/// <summary>A fresh directory under /tmp, deleted afterwards.</summary>
internal sealed class TempDirectory : IDisposable
{
    public string Path { get; } = Directory.CreateTempSubdirectory("ferry-test-").FullName;

    public void Dispose() => Directory.Delete(Path, recursive: true);
}
