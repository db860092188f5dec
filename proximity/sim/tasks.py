"""PVE tasks: UPIDs, worker threads, logs, status running -> stopped.

A task's worker is a function of a ``TaskContext``. It logs lines, waits simulated time with
``ctx.sleep(seconds)`` (multiplied by the simulator's ``time_scale``) and raises ``TaskFailed`` to end with
``TASK ERROR: <message>``. ``ctx.warn`` counts warnings: a task that warned ends with ``WARNINGS: N``.
"""

from __future__ import annotations

import random
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from proximity.sim.errors import TaskFailed
from proximity.sim.faults import Faults

INTERRUPTED = "interrupted by signal"


@dataclass
class Task:
    upid: str
    node: str
    pid: int
    pstart: int
    starttime: int
    type: str
    id: str
    user: str
    status: str = "running"
    exitstatus: str | None = None
    endtime: int | None = None
    log: list[str] = field(default_factory=list)
    warnings: int = 0

    def status_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "upid": self.upid,
            "node": self.node,
            "pid": self.pid,
            "pstart": self.pstart,
            "starttime": self.starttime,
            "type": self.type,
            "id": self.id,
            "user": self.user,
            "status": self.status,
        }
        if self.status == "stopped":
            data["exitstatus"] = self.exitstatus
        return data

    def list_dict(self) -> dict[str, Any]:
        data = {key: value for key, value in self.status_dict().items() if key != "exitstatus"}
        if self.status == "stopped":
            data["status"] = self.exitstatus
            data["endtime"] = self.endtime
        return data

    def to_dict(self) -> dict[str, Any]:
        return {
            **self.status_dict(),
            "exitstatus": self.exitstatus,
            "endtime": self.endtime,
            "log": self.log,
            "warnings": self.warnings,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Task:
        fields = {
            k: data[k]
            for k in (
                "upid",
                "node",
                "pid",
                "pstart",
                "starttime",
                "type",
                "id",
                "user",
                "status",
                "exitstatus",
                "endtime",
                "log",
                "warnings",
            )
        }
        return cls(**fields)


def format_upid(
    node: str, pid: int, pstart: int, starttime: int, task_type: str, task_id: str, user: str
) -> str:
    """``UPID:pve1:0000ABCD:0001E240:6554A1B2:vzcreate:100:root@pam:`` (note the trailing colon).

    A field may hold neither ':' nor whitespace (a volume ID as task id has its colon escaped as ``\\x3a``).
    """
    safe_id = task_id.replace(":", "\\x3a").replace(" ", "_")
    return f"UPID:{node}:{pid:08X}:{pstart:08X}:{starttime:08X}:{task_type}:{safe_id}:{user}:"


class TaskContext:
    """What a worker sees: logging, scaled waiting, interruption."""

    def __init__(
        self,
        task: Task,
        manager: TaskManager,
        stop: threading.Event,
        injected_failure: str | None = None,
        injected_delay: float = 0.0,
    ) -> None:
        self.task = task
        self._manager = manager
        self._stop = stop
        self._injected_failure = injected_failure
        self._injected_delay = injected_delay

    def log(self, line: str) -> None:
        with self._manager.lock:
            self.task.log.append(line)

    def warn(self, line: str) -> None:
        with self._manager.lock:
            self.task.log.append(f"WARN: {line}")
            self.task.warnings += 1

    def sleep(self, seconds: float) -> None:
        """Wait ``seconds`` of simulated time; a stop request ends the task here."""
        delay, self._injected_delay = self._injected_delay, 0.0  # a slow_tasks rule: once, real seconds
        self.hold(max(0.0, seconds) * self._manager.time_scale + delay)

    def hold(self, real_seconds: float) -> None:
        """Wait ``real_seconds`` of wall-clock time (not scaled); a stop request ends the task here."""
        if self._stop.wait(max(0.0, real_seconds)):
            raise TaskFailed(INTERRUPTED)
        if self._injected_failure is not None:  # a fault rule: fail at the first wait, after the log began
            message, self._injected_failure = self._injected_failure, None
            raise TaskFailed(message)


Worker = Callable[[TaskContext], None]


class TaskManager:
    """Runs tasks in threads and keeps their records (the newest ``keep`` of them)."""

    def __init__(
        self,
        faults: Faults,
        time_scale: float,
        seed: int | None = None,
        keep: int = 2000,
        on_change: Callable[[], None] | None = None,
    ) -> None:
        self.lock = threading.Lock()
        self.time_scale = time_scale
        self.tasks: dict[str, Task] = {}
        self._faults = faults
        self._keep = keep
        self._random = random.Random(seed)
        self._pid = 1000 + self._random.randrange(200000)
        self._stops: dict[str, threading.Event] = {}
        self._threads: dict[str, threading.Thread] = {}
        self._on_change = on_change or (lambda: None)

    def submit(
        self, node: str, task_type: str, task_id: str, user: str, worker: Worker, node_boot_time: float
    ) -> str:
        now = time.time()
        with self.lock:
            self._pid += 1 + self._random.randrange(40)
            # pstart is the process start in clock ticks (100 Hz) since the node booted.
            pstart = int((now - node_boot_time) * 100)
            starttime = int(now)
            upid = format_upid(node, self._pid, pstart, starttime, task_type, task_id, user)
            while upid in self.tasks:  # two tasks of one type and id within one second
                self._pid += 1
                upid = format_upid(node, self._pid, pstart, starttime, task_type, task_id, user)
            task = Task(upid, node, self._pid, pstart, starttime, task_type, task_id, user)
            self.tasks[upid] = task
            stop = threading.Event()
            self._stops[upid] = stop
            self._forget_old()
            thread = threading.Thread(
                target=self._run, args=(task, worker, stop), name=f"task-{task_type}-{task_id}", daemon=True
            )
            # registered under the lock: shutdown() and _finish() read and change this map from other threads
            self._threads[upid] = thread
        thread.start()
        return upid

    def get(self, upid: str) -> Task | None:
        with self.lock:
            return self.tasks.get(upid)

    def stop(self, upid: str) -> None:
        with self.lock:
            stop = self._stops.get(upid)
        if stop is not None:
            stop.set()

    def wait(self, upid: str, timeout: float | None = None) -> Task:
        """Block until the task has stopped (for the simulator's own use and tests)."""
        with self.lock:
            thread = self._threads.get(upid)
        if thread is not None:
            thread.join(timeout)
        task = self.get(upid)
        assert task is not None
        return task

    def running(self) -> list[Task]:
        with self.lock:
            return [t for t in self.tasks.values() if t.status == "running"]

    def snapshot(self) -> list[Task]:
        with self.lock:
            return list(self.tasks.values())

    def restore(self, tasks: list[Task]) -> None:
        """Load tasks from a state file; any that were running when it was written were interrupted."""
        with self.lock:
            for task in tasks:
                if task.status == "running":
                    task.status, task.exitstatus, task.endtime = (
                        "stopped",
                        "unexpected status",
                        int(time.time()),
                    )
                self.tasks[task.upid] = task

    def shutdown(self, timeout: float = 5.0) -> None:
        with self.lock:
            stops, threads = list(self._stops.values()), list(self._threads.values())
        for stop in stops:
            stop.set()
        deadline = time.monotonic() + timeout
        for thread in threads:
            thread.join(max(0.0, deadline - time.monotonic()))

    # -- internals -------------------------------------------------------------------------------
    def _run(self, task: Task, worker: Worker, stop: threading.Event) -> None:
        context = TaskContext(
            task,
            self,
            stop,
            self._faults.task_failure(task.node, task.type),
            self._faults.task_delay(task.node, task.type),
        )
        try:
            worker(context)
        except TaskFailed as error:
            self._finish(task, error.message)
        except Exception as error:  # a bug in a worker must still end the task as PVE ends it
            traceback.print_exc()
            self._finish(task, f"internal simulator error: {error}")
        else:
            self._finish(task, None)

    def _finish(self, task: Task, error: str | None) -> None:
        with self.lock:
            if error is not None:
                task.log.append(f"TASK ERROR: {error}")
                task.exitstatus = error
            elif task.warnings:
                task.log.append(f"TASK WARNINGS: {task.warnings}")
                task.exitstatus = f"WARNINGS: {task.warnings}"
            else:
                task.log.append("TASK OK")
                task.exitstatus = "OK"
            task.endtime = int(time.time())
            task.status = "stopped"
            self._stops.pop(task.upid, None)
            self._threads.pop(task.upid, None)
        self._on_change()

    def _forget_old(self) -> None:
        if len(self.tasks) <= self._keep:
            return
        stopped = sorted((t for t in self.tasks.values() if t.status == "stopped"), key=lambda t: t.starttime)
        for task in stopped[: len(self.tasks) - self._keep]:
            del self.tasks[task.upid]
