using Ferry.IntegrationTests.Support;
using Xunit;

namespace Ferry.IntegrationTests.Restore;

/// <summary>`ferry restore --pidns new`: a tree whose PIDs are taken here comes back in a fresh pid namespace, keeping them inside.</summary>
[Collection(RestoreCollection.Name)]
public class PidNamespaceRestoreTests
{
    [CriuVectorFact]
    public void A_tree_whose_pids_are_taken_is_refused_naming_every_holder_and_restores_with_pidns_new()
    {
        using var vector = CriuVector.Prepare("pipe-tree");
        using var parentHolder = RestoreFailureTests.HoldPid(30400);
        using var childHolder = RestoreFailureTests.HoldPid(30401);

        var refused = FerryBinary.Run("restore", "-D", vector.Images, "-d");
        Assert.Equal(1, refused.ExitCode);
        var line = Assert.Single(refused.StdErr.TrimEnd('\n').Split('\n'));
        Assert.Contains("2 PIDs are taken: 30400 by pid 30400 (comm 'sleep'", line);
        Assert.Contains("30401 by pid 30401 (comm 'sleep'", line);
        Assert.Contains("--pidns new", line);

        var restore = FerryBinary.Run("restore", "-D", vector.Images, "-d", "--pidns", "new", "-v4", "-o", "restore.log");
        Assert.True(restore.ExitCode == 0, $"ferry restore --pidns new failed: {restore.StdErr}");
        var here = restore.StdOut.Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(l => l.Split(' ')).ToDictionary(w => int.Parse(w[1]), w => int.Parse(w[^2]));
        Assert.Equal([30400, 30401], here.Keys.Order());
        Assert.EndsWith("\t30400", NsPid(here[30400]));
        Assert.EndsWith("\t30401", NsPid(here[30401]));

        // The program's own check: the child's getppid() is still 30400, the pipe still holds the payload.
        var (exitCode, output) = vector.Check(here[30400]);
        Assert.True(exitCode == 0, output);
        Assert.Contains("check.sh: PASS", output);
        Assert.True(CriuVector.IsAlive(parentHolder.Pid) && CriuVector.IsAlive(childHolder.Pid), "a holder of the PIDs was harmed");
    }

    static string NsPid(int pid) => File.ReadLines($"/proc/{pid}/status").First(l => l.StartsWith("NSpid:"));
}
