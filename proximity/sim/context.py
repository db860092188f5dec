"""What an endpoint handler is given: the simulator's parts, the caller and the request parameters."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from proximity.sim import guests
from proximity.sim.auth import Auth, Identity
from proximity.sim.errors import parameter_error
from proximity.sim.faults import Faults
from proximity.sim.guest_rows import GuestRows
from proximity.sim.metrics import ContainerFigures, Metrics
from proximity.sim.state import Cluster, SimContainer
from proximity.sim.tasks import TaskManager, Worker

_Child = TypeVar("_Child")


@dataclass
class Services:
    cluster: Cluster
    tasks: TaskManager
    auth: Auth
    faults: Faults
    metrics: Metrics
    appliances: list[dict[str, str]]
    fingerprint: str
    guest_rows: GuestRows = field(default_factory=GuestRows)


@dataclass
class Reply:
    """A successful answer with fields beside ``data`` (``total`` on task lists and logs)."""

    data: Any
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class EncodedJson:
    """An answer's ``data`` already encoded as JSON; the transport sends these bytes as they are."""

    payload: bytes


@dataclass
class Upload:
    filename: str
    size: int


@dataclass
class Call:
    services: Services
    identity: Identity
    params: dict[str, Any]
    upload: Upload | None = None

    @property
    def cluster(self) -> Cluster:
        return self.services.cluster

    # -- typed parameter access: values arrive coerced by the schema, or as strings without it ---
    def text(self, name: str, default: str | None = None) -> str | None:
        value = self.params.get(name)
        return default if value is None else str(value)

    def required(self, name: str) -> str:
        value = self.params.get(name)
        if value is None or value == "":
            raise parameter_error({name: "property is missing and it is not optional"})
        return str(value)

    def integer(self, name: str, default: int | None = None) -> int | None:
        value = self.params.get(name)
        if value is None or value == "":
            return default
        try:
            return int(value)
        except (TypeError, ValueError) as error:
            raise parameter_error({name: f"type check ('integer') failed - got '{value}'"}) from error

    def flag(self, name: str, default: bool = False) -> bool:
        """PVE booleans travel as 1/0 (the schema coerces them; without it the raw text is checked here)."""
        value = self.params.get(name)
        if value is None or value == "":
            return default
        if isinstance(value, bool):
            return value
        if str(value) in ("1", "0"):
            return str(value) == "1"
        raise parameter_error({name: f"type check ('boolean') failed - got '{value}'"})

    @property
    def node(self) -> str:
        return self.required("node")

    @property
    def vmid(self) -> int:
        vmid = self.integer("vmid")
        if vmid is None:
            raise parameter_error({"vmid": "property is missing and it is not optional"})
        return vmid

    def start_task(self, node: str, task_type: str, task_id: str | int, worker: Worker) -> str:
        boot_time = self.cluster.node(node).boot_time
        return self.services.tasks.submit(
            node, task_type, str(task_id), self.identity.name, worker, boot_time
        )

    @property
    def time_scale(self) -> float:
        return self.services.tasks.time_scale

    def cached_figures(self, now: float) -> Callable[[SimContainer], ContainerFigures]:
        """A container's figures from the shared row cache (call with ``cluster.lock`` held)."""
        return lambda ct: self.services.guest_rows.figures(self.cluster, ct, now)

    def attach_inside(self, ct: SimContainer, inside: Any) -> None:
        guests.attach(ct, inside, self.services.cluster, self.time_scale)

    def check(self, path: str, *privileges: str) -> None:
        self.services.auth.check(self.identity, path, privileges)

    def allowed(self, path: str, *privileges: str) -> bool:
        have = self.services.auth.privileges(self.identity, path)
        return any(privilege in have for privilege in privileges)

    def allowed_children(self, parent: str, children: Iterable[_Child], *privileges: str) -> list[_Child]:
        """The ``children`` (``100`` for ``/vms/100``) whose path under ``parent`` has any of ``privileges``.

        A path with no ACL of its own gets exactly what its parent passes down, so those children share one
        answer: with no ACL on any child (the usual case) the ACLs are walked once, not once per child.
        """
        prefix = parent.rstrip("/") + "/"
        own_acl = {path for path in self.services.auth.acl_paths() if path.startswith(prefix)}
        candidates = list(children)
        if not own_acl:  # every child inherits the same answer
            return candidates if candidates and self.allowed(f"{prefix}{candidates[0]}", *privileges) else []
        inherited: bool | None = None
        kept = []
        for child in candidates:
            path = f"{prefix}{child}"
            if path in own_acl:
                allowed = self.allowed(path, *privileges)
            else:
                if inherited is None:
                    inherited = self.allowed(path, *privileges)
                allowed = inherited
            if allowed:
                kept.append(child)
        return kept


Handler = Callable[[Call], Any]
