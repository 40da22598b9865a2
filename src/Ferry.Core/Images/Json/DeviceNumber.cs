using System.Globalization;

namespace Ferry.Images.Json;

/// <summary>
/// "major:minor" for device numbers, as crit shows <c>(criu).dev</c> fields (the kernel's internal
/// 12:20-bit packing) and <c>(criu).odev</c> fields (glibc's dev_t packing, what stat() returns).
/// </summary>
public static class DeviceNumber
{
    const int KernelMinorBits = 20;

    public static string Format(Int128 value, bool userSpaceEncoding)
    {
        Int128 major, minor;
        if (userSpaceEncoding)
        {
            var dev = (ulong)(value & ulong.MaxValue);
            major = ((dev >> 8) & 0xfff) | ((dev >> 32) & ~0xfffUL);
            minor = (dev & 0xff) | ((dev >> 12) & ~0xffUL);
        }
        else
        {
            major = value >> KernelMinorBits;
            minor = value & ((1 << KernelMinorBits) - 1);
        }
        return string.Create(CultureInfo.InvariantCulture, $"{major}:{minor}");
    }

    /// <summary>The packed number for "major:minor", or null when the text is not two integers.</summary>
    public static Int128? Parse(string text, bool userSpaceEncoding)
    {
        var parts = text.Split(':');
        if (parts.Length != 2
            || !long.TryParse(parts[0].Trim(), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var major)
            || !long.TryParse(parts[1].Trim(), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var minor))
            return null;
        if (!userSpaceEncoding) return ((Int128)major << KernelMinorBits) | minor;
        var ma = (ulong)major;
        var mi = (ulong)minor;
        return (mi & 0xff) | ((ma & 0xfff) << 8) | ((mi & ~0xffUL) << 12) | ((ma & ~0xfffUL) << 32);
    }
}
