using System.CommandLine;
using Ferry.Checkpoint;
using Ferry.Resources.Cgroups;

namespace Ferry.Cli;

/// <summary>
/// The options dump and restore both take, made once per verb (an Option belongs to one command): images and work
/// directories, log file, verbosity, shell job, TCP policy, timeout, cgroup roots and --no-default-config.
/// </summary>
internal sealed class SharedVerbOptions(string timeoutDescription)
{
    public Option<DirectoryInfo> ImagesDir { get; } = CommonOptions.ImagesDir();
    public Option<FileInfo?> LogFile { get; } = CommonOptions.LogFile();
    public Option<DirectoryInfo?> WorkDir { get; } = CommonOptions.WorkDir();
    public Option<int> Verbosity { get; } = CommonOptions.Verbosity();
    public Option<bool> ShellJob { get; } = CommonOptions.ShellJob();
    public Option<int?> Timeout { get; } = CommonOptions.Timeout(timeoutDescription);
    readonly Option<bool> _tcpEstablished = CommonOptions.TcpEstablished();
    readonly Option<bool> _tcpClose = CommonOptions.TcpClose();
    readonly Option<bool> _noDefaultConfig = CommonOptions.NoDefaultConfig();
    readonly Option<string[]> _cgroupRoots = new("--cgroup-root")
    {
        Description = "[CONTROLLER:]/PATH, repeatable: at dump, the cgroup whose subtree is recorded; at restore, the cgroup the dumped one becomes",
        AllowMultipleArgumentsPerToken = false,
    };

    public void AddTo(Command command)
    {
        foreach (Option option in new Option[] { ImagesDir, LogFile, WorkDir, Verbosity, ShellJob, _tcpEstablished, _tcpClose, Timeout, _cgroupRoots, _noDefaultConfig })
            command.Add(option);
    }

    /// <summary>CRIU's rule: --tcp-close drops established connections, --tcp-established keeps them, neither refuses them.</summary>
    public TcpPolicy Tcp(ParseResult parse) =>
        parse.GetValue(_tcpClose) ? TcpPolicy.Close : parse.GetValue(_tcpEstablished) ? TcpPolicy.Repair : TcpPolicy.Refuse;

    /// <summary>The --cgroup-root options given; a malformed one is a one-line error.</summary>
    public IReadOnlyList<CgroupRoot> CgroupRoots(ParseResult parse) =>
        (parse.GetValue(_cgroupRoots) ?? []).Select(CgroupRoot.Parse).ToList();
}
