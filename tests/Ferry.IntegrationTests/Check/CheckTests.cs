using System.Diagnostics;
using System.Text.Json;
using Ferry.Check;
using Ferry.IntegrationTests.Support;
using Xunit;

namespace Ferry.IntegrationTests.Check;

/// <summary>`ferry check` on the real kernel: every row, the verdict, and nothing left behind.</summary>
public sealed class CheckTests
{
    [RootFact]
    public void Every_feature_is_probed_and_dump_and_restore_can_work_here()
    {
        var before = Leftovers.Snapshot();
        var rows = KernelCheck.Run();

        Assert.Equal(KernelCheck.Features.Select(f => f.Name), rows.Select(r => r.Name));
        Assert.All(rows.Where(r => r.Required), r => Assert.True(r.Ok, $"{r.Name}: {r.Detail}"));
        Assert.True(KernelCheck.CanDumpAndRestore(rows));
        var softDirty = Assert.Single(rows, r => r.Name == "soft-dirty");
        Assert.Equal("MISSING", softDirty.Status); // this kernel is built without CONFIG_MEM_SOFT_DIRTY
        Assert.Contains("no soft-dirty bit", softDirty.Detail);
        // Everything else works on this machine kind (see kernel-facts.md).
        Assert.All(rows.Where(r => r != softDirty), r => Assert.True(r.Ok, $"{r.Name}: {r.Detail}"));
        Assert.Contains(rows, r => r.Name == "userfaultfd" && r.Detail.Contains("WP_ASYNC"));

        Assert.Empty(Leftovers.NewSince(before));
    }

    [RootFact]
    public void A_missing_required_feature_makes_the_verdict_negative()
    {
        var rows = new[]
        {
            KernelCheck.Evaluate(new Feature("works", "x", true, () => "fine")),
            KernelCheck.Evaluate(new Feature("broken", "y", true, () => throw new FeatureMissingException("not here"))),
        };
        Assert.Equal(("OK", "fine"), (rows[0].Status, rows[0].Detail));
        Assert.Equal(("MISSING", "not here"), (rows[1].Status, rows[1].Detail));
        Assert.False(KernelCheck.CanDumpAndRestore(rows));
        var text = new StringWriter();
        CheckReport.WriteText(text, rows);
        Assert.EndsWith($"Dump and restore cannot work: missing broken.{Environment.NewLine}", text.ToString());
    }

    [RootFerryBinaryFact]
    public void The_ferry_binary_prints_json_and_exits_0()
    {
        var before = Leftovers.Snapshot();
        var (exitCode, stdout) = RunFerry("check", "--json");
        Assert.Equal(0, exitCode);
        using var json = JsonDocument.Parse(stdout);
        Assert.True(json.RootElement.GetProperty("canDumpAndRestore").GetBoolean());
        var features = json.RootElement.GetProperty("features").EnumerateArray().ToList();
        Assert.Equal(KernelCheck.Features.Select(f => f.Name), features.Select(f => f.GetProperty("name").GetString()));
        Assert.Equal("MISSING", features.Single(f => f.GetProperty("name").GetString() == "soft-dirty").GetProperty("status").GetString());
        Assert.Empty(Leftovers.NewSince(before));
    }

    [RootFerryBinaryFact]
    public void The_ferry_binary_prints_a_table_with_one_row_per_feature()
    {
        var (exitCode, stdout) = RunFerry("check");
        Assert.Equal(0, exitCode);
        foreach (var feature in KernelCheck.Features)
            Assert.Contains(stdout.Split('\n'), l => l.StartsWith(feature.Name == "soft-dirty" ? "MISSING " : "OK      ") && l.Contains(feature.Name));
        Assert.Contains("Dump and restore can work on this kernel.", stdout);
    }

    [RootFerryBinaryFact]
    public void Without_privileges_the_binary_names_what_is_missing_and_exits_1()
    {
        var (exitCode, stdout) = RunAs("setpriv", ["--reuid=65534", "--regid=65534", "--clear-groups", FerryBinary.Path!, "check", "--json"]);
        Assert.Equal(1, exitCode);
        using var json = JsonDocument.Parse(stdout);
        Assert.False(json.RootElement.GetProperty("canDumpAndRestore").GetBoolean());
        var clone3 = json.RootElement.GetProperty("features").EnumerateArray().Single(f => f.GetProperty("name").GetString() == "clone3 with set_tid");
        Assert.Equal("MISSING", clone3.GetProperty("status").GetString());
        Assert.Contains("EPERM", clone3.GetProperty("detail").GetString());
    }

    static (int ExitCode, string Stdout) RunFerry(params string[] arguments) => RunAs(FerryBinary.Path!, arguments);

    static (int ExitCode, string Stdout) RunAs(string program, string[] arguments)
    {
        // ferry is never traced by the test, so System.Diagnostics.Process is fine.
        var start = new ProcessStartInfo(program) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in arguments) start.ArgumentList.Add(argument);
        using var ferry = Process.Start(start)!;
        var stderr = ferry.StandardError.ReadToEndAsync();
        var stdout = ferry.StandardOutput.ReadToEnd();
        if (!ferry.WaitForExit(TimeSpan.FromSeconds(60))) ferry.Kill();
        Assert.Equal("", stderr.Result);
        return (ferry.ExitCode, stdout);
    }

    /// <summary>What a check could leave behind: helper processes, cgroups, veth links, network namespaces of helpers.</summary>
    static class Leftovers
    {
        public static HashSet<string> Snapshot() => [.. Helpers().Concat(Cgroups()).Concat(Links())];

        /// <summary>What exists now and did not before: tests of other classes run in parallel and may end their own helpers.</summary>
        public static IEnumerable<string> NewSince(HashSet<string> before) => Snapshot().Except(before).Order();

        static IEnumerable<string> Helpers() =>
            Directory.EnumerateDirectories("/proc").Select(Path.GetFileName).Where(n => n!.All(char.IsAsciiDigit))
                .Select(pid => (pid, cmdline: TryRead($"/proc/{pid}/cmdline")))
                .Where(p => p.cmdline == "sleep\0" + "60\0") // the probes' helper: sleep 60
                .Select(p => $"helper process {p.pid}");

        static IEnumerable<string> Cgroups() =>
            new[] { "/sys/fs/cgroup/freezer", "/sys/fs/cgroup/unified", "/sys/fs/cgroup" }.Where(Directory.Exists)
                .SelectMany(root => Directory.EnumerateDirectories(root, "ferry-check-*"))
                .Select(d => $"cgroup {d}");

        static IEnumerable<string> Links() =>
            Directory.EnumerateDirectories("/sys/class/net").Select(Path.GetFileName).Where(n => n!.StartsWith("fck"))
                .Select(n => $"link {n}");

        static string TryRead(string path)
        {
            try { return File.ReadAllText(path); }
            catch (IOException) { return ""; }
        }
    }
}
