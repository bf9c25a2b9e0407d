"""Who may enter which stage: CodePipeline's execution modes.

    SUPERSEDED (V1, the default)  a stage holds one execution at a time; an execution that reaches an
                                  occupied stage waits at its entrance, and a newer one arriving there
                                  supersedes it (the older one ends Superseded)
    QUEUED (V2)                   the same, but waiting executions enter in the order they arrived
    PARALLEL (V2)                 executions do not wait for each other

An execution holds only the stage it runs: it leaves a stage once that stage succeeded, before it waits
for the next one, so a newer execution may follow it one stage behind and never shares its artifacts
(each execution has its own). The gate is plain data under the Executions family's lock; the family
rebuilds it from the execution records after a restart.
"""

from __future__ import annotations


class StageGate:
    def __init__(self):
        self.holders: dict[tuple[str, str], str] = {}  # (pipeline, stage) -> execution id inside it
        self.waiting: dict[tuple[str, str], list[str]] = {}  # (pipeline, stage) -> execution ids, oldest first

    def arrive(self, pipeline: str, stage: str, execution: str, mode: str) -> list[str]:
        """`execution` waits to enter `stage`; returns the executions it supersedes."""
        if mode == "PARALLEL":
            return []
        queue = self.waiting.setdefault((pipeline, stage), [])
        superseded = [e for e in queue if e != execution] if mode == "SUPERSEDED" else []
        queue[:] = [e for e in queue if e not in superseded]
        if execution not in queue:
            queue.append(execution)
        return superseded

    def is_waiting(self, pipeline: str, stage: str, execution: str, mode: str) -> bool:
        return mode == "PARALLEL" or execution in self.waiting.get((pipeline, stage), [])

    def try_enter(self, pipeline: str, stage: str, execution: str, mode: str) -> bool:
        if mode == "PARALLEL":
            return True
        key = (pipeline, stage)
        queue = self.waiting.get(key, [])
        if self.holders.get(key) not in (None, execution) or not queue or queue[0] != execution:
            return False
        queue.pop(0)
        self.holders[key] = execution
        return True

    def hold(self, pipeline: str, stage: str, execution: str) -> None:
        """Record an execution already inside a stage (rebuilding the gate after a restart)."""
        self.holders[(pipeline, stage)] = execution

    def release(self, pipeline: str, stage: str, execution: str) -> None:
        if self.holders.get((pipeline, stage)) == execution:
            del self.holders[(pipeline, stage)]

    def leave(self, pipeline: str, execution: str) -> None:
        """The execution ended: it holds and waits for nothing any more."""
        for key in [k for k, e in self.holders.items() if k[0] == pipeline and e == execution]:
            del self.holders[key]
        for key, queue in self.waiting.items():
            if key[0] == pipeline and execution in queue:
                queue.remove(execution)

    def forget(self, pipeline: str) -> None:
        for table in (self.holders, self.waiting):
            for key in [k for k in table if k[0] == pipeline]:
                del table[key]

    def waiting_for(self, pipeline: str, stage: str) -> list[str]:
        return list(self.waiting.get((pipeline, stage), []))
