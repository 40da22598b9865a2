using Ferry.IntegrationTests.Support;
using Xunit;

namespace Ferry.IntegrationTests.Dump;

/// <summary>Open files that were deleted are saved as ghost files, directories too (as CRIU: an entry without contents).</summary>
public sealed class DeletedFileDumpTests
{
    [RootFact]
    public void A_deleted_directory_held_open_is_saved_as_a_ghost_directory()
    {
        using var target = DumpTarget.StartProgram("/bin/sh", "-c", "mkdir gone && exec 3<gone && rmdir gone && echo ready && exec sleep 100");

        var result = target.Dump();

        Assert.True(result.ExitCode == 0, result.StdErr);
        var ghost = Assert.Single(Images.Entries<Ferry.Images.Protos.ghost_file_entry>(target.Image("ghost-file-1.img")));
        Assert.Equal(Convert.ToUInt32("40755", 8), ghost.Mode);
        Assert.False(ghost.Chunks);
        var remap = Assert.Single(Images.Entries<Ferry.Images.Protos.remap_file_path_entry>(target.Image("remap-fpath.img")));
        Assert.Equal(Ferry.Images.Protos.remap_type.Ghost, remap.RemapType);
    }
}
