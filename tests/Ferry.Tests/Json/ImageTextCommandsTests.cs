using System.Text;
using Ferry.Images.Json;
using Ferry.Tests.Support;
using Xunit;

namespace Ferry.Tests.Json;

/// <summary>`ferry show` and `ferry encode` run in-process: their output, exit codes and one-line errors.</summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public sealed class ImageTextCommandsTests : IDisposable
{
    readonly DirectoryInfo scratch = Directory.CreateTempSubdirectory("ferry-json-");

    public void Dispose() => scratch.Delete(recursive: true);

    string Scratch(string name) => Path.Combine(scratch.FullName, name);

    static (int Code, string Output, string Error) Show(string path, bool summary = false)
    {
        var output = new StringWriter();
        var error = new StringWriter();
        var code = ImageTextCommands.Show(path, summary, output, error);
        return (code, output.ToString(), error.ToString());
    }

    static (int Code, byte[] Output, string Error) Encode(string input, string output, byte[]? stdin = null)
    {
        using var stdout = new MemoryStream();
        var error = new StringWriter();
        var code = ImageTextCommands.Encode(input, output, new MemoryStream(stdin ?? []), stdout, error);
        return (code, stdout.ToArray(), error.ToString());
    }

    static void AssertOneLineError(string error, params string[] fragments)
    {
        Assert.StartsWith("ferry: ", error);
        Assert.Single(error.TrimEnd('\n').Split('\n'));
        foreach (var fragment in fragments) Assert.Contains(fragment, error);
        Assert.DoesNotContain("   at ", error);
    }

    [SharedDataFact]
    public void Show_of_a_file_is_crits_text()
    {
        var (code, output, error) = Show(CritVectors.ImagePath("signals", "core-30500.img"));
        Assert.Equal((0, ""), (code, error));
        Assert.Equal(File.ReadAllText(CritVectors.CritJsonPath("signals", "core-30500.img")), output);
    }

    [SharedDataFact]
    public void Show_of_a_directory_is_every_image_in_name_order_without_pages_or_logs()
    {
        var images = Path.Combine(CritVectors.CaseDir("counter-static"), "images");
        var (code, output, error) = Show(images);
        Assert.Equal((0, ""), (code, error));
        var expected = new StringBuilder();
        foreach (var json in Directory.GetFiles(Path.Combine(CritVectors.CaseDir("counter-static"), "crit"), "*.json").Order(StringComparer.Ordinal))
        {
            var name = Path.GetFileNameWithoutExtension(json);
            expected.Append($"==> {name} <==\n").Append(File.ReadAllText(json));
        }
        Assert.Equal(expected.ToString(), output);
    }

    [SharedDataFact]
    public void Summary_of_a_file_is_a_usage_error()
    {
        var (code, _, error) = Show(CritVectors.ImagePath("signals", "core-30500.img"), summary: true);
        Assert.Equal(ImageTextCommands.UsageError, code);
        AssertOneLineError(error, "core-30500.img", "--summary");
    }

    [Fact]
    public void Show_of_a_missing_file_says_so()
    {
        var (code, _, error) = Show(Scratch("absent.img"));
        Assert.Equal(ImageTextCommands.BadInput, code);
        AssertOneLineError(error, "absent.img", "readable");
    }

    [SharedDataFact]
    public void Show_of_a_truncated_image_names_file_and_offset()
    {
        var original = File.ReadAllBytes(CritVectors.ImagePath("signals", "core-30500.img"));
        File.WriteAllBytes(Scratch("core-1.img"), original[..(original.Length / 2)]);
        var (code, output, error) = Show(Scratch("core-1.img"));
        Assert.Equal(ImageTextCommands.BadInput, code);
        Assert.Equal("", output);
        AssertOneLineError(error, "core-1.img", "at byte 8", "bytes");
    }

    [SharedDataFact]
    public void Show_of_a_directory_reports_a_bad_image_and_shows_the_rest()
    {
        foreach (var name in new[] { "pstree.img", "fs-30500.img" })
            File.Copy(CritVectors.ImagePath("signals", name), Scratch(name));
        File.WriteAllBytes(Scratch("ids-30500.img"), File.ReadAllBytes(CritVectors.ImagePath("signals", "ids-30500.img"))[..10]);
        var (code, output, error) = Show(scratch.FullName);
        Assert.Equal(ImageTextCommands.BadInput, code);
        AssertOneLineError(error, "ids-30500.img");
        Assert.Contains("==> fs-30500.img <==", output);
        Assert.Contains("==> pstree.img <==", output);
    }

    [Fact]
    public void Summary_of_a_directory_without_pstree_says_so()
    {
        var (code, _, error) = Show(scratch.FullName, summary: true);
        Assert.Equal(ImageTextCommands.BadInput, code);
        AssertOneLineError(error, "pstree.img");
    }

    [Fact]
    public void Summary_of_a_pstree_with_a_pid_twice_says_so()
    {
        File.WriteAllBytes(Scratch("pstree.img"), SpecialImagesTests.Encode(
            """{"magic": "PSTREE", "entries": [{"pid": 5, "ppid": 0, "pgid": 5, "sid": 5}, {"pid": 5, "ppid": 0, "pgid": 5, "sid": 5}]}"""));
        var (code, _, error) = Show(scratch.FullName, summary: true);
        Assert.Equal(ImageTextCommands.BadInput, code);
        AssertOneLineError(error, "pstree.img", "5 twice");
    }

    [Fact]
    public void Summary_says_which_images_of_a_process_are_missing()
    {
        File.WriteAllBytes(Scratch("pstree.img"), SpecialImagesTests.Encode(
            """{"magic": "PSTREE", "entries": [{"pid": 5, "ppid": 1, "pgid": 5, "sid": 5}, {"pid": 6, "ppid": 5, "pgid": 5, "sid": 5}]}"""));
        var (code, output, error) = Show(scratch.FullName, summary: true);
        Assert.Equal((0, ""), (code, error));
        Assert.Contains("      5      1      5      5   ?\n      6      5      5      5       ?\n", output);
        Assert.Contains("Process 6 (?)\n  Files\n\t(no ids image)\n  Memory: no mm image\n", output);
    }

    [SharedDataFact]
    public void Encode_from_file_to_file_gives_the_original_image()
    {
        var (code, _, error) = Encode(CritVectors.CritJsonPath("unix-socketpair", "sk-queues.img"), Scratch("sk-queues.img"));
        Assert.Equal((0, ""), (code, error));
        Assert.Equal(File.ReadAllBytes(CritVectors.ImagePath("unix-socketpair", "sk-queues.img")), File.ReadAllBytes(Scratch("sk-queues.img")));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(Scratch("sk-queues.img")));
    }

    [SharedDataFact]
    public void Encode_from_stdin_to_stdout()
    {
        var json = File.ReadAllBytes(CritVectors.CritJsonPath("tcp-loopback", "tcp-stream-27b27b.img"));
        var (code, output, error) = Encode("-", "-", json);
        Assert.Equal((0, ""), (code, error));
        Assert.Equal(File.ReadAllBytes(CritVectors.ImagePath("tcp-loopback", "tcp-stream-27b27b.img")), output);
    }

    public static TheoryData<string, string[]> BadJson() => new()
    {
        { "{\"magic\": \"CORE\",\n \"entries\": [1,]}", ["<stdin>", "line 2, byte", "valid JSON"] },
        { "[]", ["top level", "an object"] },
        { "{\"magic\": \"PSTREE\", \"magic\": \"CORE\", \"entries\": []}", ["valid JSON", "Duplicate property 'magic'"] },
        { "{\"magic\": \"PS\u00ff\", \"entries\": []}", ["magic", "known image magic"] },
        { "{\"entries\": []}", ["magic", "image magic name"] },
        { "{\"magic\": \"NOPE\", \"entries\": []}", ["magic", "known image magic", "NOPE"] },
        { "{\"magic\": \"PSTREE\"}", ["entries", "a list"] },
        { "{\"magic\": \"PSTREE\", \"entries\": [{\"pid\": 1, \"ppid\": 0, \"pgid\": 1, \"sid\": 1, \"bogus\": 2}]}", ["entries[0].bogus", "field of pstree_entry"] },
        { "{\"magic\": \"PSTREE\", \"entries\": [{\"pid\": 1, \"ppid\": 0, \"pgid\": 1}]}", ["entries[0]", "required field sid"] },
        { "{\"magic\": \"PSTREE\", \"entries\": [{\"pid\": -1, \"ppid\": 0, \"pgid\": 1, \"sid\": 1}]}", ["entries[0].pid", "32-bit unsigned"] },
        { "{\"magic\": \"PSTREE\", \"entries\": [{\"pid\": \"0xzz\", \"ppid\": 0, \"pgid\": 1, \"sid\": 1}]}", ["entries[0].pid", "an integer", "0xzz"] },
        { "{\"magic\": \"PSTREE\", \"entries\": [{\"pid\": 1, \"ppid\": 0, \"pgid\": 1, \"sid\": 1, \"threads\": 5}]}", ["entries[0].threads", "a list"] },
        { "{\"magic\": \"INVENTORY\", \"entries\": [{\"img_version\": 2, \"lsmtype\": \"NOPE\"}]}", ["entries[0].lsmtype", "NO_LSM"] },
        { "{\"magic\": \"PIPES_DATA\", \"entries\": [{\"pipe_id\": 1, \"bytes\": 3, \"extra\": \"YQ==\\n\"}]}", ["entries[0].extra", "3 bytes", "got 1"] },
        { "{\"magic\": \"PIPES_DATA\", \"entries\": [{\"pipe_id\": 1, \"bytes\": 1, \"extra\": \"Y\"}]}", ["entries[0].extra", "base64"] },
        { "{\"magic\": \"TCP_STREAM\", \"entries\": [{\"inq_len\": 1, \"inq_seq\": 0, \"outq_len\": 0, \"outq_seq\": 0, \"opt_mask\": 0, \"snd_wscale\": 0, \"mss_clamp\": 0}]}", ["entries[0].extra", "1 bytes"] },
        { "{\"magic\": \"VMAS\", \"entries\": [{\"start\": 0, \"end\": 0, \"pgoff\": 0, \"shmid\": 0, \"prot\": \"PROT_FLY\", \"flags\": 0, \"status\": 0, \"fd\": 0}]}", ["entries[0].prot", "flag names", "PROT_READ"] },
        { "{\"magic\": \"INETSK\", \"entries\": [{\"src_addr\": [\"300.1.1.1\"]}]}", ["entries[0].src_addr[0]", "IPv4 or IPv6"] },
    };

    [Theory]
    [MemberData(nameof(BadJson))]
    public void Bad_json_is_one_line_naming_where_and_what(string json, string[] fragments)
    {
        var (code, output, error) = Encode("-", Scratch("out.img"), Encoding.UTF8.GetBytes(json));
        Assert.Equal(ImageTextCommands.BadInput, code);
        Assert.Empty(output);
        Assert.False(File.Exists(Scratch("out.img")), "nothing may be written for bad input");
        AssertOneLineError(error, fragments);
    }

    [Fact]
    public void Json_that_is_not_utf8_is_refused()
    {
        var (code, _, error) = Encode("-", "-", [(byte)'"', 0xff, 0xfe, (byte)'"']);
        Assert.Equal(ImageTextCommands.BadInput, code);
        AssertOneLineError(error, "<stdin>: byte 1: expected UTF-8 text");
    }

    [Fact]
    public void Encode_of_a_missing_file_says_so()
    {
        var (code, _, error) = Encode(Scratch("absent.json"), Scratch("out.img"));
        Assert.Equal(ImageTextCommands.BadInput, code);
        AssertOneLineError(error, "absent.json", "readable");
    }
}
