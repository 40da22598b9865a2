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
}
