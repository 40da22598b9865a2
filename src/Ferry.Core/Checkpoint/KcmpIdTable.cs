using Ferry.Linux;

namespace Ferry.Checkpoint;

/// <summary>
/// Ids of kernel objects that several tasks may share (open file descriptions, address spaces, descriptor tables ...),
/// given as CRIU gives them: the same object gets the same id wherever it is met. Objects are first told apart by a
/// key read from outside (device and inode of a file, or nothing); among objects with one key, kcmp(2) decides. The
/// kernel answers kcmp with an order as well as equality, so each key's objects are kept sorted by that order and a
/// lookup costs O(log n) kcmp calls rather than one per object already seen.
/// </summary>
internal sealed class KcmpIdTable<TKey>(int kcmpType, Func<uint> nextId) where TKey : notnull
{
    readonly Dictionary<TKey, List<Member>> _byKey = new();

    readonly record struct Member(int Pid, int Index, uint Id);

    /// <summary>The id of the object task <paramref name="pid"/> holds (at <paramref name="index"/>, e.g. an fd; 0 for
    /// per-task objects), a new one the first time; Owner is the task it was first met in.</summary>
    public (uint Id, bool IsNew, int Owner) Get(TKey key, int pid, int index = 0)
    {
        if (!_byKey.TryGetValue(key, out var sorted)) _byKey[key] = sorted = new List<Member>(1);
        int low = 0, high = sorted.Count;
        while (low < high)
        {
            var middle = (low + high) / 2;
            var order = Compare(pid, index, sorted[middle]);
            if (order == 0) return (sorted[middle].Id, false, sorted[middle].Pid);
            if (order < 0) high = middle;
            else low = middle + 1;
        }
        var id = nextId();
        sorted.Insert(low, new Member(pid, index, id));
        return (id, true, pid);
    }

    /// <summary>kcmp: 0 the same object, 1 the first sorts before the second, 2 after.</summary>
    int Compare(int pid, int index, Member other)
    {
        var result = LibC.syscall(Sys.kcmp, pid, other.Pid, kcmpType, index, other.Index, 0);
        return result switch
        {
            0 => 0,
            1 => -1,
            2 => 1,
            _ => throw LinuxException.FromLastError($"kcmp(type {kcmpType}) of process {pid} and {other.Pid}", pid),
        };
    }
}
