using Ferry.Images.Json;
using Ferry.Tests.Support;
using Xunit;

namespace Ferry.Tests.Json;

/// <summary>`ferry show --summary` tells what crit's explorers (x ps, x fds, x mems) tell about each vector.</summary>
public class ImageSummaryTests
{
    static string Summary(string testCase) => ImageSummary.Describe(Path.Combine(CritVectors.CaseDir(testCase), "images"));

    static string[] CritLines(string testCase, string explorer) =>
        File.ReadAllLines(Path.Combine(CritVectors.CaseDir(testCase), "crit", $"x-{explorer}.txt"));

    /// <summary>The lines of one process's section of the summary.</summary>
    static string[] Section(string summary, string pid)
    {
        var lines = summary.Split('\n');
        var start = Array.FindIndex(lines, l => l.StartsWith($"Process {pid} (", StringComparison.Ordinal));
        Assert.True(start >= 0, $"no section for process {pid}");
        return lines.Skip(start + 1).TakeWhile(l => !l.StartsWith("Process ", StringComparison.Ordinal)).ToArray();
    }

    [SharedDataTheory]
    [MemberData(nameof(CritVectors.AllCases), MemberType = typeof(CritVectors))]
    public void Process_tree_has_crits_pids_groups_sessions_and_comms(string testCase)
    {
        var summary = Summary(testCase).Split('\n');
        foreach (var crit in CritLines(testCase, "ps").Skip(1))
        {
            // crit: PID PGID SID (7 wide each), 3 spaces, indented comm. Ferry adds PPID after PID.
            Assert.Contains(summary, line => line.Length > 14 && line[..7] == crit[..7] && line[14..] == crit[7..]);
        }
    }

    [SharedDataTheory]
    [MemberData(nameof(CritVectors.AllCases), MemberType = typeof(CritVectors))]
    public void Open_files_are_crits_except_that_inet_sockets_are_spelled_out(string testCase)
    {
        var summary = Summary(testCase);
        string[] section = [];
        foreach (var crit in CritLines(testCase, "fds"))
        {
            if (!crit.StartsWith('\t'))
            {
                section = Section(summary, crit);
                continue;
            }
            if (crit.Contains(": INETSK.", StringComparison.Ordinal))
                Assert.Contains(section, line => line.StartsWith(crit[..crit.IndexOf(": ", StringComparison.Ordinal)] + ": tcp ", StringComparison.Ordinal));
            else
                Assert.Contains(crit, section);
        }
    }

    [SharedDataFact]
    public void Tcp_sockets_show_addresses_ports_and_state()
    {
        var summary = Summary("tcp-loopback");
        Assert.Contains("\t      3: tcp 127.0.0.1:47123 LISTEN", Section(summary, "30800"));
        Assert.Contains("\t      4: tcp 127.0.0.1:47123 -> 127.0.0.1:36394 ESTABLISHED", Section(summary, "30800"));
        Assert.Contains("\t      3: tcp 127.0.0.1:36394 -> 127.0.0.1:47123 ESTABLISHED", Section(summary, "30801"));
    }

    [SharedDataTheory]
    [MemberData(nameof(CritVectors.AllCases), MemberType = typeof(CritVectors))]
    public void Memory_maps_have_crits_ranges_protections_and_files(string testCase)
    {
        var summary = Summary(testCase);
        string[] section = [];
        foreach (var crit in CritLines(testCase, "mems"))
        {
            if (!crit.StartsWith('\t'))
            {
                section = Section(summary, crit);
                continue;
            }
            if (crit.StartsWith("\texe", StringComparison.Ordinal))
            {
                Assert.Contains($"  Memory (exe {crit[4..].Trim()})", section);
                continue;
            }
            var rangeAndProt = crit[..40];
            var mapping = crit[40..].TrimStart();
            Assert.Contains(section, line => line.StartsWith(rangeAndProt, StringComparison.Ordinal)
                                             && (mapping.Length == 0 || line.EndsWith("  " + mapping, StringComparison.Ordinal)));
        }
    }

    [SharedDataTheory]
    [MemberData(nameof(CritVectors.AllCases), MemberType = typeof(CritVectors))]
    public void Pages_dumped_add_up_to_the_pages_image(string testCase)
    {
        var images = Path.Combine(CritVectors.CaseDir(testCase), "images");
        var totals = Summary(testCase).Split('\n').Where(l => l.Contains(" pages dumped in ", StringComparison.Ordinal)).ToArray();
        Assert.NotEmpty(totals);
        foreach (var total in totals)
        {
            var words = total.Trim().Split(' ');
            var pages = long.Parse(words[0]);
            Assert.Equal(new FileInfo(Path.Combine(images, words[^1])).Length, pages * 4096);
        }
    }

    [SharedDataFact]
    public void Threads_of_a_process_are_listed()
    {
        Assert.Contains("  threads: 30300 30301 30302 30303", Section(Summary("threads"), "30300"));
    }
}
