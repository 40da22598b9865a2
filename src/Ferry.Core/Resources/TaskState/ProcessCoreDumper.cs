using Ferry.Images;
using Ferry.Images.Protos;
using Ferry.Linux;
using Ferry.Procfs;
using Ferry.Resources.Signals;
using Ferry.Resources.Timers;
using Ferry.Tracing;

namespace Ferry.Resources.TaskState;

/// <summary>
/// The process-wide part of the leader's core image (task_core_entry): state, personality, flags, blocked mask,
/// comm, timers, rlimits, shared pending signals, signal actions, login uid, OOM score, subreaper, membarrier.
/// A process found job-control stopped (SIGSTOP, SIGTSTP, ...) is TASK_STOPPED with the stopping signal, as CRIU
/// records it, so a restore stops it again (or says it cannot) rather than letting it run.
/// </summary>
internal static class ProcessCoreDumper
{
    /// <param name="answers">What the leader told of the process (<see cref="TaskQuestions"/>).</param>
    /// <param name="scratch">Scratch memory of the process, for the POSIX timers' questions.</param>
    public static task_core_entry Dump(TracedTask leader, ProcessAnswers answers, RemoteScratch scratch, ProcStat stat)
    {
        var pid = leader.Pid;
        var tc = new task_core_entry
        {
            TaskState = leader.JobStopSignal != 0 ? TaskStates.Stopped : TaskStates.Alive,
            ExitCode = 0,
            Personality = ProcMisc.ReadPersonality(pid),
            Flags = stat.Flags,
            BlkSigset = leader.GetSigMask(),
            Comm = stat.Comm,
            Timers = TimerDumper.Dump(leader, answers.Intervals, scratch, 0),
            Rlimits = Rlimits(pid),
            SignalsS = SignalDumper.Pending(leader, shared: true),
            Loginuid = ProcMisc.ReadLoginUid(pid),
            OomScoreAdj = ProcMisc.ReadOomScoreAdj(pid),
            ChildSubreaper = answers.Subreaper,
        };
        if (leader.JobStopSignal != 0) tc.StopSigno = (uint)leader.JobStopSignal;
        tc.Sigactions.Add(SignalDumper.Actions(answers.Actions));
        if (answers.Membarrier > 0) tc.MembarrierRegistrationMask = (uint)answers.Membarrier;
        return tc;
    }

    /// <summary>The limits in RLIMIT_* order, from /proc/PID/limits (prlimit would need CAP_SYS_RESOURCE for some).</summary>
    static task_rlimits_entry Rlimits(int pid)
    {
        var limits = ProcLimits.Read(pid).OrderBy(l => l.Resource);
        var entry = new task_rlimits_entry();
        foreach (var limit in limits) entry.Rlimits.Add(new rlimit_entry { Cur = limit.Soft, Max = limit.Hard });
        return entry;
    }
}
