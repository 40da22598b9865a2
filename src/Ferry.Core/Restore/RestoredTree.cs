using Ferry.Namespaces;

namespace Ferry.Restore;

/// <summary>
/// A restored tree, running: its PIDs (as dumped, and as seen from here, which differ in a new pid namespace), and
/// the way to wait for its root or leave it. Dispose after waiting or detaching.
/// </summary>
public sealed class RestoredTree(IReadOnlyList<(int Dumped, int Here)> pids, PidNamespaceSession? session, bool inNewPidNamespace) : IDisposable
{
    /// <summary>Every living process of the tree, the root first.</summary>
    public IReadOnlyList<(int Dumped, int Here)> Pids { get; } = pids;

    /// <summary>The root's PID as seen from here.</summary>
    public int RootPid => Pids[0].Here;

    /// <summary>Whether the tree runs in a new pid namespace of its own (under Ferry's init, or as its init).</summary>
    public bool InNewPidNamespace => inNewPidNamespace;

    /// <summary>Waits for the root to end; returns its exit code, or 128 + the signal that killed it.</summary>
    public int WaitForExit() => session?.WaitForExit() ?? RestoreEngine.WaitForExit(RootPid);

    /// <summary>Leaves the tree running on its own (in a new namespace, under its init).</summary>
    public void Detach() => session?.Detach();

    public void Dispose() => session?.Dispose();
}
