using System.Diagnostics;

namespace Ferry.IntegrationTests.Support;

/// <summary>Finds the C test programs of tests/targets, building them with make when a binary is missing or stale.</summary>
public static class TestTargets
{
    static readonly Lazy<string> BuildDirectory = new(Build);

    public static string Path(string name)
    {
        var path = System.IO.Path.Combine(BuildDirectory.Value, name);
        if (!File.Exists(path)) throw new FileNotFoundException($"test program {name} was not built by make in {BuildDirectory.Value}", path);
        return path;
    }

    public static string RepositoryRoot { get; } = FindRoot();

    static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir != null; dir = dir.Parent)
            if (File.Exists(System.IO.Path.Combine(dir.FullName, "Ferry.slnx")))
                return dir.FullName;
        throw new InvalidOperationException($"no Ferry.slnx above {AppContext.BaseDirectory}");
    }

    static string Build()
    {
        var targets = System.IO.Path.Combine(RepositoryRoot, "tests", "targets");
        // make is never traced, so System.Diagnostics.Process is fine here.
        using var make = Process.Start(new ProcessStartInfo("make", ["-s", "-C", targets]) { RedirectStandardError = true })!;
        var errors = make.StandardError.ReadToEnd();
        make.WaitForExit();
        if (make.ExitCode != 0) throw new InvalidOperationException($"make -C {targets} failed: {errors}");
        return System.IO.Path.Combine(targets, "build");
    }
}
