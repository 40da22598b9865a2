using Ferry.Tests.Support;
using Xunit;

namespace Ferry.Tests.Json;

/// <summary>The CRIU 4.2 test vectors that have crit's JSON: every (case, image name) pair, for theories.</summary>
public static class CritVectors
{
    public static string CaseDir(string testCase) => Path.Combine(SharedTestData.Criu42, testCase);

    public static string ImagePath(string testCase, string image) => Path.Combine(CaseDir(testCase), "images", image);

    public static string CritJsonPath(string testCase, string image) => Path.Combine(CaseDir(testCase), "crit", image + ".json");

    /// <summary>One row per crit/NAME.json of every case; empty when the shared data is absent (the theory then skips).</summary>
    public static TheoryData<string, string> AllImages()
    {
        var data = new TheoryData<string, string>();
        if (SharedTestData.Root is null) return data;
        foreach (var caseDir in Directory.GetDirectories(SharedTestData.Criu42).Order(StringComparer.Ordinal))
        {
            var crit = Path.Combine(caseDir, "crit");
            if (!Directory.Exists(crit)) continue;
            foreach (var json in Directory.GetFiles(crit, "*.json").Order(StringComparer.Ordinal))
                data.Add(Path.GetFileName(caseDir), Path.GetFileNameWithoutExtension(json));
        }
        return data;
    }

    public static TheoryData<string> AllCases()
    {
        var data = new TheoryData<string>();
        if (SharedTestData.Root is null) return data;
        foreach (var caseDir in Directory.GetDirectories(SharedTestData.Criu42).Order(StringComparer.Ordinal))
            if (Directory.Exists(Path.Combine(caseDir, "crit"))) data.Add(Path.GetFileName(caseDir));
        return data;
    }
}
