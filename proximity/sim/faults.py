"""Fault injection: errors, latency, dropped connections, failing tasks, offline nodes, SSH trouble.

Rules match an endpoint by HTTP method and a glob over the API path (``/nodes/*/lxc/*/status/start``,
without ``/api2/json``) and/or by node. Each rule fires with probability ``rate`` (a seeded RNG, so a run
is reproducible) and at most ``count`` times (``None``: forever). Everything is thread-safe.
"""

from __future__ import annotations

import fnmatch
import random
import threading
from dataclasses import dataclass, field

NO_ROUTE = (595, "No route to host")


@dataclass
class Rule:
    kind: str  # "error" | "latency" | "drop" | "task" | "ssh-drop"
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

    def drop_ssh(self, *, node: str | None = None, rate: float = 1.0, count: int | None = None) -> Rule:
        """Drop the SSH channel in the middle of a command."""
        return self._add(Rule("ssh-drop", node=node, rate=rate, count=count))

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

    # -- consulted by the server, the task runner and the SSH side ------------------------------
    def on_request(self, method: str, path: str, node: str | None) -> RequestFault:
        outcome = RequestFault()
        with self._lock:
            if node is not None and node in self.offline_nodes:
                outcome.error = NO_ROUTE
                return outcome
            for rule in self.rules:
                if rule.kind not in ("error", "latency", "drop"):
                    continue
                if not rule.matches_request(method, path, node) or not self._fires(rule):
                    continue
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

    def is_offline(self, node: str) -> bool:
        with self._lock:
            return node in self.offline_nodes

    def ssh_refused(self, node: str) -> bool:
        with self._lock:
            return node in self.ssh_refused_nodes or node in self.offline_nodes

    def ssh_should_drop(self, node: str) -> bool:
        with self._lock:
            for rule in self.rules:
                if rule.kind == "ssh-drop" and (rule.node is None or rule.node == node) and self._fires(rule):
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
