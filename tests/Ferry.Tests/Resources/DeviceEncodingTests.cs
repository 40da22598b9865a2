using Ferry.Linux;
using Xunit;

namespace Ferry.Tests.Resources;

public class DeviceEncodingTests
{
    [Theory]
    [InlineData(0x801UL, 0x800001u)]            // 8:1, glibc's small encoding
    [InlineData(0x210345UL, 0x10300245u)] // 259:581: glibc splits the minor around the major
    public void St_dev_is_given_in_the_kernels_encoding(ulong userDev, uint kernelDev) =>
        Assert.Equal(kernelDev, new FileStatus { st_dev = userDev }.KernelDev);

    [Theory]
    [InlineData(8u, 1u, 0x801UL)]
    [InlineData(259u, 581u, 0x210345UL)]
    public void Major_and_minor_pack_as_glibcs_makedev_and_back(uint major, uint minor, ulong userDev)
    {
        Assert.Equal(userDev, DeviceNumbers.User(major, minor));
        Assert.Equal((major, minor), (DeviceNumbers.Major(userDev), DeviceNumbers.Minor(userDev)));
        var kernel = DeviceNumbers.Kernel(major, minor);
        Assert.Equal((major, minor), (DeviceNumbers.KernelMajor(kernel), DeviceNumbers.KernelMinor(kernel)));
    }
}
