using System.CommandLine;

namespace Ferry.Cli;

/// <summary>Options shared by several verbs, spelled as CRIU spells them.</summary>
internal static class CommonOptions
{
    public static Option<DirectoryInfo> ImagesDir() => new("--images-dir", "-D")
    {
        Description = "Directory holding the image files",
        DefaultValueFactory = _ => new DirectoryInfo("."),
    };

    public static Option<FileInfo?> LogFile() => new("--log-file", "-o")
    {
        Description = "Write the log to this file (relative paths are inside --work-dir, or the images directory)",
    };

    public static Option<DirectoryInfo?> WorkDir() => new("--work-dir", "-W")
    {
        Description = "Directory for logs and other non-image output (default: the images directory)",
    };

    public static Option<int> Verbosity() => new("--verbosity")
    {
        Description = "Log level 0-4 (CRIU spellings -v, -vv, -v4 are accepted)",
        DefaultValueFactory = _ => CriuArguments.DefaultVerbosity,
    };

    public static Option<bool> NoDefaultConfig() => new("--no-default-config")
    {
        Description = "Accepted for CRIU compatibility; Ferry reads no configuration files",
    };

    public static Option<bool> ShellJob() => new("--shell-job", "-j")
    {
        Description = "Allow the process tree to be attached to (and restored onto) a terminal session",
    };

    public static Option<bool> TcpEstablished() => new("--tcp-established")
    {
        Description = "Checkpoint/restore established TCP connections with TCP repair",
    };

    public static Option<bool> TcpClose() => new("--tcp-close")
    {
        Description = "Do not keep established TCP connections: they are closed on restore",
    };

    public static Option<int?> Timeout(string description) => new("--timeout")
    {
        Description = description,
        Validators = { result => { if (result.GetValueOrDefault<int?>() <= 0) result.AddError("--timeout: the number of seconds must be above 0"); } },
    };

    public static Option<FileInfo?> PidFile() => new("--pidfile")
    {
        Description = "Write the PID of the root task to this file",
    };
}
