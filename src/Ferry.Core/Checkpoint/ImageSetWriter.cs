using Ferry.Images;
using Ferry.Images.Protos;

namespace Ferry.Checkpoint;

/// <summary>Writes the per-process and global images of a dump under CRIU's file names (mode 0600).</summary>
internal static class ImageSetWriter
{
    public static void WriteProcess(string dir, ProcessImages p)
    {
        foreach (var (tid, core) in p.Cores)
            ImageWriter.WriteFile(Path.Combine(dir, $"core-{tid}.img"), ImageKinds.Core, [core]);
        ImageWriter.WriteFile(Path.Combine(dir, $"ids-{p.Pid}.img"), ImageKinds.Ids, [p.Ids]);
        ImageWriter.WriteFile(Path.Combine(dir, $"mm-{p.Pid}.img"), ImageKinds.Mm, [p.Mm]);
        ImageWriter.WriteFile(Path.Combine(dir, $"fs-{p.Pid}.img"), ImageKinds.Fs, [p.Fs]);
        if (p.Fds is not null)
            ImageWriter.WriteFile(Path.Combine(dir, $"fdinfo-{p.Ids.FilesId}.img"), ImageKinds.Fdinfo, p.Fds);
    }

    /// <summary>A zombie has only its core image (the task part: state and exit code).</summary>
    public static void WriteZombie(string dir, int pid, core_entry core) =>
        ImageWriter.WriteFile(Path.Combine(dir, $"core-{pid}.img"), ImageKinds.Core, [core]);

    /// <param name="pstree">One entry per process, zombies included, parents before children.</param>
    /// <param name="rootCgroupSet">The cgroup set of the dumping tool, which the cores' cg_set may name.</param>
    public static void WriteTree(string dir, IEnumerable<pstree_entry> pstree, task_kobj_ids_entry rootIds, uint rootCgroupSet)
    {
        ImageWriter.WriteFile(Path.Combine(dir, "pstree.img"), ImageKinds.Pstree, pstree);
        ImageWriter.WriteFile(Path.Combine(dir, "inventory.img"), ImageKinds.Inventory,
        [
            new inventory_entry
            {
                ImgVersion = 2, // CRTOOLS_IMAGES_V1_1: every image but this one starts with the common magic
                FdinfoPerId = true,
                RootIds = rootIds,
                NsPerId = true,
                RootCgSet = rootCgroupSet,
                Lsmtype = lsmtype.NoLsm,
                DumpCriuRunId = Guid.NewGuid().ToString(),
            },
        ]);
    }

    public static void WriteStats(string dir, DumpResult result, TimeSpan freezing, long pagesScanned)
    {
        static uint Micro(TimeSpan t) => (uint)Math.Min(uint.MaxValue, t.Ticks / 10);
        ImageWriter.WriteFile(Path.Combine(dir, "stats-dump"), ImageKinds.Stats,
        [
            new stats_entry
            {
                Dump = new dump_stats_entry
                {
                    FreezingTime = Micro(freezing), FrozenTime = Micro(result.Frozen),
                    MemdumpTime = Micro(result.MemoryWrite), MemwriteTime = Micro(result.MemoryWrite),
                    PagesScanned = (ulong)pagesScanned, PagesSkippedParent = 0, PagesWritten = (ulong)result.PagesWritten,
                    PagesLazy = 0,
                    // CRIU always writes the shared-memory counters; zdtm adds shpages_written to pages_written.
                    ShpagesScanned = (ulong)result.SharedPagesWritten, ShpagesSkippedParent = 0, ShpagesWritten = (ulong)result.SharedPagesWritten,
                },
            },
        ]);
    }
}
