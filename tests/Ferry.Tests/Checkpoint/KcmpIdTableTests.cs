using Ferry.Checkpoint;
using Ferry.Linux;
using Xunit;

namespace Ferry.Tests.Checkpoint;

/// <summary>
/// The kcmp-ordered id table on this process's own descriptors (kcmp on oneself needs no privilege): separate opens of
/// one file are separate descriptions, dups share their original's, whatever order they are met in.
/// </summary>
public sealed class KcmpIdTableTests
{
    [Fact]
    public void Dups_share_their_original_s_id_and_separate_opens_get_their_own_in_any_order()
    {
        var originals = new List<int>();
        var dups = new List<(int Dup, int Original)>();
        try
        {
            for (var i = 0; i < 40; i++)
            {
                var fd = LibC.open_fd("/dev/null", OpenFlags.O_RDONLY | OpenFlags.O_CLOEXEC, 0);
                Assert.True(fd >= 0);
                originals.Add(fd);
            }
            foreach (var original in originals.Where((_, i) => i % 3 == 0))
            {
                var dup = FileCalls.fcntl(original, OpenFlags.F_DUPFD_CLOEXEC, 0);
                Assert.True(dup >= 0);
                dups.Add((dup, original));
            }
            var pid = Environment.ProcessId;
            uint next = 1;
            var table = new KcmpIdTable<int>(Kcmp.KCMP_FILE, () => next++);
            var order = originals.Concat(dups.Select(d => d.Dup)).OrderBy(fd => (fd * 7919) % 101).ToList();
            var ids = new Dictionary<int, (uint Id, bool IsNew)>();
            foreach (var fd in order)
            {
                var (id, isNew, _) = table.Get(0, pid, fd);
                ids[fd] = (id, isNew);
            }

            Assert.Equal(originals.Count, originals.Select(fd => ids[fd].Id).Distinct().Count());
            Assert.All(dups, d => Assert.Equal(ids[d.Original].Id, ids[d.Dup].Id));
            Assert.Equal(originals.Count, ids.Values.Count(v => v.IsNew)); // one new id per description
            Assert.Equal((uint)originals.Count + 1, next);
        }
        finally
        {
            foreach (var fd in originals.Concat(dups.Select(d => d.Dup))) LibC.close(fd);
        }
    }

    [Fact]
    public void Objects_under_different_keys_are_never_compared()
    {
        uint next = 1;
        var table = new KcmpIdTable<string>(Kcmp.KCMP_VM, () => next++);
        var pid = Environment.ProcessId;
        // One address space, but the keys say they differ: the key decides first.
        Assert.Equal((1u, true), Take(table.Get("a", pid)));
        Assert.Equal((2u, true), Take(table.Get("b", pid)));
        Assert.Equal((1u, false), Take(table.Get("a", pid)));
    }

    static (uint, bool) Take((uint Id, bool IsNew, int Owner) result) => (result.Id, result.IsNew);
}
