using Ferry.Procfs;
using Xunit;

namespace Ferry.Tests.Procfs;

public class CgroupParserTests
{
    [Fact]
    public void Lines_give_hierarchy_controllers_and_path()
    {
        var lines = ProcCgroup.Parse("12:name=systemd:/user.slice\n4:cpu,cpuacct:/a:b/c\n0::/\n"u8);
        Assert.Equal(
            [new CgroupMembership(12, "name=systemd", "/user.slice"), new CgroupMembership(4, "cpu,cpuacct", "/a:b/c"), new CgroupMembership(0, "", "/")],
            lines);
    }

    [Theory]
    [InlineData("x:cpu:/\n")]
    [InlineData("3:cpu\n")]
    [InlineData("3:cpu:relative\n")]
    public void A_malformed_line_is_refused_with_its_offset(string text)
    {
        var error = Assert.Throws<ProcFormatException>(() => ProcCgroup.Parse(System.Text.Encoding.UTF8.GetBytes("1:pids:/\n" + text)));
        Assert.Equal(9, error.Offset);
    }
}
