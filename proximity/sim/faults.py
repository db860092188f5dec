"""Fault injection: errors, latency, dropped connections, failing tasks, offline nodes, SSH trouble.

Rules match an endpoint by HTTP method and a glob over the API path (``/nodes/*/lxc/*/status/start``,
without ``/api2/json``) and/or by node. Each rule fires with probability ``rate`` (a seeded RNG, so a run
is reproducible) and at most ``count`` times (``None``: forever). Everything is thread-safe.
"""

from __future__ import annotations

import fnmatch
import random
import threading
import time
from dataclasses import dataclass, field

NO_ROUTE = (595, "No route to host")


@dataclass
class Rule:
    kind: str  # "error" | "latency" | "drop" | "task" | "task-slow" | "offline" | "ssh-drop"
    method: str = "*"
    path: str = "*"
    node: str | None = None
    task_type: str = "*"
    status: int = 500
    message: str = ""
    seconds: float = 0.0
    rate: float = 1.0
    count: int | None = None
    fired: int = 0

    def matches_request(self, method: str, path: str, node: str | None) -> bool:
        return (
            fnmatch.fnmatchcase(method, self.method)
            and fnmatch.fnmatchcase(path, self.path)
            and (self.node is None or self.node == node)
        )


@dataclass
class RequestFault:
    """What the server must do to one request before (or instead of) answering it."""

    delay: float = 0.0
    drop: bool = False
    error: tuple[int, str] | None = None


@dataclass
class Faults:
    seed: int | None = None
    rules: list[Rule] = field(default_factory=list)
    offline_nodes: set[str] = field(default_factory=set)
    ssh_refused_nodes: set[str] = field(default_factory=set)
    unhealthy_vmids: set[int] = field(default_factory=set)
    # fill_storage: (node or None for every node, storage) -> bytes left free
    full_storages: dict[tuple[str | None, str], int] = field(default_factory=dict)
    tickets_not_before: int = 0  # tickets stamped before this second are refused as expired

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._random = random.Random(self.seed)

    # -- configuring ---------------------------------------------------------------------------
    def http_error(
        self,
        status: int,
        message: str,
        *,
        path: str = "*",
        method: str = "*",
        node: str | None = None,
        rate: float = 1.0,
        count: int | None = None,
    ) -> Rule:
        """Answer matching requests with ``status`` and ``message`` (in the reason phrase, as PVE does)."""
        return self._add(
            Rule("error", method, path, node, status=status, message=message, rate=rate, count=count)
        )

    def latency(
        self,
        seconds: float,
        *,
        path: str = "*",
        method: str = "*",
        node: str | None = None,
        rate: float = 1.0,
        count: int | None = None,
    ) -> Rule:
        return self._add(Rule("latency", method, path, node, seconds=seconds, rate=rate, count=count))

    def drop_connection(
        self,
        *,
        path: str = "*",
        method: str = "*",
        node: str | None = None,
        rate: float = 1.0,
        count: int | None = None,
    ) -> Rule:
        """Close the socket without answering."""
        return self._add(Rule("drop", method, path, node, rate=rate, count=count))

    def fail_tasks(
        self,
        message: str,
        *,
        task_type: str = "*",
        node: str | None = None,
        rate: float = 1.0,
        count: int | None = None,
    ) -> Rule:
        """Make matching tasks end with ``TASK ERROR: <message>`` (e.g. ``No space left on device``)."""
        return self._add(
            Rule("task", task_type=task_type, node=node, message=message, rate=rate, count=count)
        )

    def slow_tasks(
        self,
        seconds: float,
        *,
        task_type: str = "*",
        node: str | None = None,
        rate: float = 1.0,
        count: int | None = None,
    ) -> Rule:
        """Make matching tasks take ``seconds`` more of real time (not scaled), at their first wait: a task
        stuck on slow storage or a busy node, outliving a client's timeout."""
        rule = Rule("task-slow", task_type=task_type, node=node, seconds=seconds, rate=rate, count=count)
        return self._add(rule)

    def node_offline_on(
        self, node: str, *, path: str = "*", method: str = "*", count: int | None = 1
    ) -> Rule:
        """Take ``node`` offline (as ``node_offline``) when a matching request for it arrives: that request
        and every later one for the node answer 595, mid-operation."""
        return self._add(Rule("offline", method, path, node, count=count))

    def fill_storage(self, storage: str, *, node: str | None = None, leave_bytes: int = 0) -> None:
        """Fill ``storage`` (on ``node``, or on every node) up to ``leave_bytes`` free, as files written by
        something else would: status answers show it full and writers fail with PVE's out-of-space errors."""
        if leave_bytes < 0:
            raise ValueError("leave_bytes must not be negative")
        with self._lock:
            self.full_storages[(node, storage)] = leave_bytes

    def expire_tickets(self) -> None:
        """Expire every ticket issued so far: their next use answers 401 ``ticket expired``; a new login
        gets a valid one. Tickets carry whole seconds, so a ticket issued within the current second is not
        affected (tests wait a second after logging in)."""
        with self._lock:
            self.tickets_not_before = int(time.time())

    def node_offline(self, node: str) -> None:
        """API calls for the node fail as PVE's proxy fails (595 No route to host); SSH is refused."""
        with self._lock:
            self.offline_nodes.add(node)

    def node_online(self, node: str) -> None:
        with self._lock:
            self.offline_nodes.discard(node)

    def refuse_ssh(self, node: str) -> None:
        with self._lock:
            self.ssh_refused_nodes.add(node)

    def drop_ssh(
        self, *, node: str | None = None, command: str = "*", rate: float = 1.0, count: int | None = None
    ) -> Rule:
        """Drop the SSH connection in the middle of a command (after it ran, before its exit status);
        ``command``: a glob over the command line (``pct exec * -- apt-get update``)."""
        return self._add(Rule("ssh-drop", path=command, node=node, rate=rate, count=count))

    def app_never_healthy(self, vmid: int) -> None:
        """The apps inside CT ``vmid`` never answer their health path successfully."""
        with self._lock:
            self.unhealthy_vmids.add(vmid)

    def remove(self, rule: Rule) -> None:
        with self._lock:
            if rule in self.rules:
                self.rules.remove(rule)

    def clear(self) -> None:
        with self._lock:
            self.rules.clear()
            self.offline_nodes.clear()
            self.ssh_refused_nodes.clear()
            self.unhealthy_vmids.clear()
            self.full_storages.clear()
            self.tickets_not_before = 0

    # -- consulted by the server, the task runner and the SSH side ------------------------------
    def on_request(self, method: str, path: str, node: str | None) -> RequestFault:
        outcome = RequestFault()
        with self._lock:
            if node is not None and node in self.offline_nodes:
                outcome.error = NO_ROUTE
                return outcome
            for rule in self.rules:
                if rule.kind not in ("error", "latency", "drop", "offline"):
                    continue
                if not rule.matches_request(method, path, node) or not self._fires(rule):
                    continue
                if rule.kind == "offline" and rule.node is not None:
                    self.offline_nodes.add(rule.node)
                    outcome.error = NO_ROUTE
                    return outcome
                if rule.kind == "latency":
                    outcome.delay += rule.seconds
                elif rule.kind == "drop":
                    outcome.drop = True
                elif outcome.error is None:
                    outcome.error = (rule.status, rule.message)
        return outcome

    def task_failure(self, node: str, task_type: str) -> str | None:
        with self._lock:
            for rule in self.rules:
                if rule.kind != "task" or (rule.node is not None and rule.node != node):
                    continue
                if fnmatch.fnmatchcase(task_type, rule.task_type) and self._fires(rule):
                    return rule.message
        return None

    def task_delay(self, node: str, task_type: str) -> float:
        """Extra real seconds a new task of this type on this node takes (``slow_tasks``)."""
        with self._lock:
            return sum(
                rule.seconds
                for rule in self.rules
                if rule.kind == "task-slow"
                and (rule.node is None or rule.node == node)
                and fnmatch.fnmatchcase(task_type, rule.task_type)
                and self._fires(rule)
            )

    def storage_left(self, node: str, storage: str) -> int | None:
        """Bytes ``fill_storage`` leaves free on the storage of that node (None: not filled)."""
        with self._lock:
            left = [v for (n, s), v in self.full_storages.items() if s == storage and n in (None, node)]
        return min(left) if left else None

    def ticket_expired(self, issued: int) -> bool:
        with self._lock:
            return issued < self.tickets_not_before

    def is_offline(self, node: str) -> bool:
        with self._lock:
            return node in self.offline_nodes

    def ssh_refused(self, node: str) -> bool:
        with self._lock:
            return node in self.ssh_refused_nodes or node in self.offline_nodes

    def ssh_should_drop(self, node: str, command: str = "") -> bool:
        with self._lock:
            for rule in self.rules:
                if (
                    rule.kind == "ssh-drop"
                    and (rule.node is None or rule.node == node)
                    and fnmatch.fnmatchcase(command, rule.path)
                    and self._fires(rule)
                ):
                    return True
        return False

    def app_unhealthy(self, vmid: int) -> bool:
        with self._lock:
            return vmid in self.unhealthy_vmids

    # -- internals -------------------------------------------------------------------------------
    def _add(self, rule: Rule) -> Rule:
        if not 0.0 <= rule.rate <= 1.0:
            raise ValueError(f"rate must be within 0..1, got {rule.rate}")
        with self._lock:
            self.rules.append(rule)
        return rule

    def _fires(self, rule: Rule) -> bool:
        if rule.count is not None and rule.fired >= rule.count:
            return False
        if rule.rate < 1.0 and self._random.random() >= rule.rate:
            return False
        rule.fired += 1
        return True
