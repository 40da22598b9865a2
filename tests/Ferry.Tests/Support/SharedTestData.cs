namespace Ferry.Tests.Support;

/// <summary>
/// Finds the team's shared folder (CRIU-made image sets) beside the repository: `../shared` from the repo root,
/// or any ancestor's `shared/`, or $FERRY_SHARED. Tests that need it skip, saying so, when it is absent.
/// </summary>
public static class SharedTestData
{
    public static string? Root { get; } = Locate();

    public static string Criu42 => Path.Combine(Root ?? throw new InvalidOperationException(MissingReason), "testdata", "criu-4.2");

    public const string MissingReason = "the shared/ folder with CRIU 4.2 test vectors is not beside this clone (set FERRY_SHARED to point at it)";

    static string? Locate()
    {
        var fromEnv = Environment.GetEnvironmentVariable("FERRY_SHARED");
        if (!string.IsNullOrEmpty(fromEnv) && Directory.Exists(Path.Combine(fromEnv, "testdata")))
            return fromEnv;
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir != null; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, "shared");
            if (Directory.Exists(Path.Combine(candidate, "testdata", "criu-4.2")))
                return candidate;
        }
        return null;
    }
}
