using Ferry.Tests.Support;
using Xunit;

namespace Ferry.Tests.Json;

/// <summary>A fact that needs the published `ferry` binary ($FERRY_BIN, or out/ferry after scripts/build.sh) and the vectors.</summary>
public sealed class FerryBinaryFactAttribute : FactAttribute
{
    public static string? Binary { get; } = Locate();

    public FerryBinaryFactAttribute()
    {
        if (Binary is null) Skip = "the AOT binary is absent: run scripts/build.sh (out/ferry) or set FERRY_BIN";
        else if (SharedTestData.Root is null) Skip = SharedTestData.MissingReason;
    }

    static string? Locate()
    {
        var fromEnv = Environment.GetEnvironmentVariable("FERRY_BIN");
        if (!string.IsNullOrEmpty(fromEnv)) return File.Exists(fromEnv) ? fromEnv : null;
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir != null; dir = dir.Parent)
        {
            if (!File.Exists(Path.Combine(dir.FullName, "Ferry.slnx"))) continue;
            var binary = Path.Combine(dir.FullName, "out", "ferry");
            return File.Exists(binary) ? binary : null;
        }
        return null;
    }
}

/// <summary>The show and encode verbs of the real NativeAOT binary.</summary>
public class FerryBinaryTests
{
    static (int Code, byte[] Output, string Error) Run(byte[]? stdin, params string[] args) =>
        ChildProcess.Run(FerryBinaryFactAttribute.Binary!, args, stdin);

    [FerryBinaryFact]
    public void Show_prints_crits_text()
    {
        var (code, output, error) = Run(null, "show", CritVectors.ImagePath("tcp-loopback", "files.img"));
        Assert.Equal((0, ""), (code, error));
        Assert.Equal(File.ReadAllBytes(CritVectors.CritJsonPath("tcp-loopback", "files.img")), output);
    }

    [FerryBinaryFact]
    public void Encode_through_pipes_gives_the_original_image()
    {
        var json = File.ReadAllBytes(CritVectors.CritJsonPath("pipe-tree", "pipes-data.img"));
        var (code, output, error) = Run(json, "encode", "-i", "-", "-o", "-");
        Assert.Equal((0, ""), (code, error));
        Assert.Equal(File.ReadAllBytes(CritVectors.ImagePath("pipe-tree", "pipes-data.img")), output);
    }

    [FerryBinaryFact]
    public void Summary_lists_the_processes()
    {
        var (code, output, _) = Run(null, "show", "--summary", Path.Combine(CritVectors.CaseDir("pipe-tree"), "images"));
        Assert.Equal(0, code);
        var text = System.Text.Encoding.UTF8.GetString(output);
        Assert.Contains("  30401  30400  30400  30400       pipe-tree\n", text);
    }

    [FerryBinaryFact]
    public void Bad_input_is_one_line_and_exit_code_1()
    {
        var (code, output, error) = Run("{\"magic\": \"CORE\", \"entries\": [{\"mtype\": \"Z80\"}]}"u8.ToArray(), "encode");
        Assert.Equal(1, code);
        Assert.Empty(output);
        Assert.StartsWith("ferry: <stdin>: entries[0].mtype: expected one of", error);
        Assert.Single(error.TrimEnd('\n').Split('\n'));
    }
}
