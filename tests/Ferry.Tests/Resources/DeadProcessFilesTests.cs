using Ferry.Resources.Files;
using Xunit;

namespace Ferry.Tests.Resources;

public class DeadProcessFilesTests
{
    [Theory]
    [InlineData("/proc/67", 67)]
    [InlineData("/proc/67/mountinfo", 67)]
    [InlineData("/proc/67/task/68", 67)]
    [InlineData("/proc/self", null)]
    [InlineData("/proc/kmsg", null)]
    [InlineData("/proc/0", null)]
    [InlineData("/proc/-1", null)]
    [InlineData("/proc/+7", null)]
    [InlineData("/proc", null)]
    [InlineData("/tmp/proc/67", null)]
    public void TellsThePidOfAProcDirectoryPath(string path, int? pid) => Assert.Equal(pid, DeadProcessFiles.ProcessOf(path));

    [Fact]
    public void A_proc_path_of_a_living_process_is_not_of_a_dead_one_unless_marked_deleted()
    {
        Assert.Null(DeadProcessFiles.DeadProcessOf($"/proc/{Environment.ProcessId}/status", deleted: false));
        Assert.Equal(Environment.ProcessId, DeadProcessFiles.DeadProcessOf($"/proc/{Environment.ProcessId}", deleted: true));
        Assert.Null(DeadProcessFiles.DeadProcessOf("/tmp/x", deleted: true));
    }
}
