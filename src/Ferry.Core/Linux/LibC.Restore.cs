using System.Runtime.InteropServices;

namespace Ferry.Linux;

/// <summary>Imports the restore side needs beyond the shared set (kept in its own file to stay out of others' way).</summary>
internal static unsafe partial class LibC
{
    [LibraryImport("libc", SetLastError = true)]
    public static partial int madvise(nint addr, nuint length, int advice);
}
