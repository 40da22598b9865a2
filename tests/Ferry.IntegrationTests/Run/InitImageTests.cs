using System.Diagnostics;
using Ferry.Namespaces;
using Xunit;

namespace Ferry.IntegrationTests.Run;

/// <summary>ferry-init is a well-formed one-page static ELF (readelf agrees).</summary>
public sealed class InitImageTests
{
    [Fact]
    public void ImageIsOneStaticPageWithANonExecutableStack()
    {
        byte[] image = InitImage.Build();
        Assert.True(image.Length < 4096);
        string path = Path.Combine(Path.GetTempPath(), $"ferry-init-{Guid.NewGuid():N}");
        try
        {
            File.WriteAllBytes(path, image);
            using var readelf = Process.Start(new ProcessStartInfo("readelf", ["-lhW", path]) { RedirectStandardOutput = true })!;
            string text = readelf.StandardOutput.ReadToEnd();
            readelf.WaitForExit();
            Assert.Contains("EXEC (Executable file)", text);
            Assert.Contains("Entry point address:               0x4000b0", text);
            Assert.Single(text.Split('\n'), l => l.TrimStart().StartsWith("LOAD") && l.Contains("RWE"));
            Assert.Single(text.Split('\n'), l => l.TrimStart().StartsWith("GNU_STACK") && l.Contains("RW "));
            Assert.DoesNotContain("INTERP", text);
        }
        finally { File.Delete(path); }
    }
}
