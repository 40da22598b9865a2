using Ferry.Tests.Support;

namespace Ferry.Tests.Images;

/// <summary>The CRIU-made images of the shared test vectors, as theory data.</summary>
public static class TestVectors
{
    /// <summary>Every protobuf image (all *.img except raw pages, plus stats-dump), as (case, file name).</summary>
    public static IEnumerable<object[]> ProtobufImages() =>
        ImageFiles().Select(path => new object[] { CaseOf(path), Path.GetFileName(path) });

    /// <summary>Every case folder's images/ directory, as (case).</summary>
    public static IEnumerable<object[]> Cases() =>
        CaseDirectories().Select(dir => new object[] { Path.GetFileName(dir) });

    public static string ImagesOf(string caseName) => Path.Combine(SharedTestData.Criu42, caseName, "images");

    public static string PathOf(string caseName, string file) => Path.Combine(ImagesOf(caseName), file);

    public static IEnumerable<string> ImageFiles() =>
        CaseDirectories().SelectMany(dir => Directory.GetFiles(Path.Combine(dir, "images")))
            .Where(path => Path.GetFileName(path) is var name
                && ((name.EndsWith(".img", StringComparison.Ordinal) && !name.StartsWith("pages-", StringComparison.Ordinal))
                    || name == "stats-dump"))
            .Order(StringComparer.Ordinal);

    private static IEnumerable<string> CaseDirectories() =>
        SharedTestData.Root is null
            ? []
            : Directory.GetDirectories(SharedTestData.Criu42)
                .Where(dir => Directory.Exists(Path.Combine(dir, "images")))
                .Order(StringComparer.Ordinal);

    private static string CaseOf(string imagePath) => Path.GetFileName(Path.GetDirectoryName(Path.GetDirectoryName(imagePath)))!;
}
