using Ferry.Checkpoint;
using Ferry.Diagnostics;
using Ferry.Images;
using Ferry.Images.Protos;
using Ferry.Linux;
using Ferry.Procfs;
using Google.Protobuf;

namespace Ferry.Resources.Ipc;

/// <summary>
/// The IPC namespace of a dumped tree, as CRIU takes it: when the root lives in another IPC namespace than Ferry, the
/// whole namespace is dumped (ipcns-var/shm/msg/sem-ID.img, ID = the root's ipc_ns_id) and a restore recreates it with
/// every object under its id and key; every other process of the tree must share the root's namespace (CRIU: "Can't
/// dump nested ipc namespace"). A tree in Ferry's own namespace keeps using it, so its SysV segments could not come
/// back with their ids: a process with one attached is refused (`ferry run` gives a program a namespace of its own).
/// </summary>
internal static unsafe class IpcNamespaceDumper
{
    const int ChunkBytes = 1 << 20;

    /// <summary>
    /// Before anything is asked of the tree: the id of the IPC namespace to dump, or null when the tree shares Ferry's.
    /// <paramref name="dumper"/> holds Ferry's own namespace ids.
    /// </summary>
    public static uint? Check(IReadOnlyList<CheckedProcess> processes, task_kobj_ids_entry dumper)
    {
        var root = processes[0];
        foreach (var process in processes.Skip(1))
            if (process.Ids.IpcNsId != root.Ids.IpcNsId)
                throw new FerryException($"process {process.Process.Pid} is in another IPC namespace than the root {root.Process.Pid} of its tree "
                    + "(a nested IPC namespace), which ferry cannot checkpoint; the tree was left running untouched");
        if (root.Ids.IpcNsId != dumper.IpcNsId)
            return root.Ids.IpcNsId;
        foreach (var process in processes)
            if (process.Maps.FirstOrDefault(m => m.Path.StartsWith("/SYSV", StringComparison.Ordinal)) is { } segment)
                throw new FerryException($"process {process.Process.Pid} has System V shared memory attached at 0x{segment.Start:x}-0x{segment.End:x} "
                    + "but shares ferry's IPC namespace, so its segments cannot be restored with their ids; start the program with 'ferry run' "
                    + "(an IPC namespace of its own); the tree was left running untouched");
        return null;
    }

    /// <summary>Writes the four images of the namespace <paramref name="rootPid"/> lives in; returns the bytes of segment contents written.</summary>
    public static long WriteImages(int rootPid, uint nsId, string imagesDir, Func<uint> nextPagesId, Log log) =>
        IpcNamespaceThread.Run(rootPid, () =>
        {
            ImageWriter.WriteFile(Path.Combine(imagesDir, ImageNames.IpcVar(nsId)), ImageKinds.IpcVar, [IpcSysctls.Read()]);
            long bytes = WriteSegments(Path.Combine(imagesDir, ImageNames.IpcShm(nsId)), imagesDir, nextPagesId, out int segments);
            int queues = WriteQueues(Path.Combine(imagesDir, ImageNames.IpcMsg(nsId)));
            int sets = WriteSemaphores(Path.Combine(imagesDir, ImageNames.IpcSem(nsId)));
            log.Info($"IPC namespace {nsId}: {segments} shared memory segment(s) ({bytes} bytes of contents), {queues} message queue(s), {sets} semaphore set(s)");
            return bytes;
        });

    static ipc_desc_entry Describe(int id, in Ipc64Perm perm) => new()
    {
        Id = (uint)id, Key = (uint)perm.key, Uid = perm.uid, Gid = perm.gid, Cuid = perm.cuid, Cgid = perm.cgid, Mode = perm.mode,
    };

    /// <summary>Each segment with its contents in pagemap-shmem-ID.img (in_pagemaps, as CRIU 4.x): read through an attach of Ferry's own.</summary>
    static long WriteSegments(string path, string imagesDir, Func<uint> nextPagesId, out int count)
    {
        using var image = ImageWriter.Create(path, ImageKinds.IpcnsShm);
        int max = SysvCalls.Info(Sys.shmctl, SysvIpc.SHM_INFO, out ShmInfo info);
        long bytes = 0;
        count = 0;
        for (int index = 0; index <= max; index++)
        {
            if (SysvCalls.Stat(Sys.shmctl, index, SysvIpc.SHM_STAT, out ShmidDs ds) is not { } id) continue;
            image.Write(new ipc_shm_entry { Desc = Describe(id, ds.shm_perm), Size = ds.shm_segsz, InPagemaps = true });
            bytes += WriteContents(id, ds.shm_segsz, imagesDir, nextPagesId());
            count++;
        }
        if (count != info.used_ids)
            throw new FerryException($"the IPC namespace holds {info.used_ids} shared memory segments but {count} were found");
        return bytes;
    }

    static long WriteContents(int id, ulong size, string imagesDir, uint pagesId)
    {
        ulong pageSize = (ulong)Environment.SystemPageSize;
        ulong mapped = (size + pageSize - 1) / pageSize * pageSize;
        using var writer = new PagesWriter(Path.Combine(imagesDir, ImageNames.ShmemPagemap((ulong)id)),
            Path.Combine(imagesDir, ImageNames.Pages(pagesId)), pagesId);
        nint at = SysvCalls.Attach(id, SysvIpc.SHM_RDONLY);
        try
        {
            if (ProcSmaps.Read(Environment.ProcessId).FirstOrDefault(m => m.Map.Start == (ulong)at) is { } area && (area.Flags & VmFlags.ht) != 0)
                throw new FerryException($"System V shared memory segment {id} uses huge pages (SHM_HUGETLB), which ferry cannot checkpoint yet; the tree was left running untouched");
            for (ulong offset = 0; offset < mapped; offset += ChunkBytes)
            {
                int length = (int)Math.Min(ChunkBytes, mapped - offset);
                writer.AddNonZeroPages(offset, new ReadOnlySpan<byte>((byte*)at + offset, length));
            }
        }
        finally
        {
            SysvCalls.Detach(at);
        }
        writer.Complete();
        return writer.PresentBytes;
    }

    /// <summary>Each queue, followed by copies (MSG_COPY: the queue is left as it is) of its messages, oldest first.</summary>
    static int WriteQueues(string path)
    {
        using var image = ImageWriter.Create(path, ImageKinds.IpcnsMsg);
        int max = SysvCalls.Info(Sys.msgctl, SysvIpc.MSG_INFO, out MsgInfo info);
        var buffer = new byte[8 + ReadMsgMax()];
        Span<byte> length = stackalloc byte[4];
        int count = 0;
        for (int index = 0; index <= max; index++)
        {
            if (SysvCalls.Stat(Sys.msgctl, index, SysvIpc.MSG_STAT, out MsqidDs ds) is not { } id) continue;
            var queue = new ipc_msg_entry { Desc = Describe(id, ds.msg_perm), Qbytes = (uint)ds.msg_qbytes, Qnum = (uint)ds.msg_qnum };
            var messages = new MemoryStream();
            for (int n = 0; n < (int)ds.msg_qnum; n++)
            {
                var (type, size) = SysvCalls.CopyMessage(id, n, buffer);
                var message = new ipc_msg { Mtype = (ulong)type, Msize = (uint)size };
                System.Buffers.Binary.BinaryPrimitives.WriteUInt32LittleEndian(length, (uint)message.CalculateSize());
                messages.Write(length);
                message.WriteTo(messages);
                messages.Write(buffer, 8, size);
                messages.Write(new byte[ExtraPayloadRules.RoundUp((ulong)size, 8) - (ulong)size]);
            }
            image.Write(queue, messages.ToArray());
            count++;
        }
        if (count != info.msgpool)
            throw new FerryException($"the IPC namespace holds {info.msgpool} message queues but {count} were found");
        return count;
    }

    static int ReadMsgMax() => int.Parse(File.ReadAllText("/proc/sys/kernel/msgmax").Trim(), System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>Each semaphore set, followed by its values (u16 each, padded to 8 bytes).</summary>
    static int WriteSemaphores(string path)
    {
        using var image = ImageWriter.Create(path, ImageKinds.IpcnsSem);
        int max = SysvCalls.Info(Sys.semctl, SysvIpc.SEM_INFO, out SemInfo info);
        int count = 0;
        for (int index = 0; index <= max; index++)
        {
            if (SysvCalls.Stat(Sys.semctl, index, SysvIpc.SEM_STAT, out SemidDs ds) is not { } id) continue;
            var values = SysvCalls.SemGetAll(id, (int)ds.sem_nsems);
            var payload = new byte[ExtraPayloadRules.RoundUp(2 * ds.sem_nsems, 8)];
            for (int i = 0; i < values.Length; i++)
                System.Buffers.Binary.BinaryPrimitives.WriteUInt16LittleEndian(payload.AsSpan(2 * i), values[i]);
            image.Write(new ipc_sem_entry { Desc = Describe(id, ds.sem_perm), Nsems = (uint)ds.sem_nsems }, payload);
            count++;
        }
        if (count != info.semusz)
            throw new FerryException($"the IPC namespace holds {info.semusz} semaphore sets but {count} were found");
        return count;
    }
}
