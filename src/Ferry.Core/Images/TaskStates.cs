namespace Ferry.Images;

/// <summary>CRIU's task_state values in core.tc: what a pstree entry was when it was dumped.</summary>
public static class TaskStates
{
    public const uint Alive = 1, Dead = 2, Stopped = 3, Helper = 4, Thread = 5;
}
