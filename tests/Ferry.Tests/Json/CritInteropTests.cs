using System.Text.Json.Nodes;
using Ferry.Images.Json;
using Ferry.Tests.Support;
using Xunit;

namespace Ferry.Tests.Json;

/// <summary>A theory that is skipped, saying why, when crit is not installed.</summary>
public sealed class CritInstalledTheoryAttribute : TheoryAttribute
{
    public const string Crit = "/usr/bin/crit";

    public CritInstalledTheoryAttribute()
    {
        if (!File.Exists(Crit)) Skip = $"{Crit} is not installed (Debian package criu)";
        else if (SharedTestData.Root is null) Skip = SharedTestData.MissingReason;
    }
}

/// <summary>
/// Images Ferry encodes are read by the installed crit (Debian's 3.17, older than the images) without error, and
/// every value it shows equals Ferry's rendering. crit 3.17 drops fields it does not know; the one field it knows
/// under another name is pagemap_entry field 2 ("nr_pages" then, "compat_nr_pages" since CRIU 4.0).
/// </summary>
public class CritInteropTests
{
    [CritInstalledTheory]
    [MemberData(nameof(CritVectors.AllCases), MemberType = typeof(CritVectors))]
    public void Crit_reads_what_ferry_encodes_from_a_vector(string testCase)
    {
        var images = Directory.GetFiles(Path.Combine(CritVectors.CaseDir(testCase), "crit"), "*.json")
            .Select(Path.GetFileNameWithoutExtension)
            .Select(name => (Name: name!, Json: File.ReadAllText(CritVectors.CritJsonPath(testCase, name!))));
        AssertCritAgrees(images);
    }

    [CritInstalledTheory]
    [MemberData(nameof(SpecialImagesTests.Texts), MemberType = typeof(SpecialImagesTests))]
    public void Crit_reads_what_ferry_encodes_from_crit_form_json(string text) => AssertCritAgrees([("sample.img", text)]);

    static void AssertCritAgrees(IEnumerable<(string Name, string Json)> images)
    {
        var dir = Directory.CreateTempSubdirectory("ferry-crit-");
        try
        {
            var failures = new System.Collections.Concurrent.ConcurrentBag<string>();
            Parallel.ForEach(images, new ParallelOptions { MaxDegreeOfParallelism = 8 }, image =>
            {
                var path = Path.Combine(dir.FullName, image.Name);
                File.WriteAllBytes(path, SpecialImagesTests.Encode(image.Json));
                var (exitCode, output, error) = RunCrit(path);
                if (exitCode != 0)
                {
                    failures.Add($"{image.Name}: crit exit {exitCode}: {error.Trim().Split('\n')[^1]}");
                    return;
                }
                var ferry = ImageJson.DecodeFile(path);
                var magic = ferry["magic"]!.GetValue<string>();
                foreach (var difference in Differences(JsonNode.Parse(output), ferry, magic, ""))
                    failures.Add($"{image.Name}: {difference}");
            });
            Assert.True(failures.IsEmpty, string.Join("\n", failures.Order()));
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    static (int ExitCode, string Output, string Error) RunCrit(string image)
    {
        var (exitCode, output, error) = ChildProcess.Run(CritInstalledTheoryAttribute.Crit, ["decode", "--pretty", "-i", image]);
        return (exitCode, System.Text.Encoding.UTF8.GetString(output), error);
    }

    /// <summary>Every place where crit shows something that Ferry does not show the same way.</summary>
    static IEnumerable<string> Differences(JsonNode? crit, JsonNode? ferry, string magic, string path)
    {
        switch (crit)
        {
            case JsonObject obj:
                if (ferry is not JsonObject ferryObj)
                {
                    yield return $"{path}: crit has an object, Ferry {ferry?.ToJsonString()}";
                    yield break;
                }
                foreach (var (key, value) in obj)
                {
                    var ferryKey = magic == "PAGEMAP" && key == "nr_pages" ? "compat_nr_pages" : key;
                    if (!ferryObj.ContainsKey(ferryKey)) yield return $"{path}.{key}: only crit shows it";
                    else foreach (var d in Differences(value, ferryObj[ferryKey], magic, $"{path}.{key}")) yield return d;
                }
                break;
            case JsonArray array:
                if (ferry is not JsonArray ferryArray || ferryArray.Count != array.Count)
                {
                    yield return $"{path}: crit has {array.Count} items, Ferry {ferry?.ToJsonString()}";
                    yield break;
                }
                for (var i = 0; i < array.Count; i++)
                    foreach (var d in Differences(array[i], ferryArray[i], magic, $"{path}[{i}]")) yield return d;
                break;
            default:
                if (!JsonNode.DeepEquals(crit, ferry)) yield return $"{path}: crit {crit?.ToJsonString()}, Ferry {ferry?.ToJsonString()}";
                break;
        }
    }
}
