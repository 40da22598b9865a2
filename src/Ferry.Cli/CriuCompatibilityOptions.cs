using System.CommandLine;

namespace Ferry.Cli;

/// <summary>
/// CRIU options that tools driving CRIU (zdtm, container runtimes, scripts) pass routinely. Ferry accepts them so those
/// command lines work unchanged; each description says what Ferry does with it. Options whose feature Ferry lacks and
/// that would change the result (incremental dumps) are refused when given, with one line saying so.
/// </summary>
internal static class CriuCompatibilityOptions
{
    /// <summary>Options both dump and restore accept.</summary>
    static IEnumerable<Option> Shared() =>
    [
        new Option<string?>("--cgroup-yard") { Description = "Accepted for CRIU compatibility; Ferry reaches each cgroup hierarchy where it is mounted (or mounts it in a temporary directory)" },
        new Option<bool>("--ext-unix-sk") { Description = "Accepted for CRIU compatibility; unix sockets are not supported yet" },
        new Option<bool>("--skip-in-flight") { Description = "Accepted for CRIU compatibility; sockets are not supported yet" },
        new Option<string?>("--network-lock") { Description = "Accepted for CRIU compatibility (iptables, nftables, skip); TCP is not supported yet" },
        new Option<string[]>("--external") { Description = "Accepted for CRIU compatibility; no external resources are supported yet" },
        new Option<bool>("--allow-uprobes") { Description = "Accepted for CRIU compatibility" },
        new Option<string?>("--root", "-r") { Description = "Accepted for CRIU compatibility; only / is supported" },
    ];

    public static void AddDumpOptions(Command dump)
    {
        foreach (var option in Shared()) dump.Add(option);
        dump.Add(new Option<string?>("--manage-cgroups") { Description = "Accepted for CRIU compatibility; every dump records the tasks' cgroups and the directories below them", Arity = ArgumentArity.ZeroOrOne });
        dump.Add(new Option<string[]>("--cgroup-root") { Description = "Accepted for CRIU compatibility (it matters at restore)", AllowMultipleArgumentsPerToken = false });
        dump.Add(new Option<string?>("--pidfile") { Description = "Accepted for CRIU compatibility; dump writes no pidfile (as CRIU)" });
        dump.Add(new Option<string?>("--pre-dump-mode") { Description = "Accepted for CRIU compatibility (splice, read); memory is read with process_vm_readv" });
        dump.Add(new Option<bool>("--ghost-fiemap") { Description = "Accepted for CRIU compatibility" });
        dump.Add(new Option<bool>("--no-ghost-fiemap") { Description = "Accepted for CRIU compatibility" });
        dump.Add(new Option<bool>("--force-irmap") { Description = "Accepted for CRIU compatibility (inotify is not supported yet)" });
        dump.Add(new Option<string[]>("--irmap-scan-path") { Description = "Accepted for CRIU compatibility (inotify is not supported yet)" });
        var trackMem = new Option<bool>("--track-mem") { Description = "Incremental dumps are not available yet: refused" };
        var prevImages = new Option<string?>("--prev-images-dir") { Description = "Incremental dumps are not available yet: refused" };
        dump.Add(trackMem);
        dump.Add(prevImages);
        dump.Validators.Add(result =>
        {
            if (result.GetResult(trackMem) is not null || result.GetResult(prevImages) is not null)
                result.AddError("--track-mem and --prev-images-dir (incremental dumps) are not available yet; dump without them");
        });
    }

    public static void AddRestoreOptions(Command restore)
    {
        foreach (var option in Shared()) restore.Add(option);
        var cgroupRoot = new Option<string[]>("--cgroup-root") { Description = "Moving the restored cgroups under another root is not available yet: refused", AllowMultipleArgumentsPerToken = false };
        restore.Add(cgroupRoot);
        restore.Validators.Add(result =>
        {
            if (result.GetResult(cgroupRoot) is not null)
                result.AddError("--cgroup-root (restoring cgroups under another root) is not available yet; restore without it, or with --manage-cgroups=ignore to leave the tree in ferry's own cgroups");
        });
        restore.Add(new Option<bool>("--link-remap") { Description = "Accepted for CRIU compatibility; the links a dump made for deleted files are used and removed" });
        restore.Add(new Option<bool>("--file-locks", "-l") { Description = "Accepted for CRIU compatibility; the file locks in the images are always taken again" });
        restore.Add(new Option<string[]>("--join-ns") { Description = "Accepted for CRIU compatibility; the restored tree joins no namespaces yet" });
        restore.Add(new Option<bool>("--restore-sibling") { Description = "Accepted for CRIU compatibility" });
        restore.Add(new Option<string[]>("--inherit-fd") { Description = "Accepted for CRIU compatibility; not supported yet" });
    }
}
