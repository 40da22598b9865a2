using System.Runtime.InteropServices;

namespace Ferry.Linux;

/// <summary>A NULL-terminated array of UTF-8 C strings (argv, envp) in native memory.</summary>
internal static unsafe class CStringArray
{
    public static byte** Allocate(IReadOnlyList<string> strings)
    {
        var array = (byte**)NativeMemory.AllocZeroed((nuint)(strings.Count + 1), (nuint)sizeof(byte*));
        for (int i = 0; i < strings.Count; i++) array[i] = (byte*)Marshal.StringToCoTaskMemUTF8(strings[i]);
        return array;
    }

    public static void Free(byte** array)
    {
        for (var p = array; *p != null; p++) Marshal.FreeCoTaskMem((nint)(*p));
        NativeMemory.Free(array);
    }
}
