using Ferry.Images.Protos;

namespace Ferry.Checkpoint;

/// <summary>Everything collected about one process, ready to be written as its per-process images.</summary>
internal sealed class ProcessImages
{
    /// <summary>The PID inside its pid namespace, which names its images.</summary>
    public required int Pid { get; init; }
    public required task_kobj_ids_entry Ids { get; init; }
    /// <summary>core-TID.img per thread (TIDs inside the pid namespace), leader first.</summary>
    public required List<(int Tid, core_entry Core)> Cores { get; init; }
    public required mm_entry Mm { get; init; }
    public required fs_entry Fs { get; init; }
    /// <summary>fdinfo-FILES_ID.img; null when another process of the tree shares the descriptor table and wrote it.</summary>
    public required List<fdinfo_entry>? Fds { get; init; }
}
