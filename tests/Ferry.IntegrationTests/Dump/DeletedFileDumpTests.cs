using Ferry.IntegrationTests.Support;
using Xunit;

namespace Ferry.IntegrationTests.Dump;

/// <summary>Open files that were deleted: what cannot be saved as a ghost file is refused with one line.</summary>
public sealed class DeletedFileDumpTests
{
    [RootFact]
    public void A_deleted_directory_held_open_is_refused_with_one_line_naming_its_mode()
    {
        using var target = DumpTarget.StartProgram("/bin/sh", "-c", "mkdir gone && exec 3<gone && rmdir gone && echo ready && exec sleep 100");

        var result = target.Dump();

        Assert.Equal(1, result.ExitCode);
        var line = Assert.Single(result.StdErr.TrimEnd('\n').Split('\n'));
        Assert.Contains("deleted file of mode 40755 cannot be saved as a ghost file", line);
        Assert.False(target.Process.HasExited);
        Assert.Equal(0, target.Status().TracerPid);
    }
}
