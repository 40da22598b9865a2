using Ferry.Tracing;

namespace Ferry.Check;

/// <summary>
/// A throwaway process for probes: `sleep` started with posix_spawn in its own session and seized by a tracer.
/// Probes may wreck it (move its vDSO, unshare its namespaces); Dispose releases and kills it and reaps it.
/// </summary>
internal sealed class ProbeHelper : IDisposable
{
    ProbeHelper(ChildProcess process, Tracer tracer, TracedTask task)
    {
        Process = process;
        Tracer = tracer;
        Task = task;
    }

    public ChildProcess Process { get; }
    public Tracer Tracer { get; }
    public TracedTask Task { get; }
    public int Pid => Process.Pid;

    public static ProbeHelper Start(bool seize = true)
    {
        var process = ChildProcess.Start(new SpawnOptions("sleep", "60") { SearchPath = true, NewSession = true });
        var tracer = new Tracer();
        try
        {
            WaitUntilExecuted(process.Pid);
            var task = seize ? tracer.Seize(process.Pid, Tracer.DefaultOptions | Linux.Ptrace.O_EXITKILL) : null!;
            return new ProbeHelper(process, tracer, task);
        }
        catch
        {
            tracer.Dispose();
            process.Dispose();
            throw;
        }
    }

    /// <summary>posix_spawn returns once exec has begun; wait until the new program is mapped (its [vdso] is there).</summary>
    static void WaitUntilExecuted(int pid)
    {
        var deadline = DateTime.UtcNow.AddSeconds(5);
        while (!File.ReadAllText($"/proc/{pid}/comm").StartsWith("sleep", StringComparison.Ordinal))
        {
            if (DateTime.UtcNow > deadline) throw new FeatureMissingException($"the helper process {pid} did not start");
            Thread.Sleep(1);
        }
    }

    public void Dispose()
    {
        Process.Signal(Linux.Signals.SIGKILL);
        Tracer.Dispose();
        Process.Dispose();
    }
}
