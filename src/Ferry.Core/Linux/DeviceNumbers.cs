namespace Ferry.Linux;

/// <summary>
/// A device number in its two encodings: glibc's dev_t (stat's st_dev and st_rdev) and the kernel's 12:20 bits
/// (/proc/PID/fdinfo's sdev, CRIU's images).
/// </summary>
public static class DeviceNumbers
{
    public static uint Major(ulong dev) => (uint)(((dev >> 32) & 0xfffff000) | ((dev >> 8) & 0xfff));

    public static uint Minor(ulong dev) => (uint)(((dev >> 12) & 0xffffff00) | (dev & 0xff));

    public static uint Kernel(uint major, uint minor) => major << 20 | minor;

    public static uint KernelMajor(uint kernelDev) => kernelDev >> 20;

    public static uint KernelMinor(uint kernelDev) => kernelDev & 0xfffff;

    /// <summary>glibc's makedev(major, minor).</summary>
    public static ulong User(uint major, uint minor) =>
        (ulong)(minor & 0xff) | ((ulong)(major & 0xfff) << 8) | ((ulong)(minor & ~0xffu) << 12) | ((ulong)(major & ~0xfffu) << 32);
}
