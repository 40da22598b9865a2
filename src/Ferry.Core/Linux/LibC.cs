using System.Runtime.InteropServices;

namespace Ferry.Linux;

/// <summary>Thin libc imports: declarations only, no policy.</summary>
internal static partial class LibC
{
    public const int SIGCHLD = 17;
    public static readonly nint SIG_DFL = 0;

    [LibraryImport("libc", SetLastError = true)]
    public static partial nint signal(int signum, nint handler);
}
