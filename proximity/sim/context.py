"""What an endpoint handler is given: the simulator's parts, the caller and the request parameters."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from proximity.sim import guests
from proximity.sim.auth import Auth, Identity
from proximity.sim.errors import parameter_error
from proximity.sim.faults import Faults
from proximity.sim.metrics import Metrics
from proximity.sim.state import Cluster, SimContainer
from proximity.sim.tasks import TaskManager, Worker


@dataclass
class Services:
    cluster: Cluster
    tasks: TaskManager
    auth: Auth
    faults: Faults
    metrics: Metrics
    appliances: list[dict[str, str]]
    fingerprint: str


@dataclass
class Reply:
    """A successful answer with fields beside ``data`` (``total`` on task lists and logs)."""

    data: Any
    extra: dict[str, Any] = field(default_factory=dict)


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

    def attach_inside(self, ct: SimContainer, inside: Any) -> None:
        guests.attach(ct, inside, self.services.faults, self.time_scale)

    def check(self, path: str, *privileges: str) -> None:
        self.services.auth.check(self.identity, path, privileges)

    def allowed(self, path: str, *privileges: str) -> bool:
        have = self.services.auth.privileges(self.identity, path)
        return any(privilege in have for privilege in privileges)


Handler = Callable[[Call], Any]
