using System.CommandLine;
using Ferry.Diagnostics;
using Ferry.Resources.Cgroups;
using Ferry.Restore;

namespace Ferry.Cli;

/// <summary>`ferry restore -D DIR`: bring a checkpointed process tree back.</summary>
internal static class RestoreCommand
{
    public static Command Create()
    {
        var shared = new SharedVerbOptions("Accepted for CRIU compatibility; Ferry's restore waits on no task that could hang it");
        var detach = new Option<bool>("--restore-detached", "-d") { Description = "Detach from the restored tree (default: wait for it and exit with its status)" };
        var pidFile = CommonOptions.PidFile();
        var pidns = new Option<string>("--pidns") { Description = "'host' keeps the original PIDs here; 'new' restores into a fresh PID namespace", DefaultValueFactory = _ => "host" };
        pidns.AcceptOnlyFromAmong("host", "new");
        var manageCgroups = new Option<string?>("--manage-cgroups")
        {
            Description = "How to restore cgroups: soft (default: create missing ones, move tasks in), full, strict, props, none (they must exist), ignore (leave tasks in ferry's)",
            Arity = ArgumentArity.ZeroOrOne,
        };
        manageCgroups.AcceptOnlyFromAmong(Enum.GetNames<CgroupMode>().Select(n => n.ToLowerInvariant()).ToArray());

        var command = new Command("restore", "Restore a process tree from image files");
        shared.AddTo(command);
        foreach (Option option in new Option[] { detach, pidFile, pidns, manageCgroups })
            command.Add(option);
        CriuCompatibilityOptions.AddRestoreOptions(command);
        command.SetAction(parse => CliAction.Run("restore", () =>
        {
            string images = parse.GetValue(shared.ImagesDir)!.FullName;
            // Like CRIU, relative log and pid file paths are inside the work dir, which defaults to the images dir.
            string work = parse.GetValue(shared.WorkDir)?.FullName ?? images;
            var request = new RestoreRequest(images)
            {
                Detach = parse.GetValue(detach),
                PidFile = parse.GetValue(pidFile) is { } pf ? Path.Combine(work, pf.ToString()) : null,
                ShellJob = parse.GetValue(shared.ShellJob),
                Tcp = shared.Tcp(parse),
                PidNamespace = parse.GetValue(pidns) == "new" ? PidNamespaceMode.New : PidNamespaceMode.Host,
                Cgroups = parse.GetValue(manageCgroups) is { } mode ? Enum.Parse<CgroupMode>(mode, ignoreCase: true) : CgroupMode.Soft,
            };
            string? logPath = parse.GetValue(shared.LogFile) is { } lf ? Path.Combine(work, lf.ToString()) : null;
            using var log = new Log(logPath, parse.GetValue(shared.Verbosity));
            // Without a log file the log's errors go to stderr, where the CLI prints the one line anyway.
            void LogError(string message)
            {
                if (logPath is not null) log.Error(message);
            }
            try
            {
                using var tree = new RestoreEngine(request, log).Run();
                if (tree.InNewPidNamespace)
                    foreach (var (dumped, here) in tree.Pids)
                        Console.WriteLine($"pid {dumped} (in the new pid namespace) is pid {here} here");
                if (!request.Detach)
                    return tree.WaitForExit();
                tree.Detach();
                return CliAction.Ok;
            }
            catch (FerryException e)
            {
                LogError(e.Message);
                throw;
            }
            catch (Ferry.Images.ImageFormatException e)
            {
                LogError(e.Message);
                throw new FerryException(e.Message);
            }
            catch (Ferry.Linux.LinuxException e)
            {
                LogError(e.Message);
                throw new FerryException(e.Message);
            }
            catch (Ferry.Tracing.TracingException e)
            {
                LogError(e.Message);
                throw new FerryException(e.Message);
            }
            catch (Exception e) when (e is not (IOException or UnauthorizedAccessException))
            {
                // A defect in Ferry: still one line for the user, the details in the log.
                LogError(e.ToString());
                throw new FerryException($"internal error: {e.GetType().Name}: {e.Message}");
            }
        }));
        return command;
    }
}
