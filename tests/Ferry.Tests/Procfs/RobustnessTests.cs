using Ferry.Procfs;
using Xunit;

namespace Ferry.Tests.Procfs;

/// <summary>Mangled /proc text must give a result or a ProcFormatException, never another exception.</summary>
public class RobustnessTests
{
    public static TheoryData<string> Files => ["maps", "smaps", "status", "stat", "limits", "mountinfo", "timers", "fdinfo/0"];

    [Theory]
    [MemberData(nameof(Files))]
    public void MutatedRealFilesOnlyEverThrowProcFormatException(string name)
    {
        byte[] original = ProcFile.ReadAllBytes(Environment.ProcessId, name);
        if (name == "timers" && original.Length == 0)
            original = "ID: 0\nsignal: 14/0000000000000000\nnotify: signal/pid.1234\nClockID: 1\n"u8.ToArray();
        var parse = Parser(name);
        Assert.Null(Record.Exception(() => parse(original)));
        var random = new Random(name.GetHashCode() ^ 12345);
        byte[] alphabet = " \t\n:-()[]/0123456789abcdefxXuz\\"u8.ToArray();
        int rounds = original.Length > 20000 ? 200 : 2000; // keep the big files (smaps of .NET) fast
        for (int round = 0; round < rounds; round++)
        {
            byte[] text = Mutate(original, random, alphabet);
            var e = Record.Exception(() => parse(text));
            if (e is not null and not ProcFormatException)
                Assert.Fail($"{name} round {round}: {e.GetType().Name}: {e.Message}\n{System.Text.Encoding.UTF8.GetString(text)}");
        }
    }

    static byte[] Mutate(byte[] original, Random random, byte[] alphabet)
    {
        var bytes = new List<byte>(original);
        int edits = random.Next(1, 6);
        for (int i = 0; i < edits && bytes.Count > 0; i++)
        {
            int at = random.Next(bytes.Count);
            switch (random.Next(4))
            {
                case 0: bytes[at] = alphabet[random.Next(alphabet.Length)]; break;
                case 1: bytes.RemoveAt(at); break;
                case 2: bytes.Insert(at, alphabet[random.Next(alphabet.Length)]); break;
                default: bytes.RemoveRange(at, bytes.Count - at); break; // truncate
            }
        }
        return bytes.ToArray();
    }

    static Action<byte[]> Parser(string name) => name switch
    {
        "maps" => t => ProcMaps.Parse(t),
        "smaps" => t => ProcSmaps.Parse(t),
        "status" => t => ProcStatusFile.Parse(t),
        "stat" => t => ProcStatFile.Parse(t),
        "limits" => t => ProcLimits.Parse(t),
        "mountinfo" => t => ProcMountInfo.Parse(t),
        "timers" => t => ProcTimers.Parse(t),
        _ => t => ProcFdInfo.Parse(t),
    };

    [Fact]
    public void EmptyInputIsHandled()
    {
        Assert.Empty(ProcMaps.Parse([]));
        Assert.Empty(ProcSmaps.Parse([]));
        Assert.Empty(ProcMountInfo.Parse([]));
        Assert.Empty(ProcTimers.Parse([]));
        Assert.Equal(0, ProcStatusFile.Parse([]).Pid);
        Assert.Throws<ProcFormatException>(() => ProcStatFile.Parse([]));
        Assert.Throws<ProcFormatException>(() => ProcLimits.Parse([]));
    }
}
