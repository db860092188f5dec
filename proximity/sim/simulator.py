"""``Simulator``: a Proxmox VE cluster on loopback (HTTPS API + SSH), started and stopped from Python."""

from __future__ import annotations

import json
import logging
import secrets
import shutil
import tempfile
import threading
import time
from pathlib import Path
from types import TracebackType
from typing import Any

from proximity.sim import guests, persist
from proximity.sim.address_slot import AddressSlot, claim_slot
from proximity.sim.aplinfo import load_appliances
from proximity.sim.auth import Auth
from proximity.sim.context import Services
from proximity.sim.faults import Faults
from proximity.sim.metrics import Metrics
from proximity.sim.router import Router
from proximity.sim.routes import ROUTES
from proximity.sim.server import ApiServer, serve_in_thread
from proximity.sim.ssh import start_ssh_server
from proximity.sim.state import Cluster, build_cluster
from proximity.sim.tasks import TaskContext, TaskManager
from proximity.sim.tls import generate_certificate, server_context

log = logging.getLogger(__name__)
TOKEN_NAME = "proximity"
AUDITOR = "auditor@pve"
AUDITOR_TOKEN_NAME = "readonly"
SAMPLE_SECONDS = 30.0


class Simulator:
    """A simulated PVE cluster; see docs/simulator.md. Use as a context manager or call start()/stop()."""

    def __init__(
        self,
        nodes: int = 3,
        time_scale: float = 1.0,
        state_file: str | Path | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        ssh_port: int = 0,
        ssh: bool = True,
        seed: int | None = None,
    ) -> None:
        if nodes < 1:
            raise ValueError("a cluster needs at least one node")
        if time_scale < 0:
            raise ValueError("time_scale must not be negative")
        self.nodes = nodes
        self.time_scale = time_scale
        self.state_file = Path(state_file) if state_file is not None else None
        self.host = host
        self.port = port
        self.ssh_port: int | None = ssh_port
        self.ssh = ssh
        self.seed = seed
        self.faults = Faults(seed)
        self.cluster: Cluster = build_cluster(self.faults, nodes)
        self.auth = Auth()
        self.tasks = TaskManager(self.faults, time_scale, seed, on_change=self.cluster.changed)
        self.metrics = Metrics(self.cluster)
        self.root_password = ""
        self.token_id = f"root@pam!{TOKEN_NAME}"
        self.token_secret = ""
        self.auditor_token_id = f"{AUDITOR}!{AUDITOR_TOKEN_NAME}"
        self.auditor_token_secret = ""
        self.fingerprint = ""
        self.ca_path = ""
        self.url = ""
        self._server: ApiServer | None = None
        self._ssh_handle: Any = None
        self._writer: persist.StateWriter | None = None
        self._tempdir: str | None = None
        self._sampler_stop = threading.Event()
        self._sampler: threading.Thread | None = None
        self._address_slot: AddressSlot | None = None

    # -- life cycle -----------------------------------------------------------------------------
    def start(self) -> Simulator:
        if self._server is not None:
            raise RuntimeError("simulator already started")
        if self.state_file is not None and self.state_file.exists():
            saved = json.loads(self.state_file.read_text(encoding="utf-8"))
            self._use_credentials(persist.load(saved, self.cluster, self.auth, self.tasks, self.time_scale))
            self.nodes = len(self.cluster.nodes)
        else:
            self._create_credentials()
        self._address_slot = claim_slot()
        self.cluster.ct_net = self._address_slot.net
        self._tempdir = tempfile.mkdtemp(prefix="proximity-sim-")
        certificate = generate_certificate(Path(self._tempdir), self.host)
        self.fingerprint = certificate.fingerprint
        self.ca_path = str(certificate.cert_path)
        services = Services(
            self.cluster,
            self.tasks,
            self.auth,
            self.faults,
            self.metrics,
            load_appliances(),
            self.fingerprint,
        )
        self._server = ApiServer(
            (self.host, self.port), services, Router(ROUTES), server_context(certificate)
        )
        self.port = self._server.server_address[1]
        self.url = f"https://{self.host}:{self.port}"
        serve_in_thread(self._server)
        self._boot_running_containers()
        if self.ssh:
            self._ssh_handle = start_ssh_server(
                self.cluster, self.ssh_port or 0, password=self.root_password, time_scale=self.time_scale
            )
            self.ssh_port = self._ssh_handle.port
        else:
            self.ssh_port = None
        if self.state_file is not None:
            self._writer = persist.StateWriter(self.state_file, self._dump)
            self.cluster.on_change(self._writer.mark_dirty)
            self._writer.flush()
        self._sampler = threading.Thread(target=self._sample_loop, name="pve-sim-rrd", daemon=True)
        self._sampler.start()
        return self

    def stop(self) -> None:
        if self._server is None:
            return
        self._sampler_stop.set()
        self._server.shutdown()
        self._server.server_close()
        self._server = None
        if self._ssh_handle is not None:
            self._ssh_handle.close()
            self._ssh_handle = None
        self.tasks.shutdown()
        if self._writer is not None:
            self._writer.close()
            self._writer = None
        with self.cluster.lock:
            for ct in self.cluster.containers.values():
                if ct.inside is not None:
                    ct.inside.close()  # release the CT's listening sockets; the state file keeps "running"
        if self._tempdir is not None:
            shutil.rmtree(self._tempdir, ignore_errors=True)
            self._tempdir = None
        if self._address_slot is not None:
            self._address_slot.release()
            self._address_slot = None

    def __enter__(self) -> Simulator:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"Simulator(url={self.url!r}, nodes={self.nodes}, time_scale={self.time_scale})"

    # -- helpers for tests and the CLI --------------------------------------------------------------
    def wait_task(self, upid: str, timeout: float = 60.0) -> dict[str, Any]:
        """Block until a task has stopped and return its status (as GET .../status answers)."""
        return self.tasks.wait(upid, timeout).status_dict()

    def host_options(self) -> dict[str, Any]:
        """How to reach this simulator as a Proxmox host: ``px.hosts.add("lab", **sim.host_options())``
        (URL, admin API token, certificate fingerprint, SSH port and root password)."""
        return {
            "url": self.url,
            "token_id": self.token_id,
            "token_secret": self.token_secret,
            "fingerprint": self.fingerprint,
            "ssh_port": self.ssh_port,
            "ssh_password": self.root_password,
        }

    def ssh_command_log(self) -> list[tuple[str, str]]:
        """(node, command line) of every SSH exec request, oldest first, as received (the last 5,000)."""
        return self._ssh_handle.command_log() if self._ssh_handle is not None else []

    def hold_lock(self, vmid: int, reason: str = "backup", seconds: float = 0.5) -> str:
        """Another client's task locks CT ``vmid`` for ``seconds`` of real time (as a ``vzdump`` run by a
        backup job holds ``lock: backup``): meanwhile PVE refuses other operations with ``CT is locked
        (<reason>)``. Returns the task's UPID; the lock is set before this returns."""
        with self.cluster.lock:
            ct = self.cluster.containers.get(vmid)
            if ct is None:
                raise KeyError(f"no CT {vmid}")
            if ct.lock:
                raise RuntimeError(f"CT {vmid} is already locked ({ct.lock})")
            ct.config["lock"] = reason
            node = ct.node
            self.cluster.changed()

        def hold(ctx: TaskContext) -> None:
            ctx.log(f"INFO: CT {vmid} locked ({reason}) by another client's task")
            try:
                ctx.hold(seconds)
            finally:
                self.cluster.unlock(ct, only=reason)

        boot_time = self.cluster.node(node).boot_time
        task_type = "vzdump" if reason == "backup" else f"vz{reason}"
        return self.tasks.submit(node, task_type, str(vmid), "root@pam", hold, boot_time)

    # -- internals ----------------------------------------------------------------------------------
    def _create_credentials(self) -> None:
        self.root_password = secrets.token_urlsafe(12)
        self.auth.add_user("root@pam", self.root_password, "Superuser")
        _, self.token_secret = self.auth.add_token(
            "root@pam", TOKEN_NAME, privsep=False, comment="Proximity SDK"
        )
        self.auth.add_user(AUDITOR, None, "Read-only auditor")
        self.auth.grant("/", AUDITOR, "PVEAuditor")
        _, self.auditor_token_secret = self.auth.add_token(
            AUDITOR, AUDITOR_TOKEN_NAME, privsep=True, comment="read-only"
        )
        self.auth.grant("/", self.auditor_token_id, "PVEAuditor")

    def _use_credentials(self, saved: dict[str, str]) -> None:
        self.root_password = saved["root_password"]
        self.token_secret = saved["token_secret"]
        self.auditor_token_secret = saved["auditor_token_secret"]

    def _credentials(self) -> dict[str, str]:
        return {
            "root_password": self.root_password,
            "token_secret": self.token_secret,
            "auditor_token_secret": self.auditor_token_secret,
        }

    def _dump(self) -> dict[str, Any]:
        return persist.dump(self.cluster, self.auth, self.tasks, self._credentials())

    def _boot_running_containers(self) -> None:
        with self.cluster.lock:
            for ct in self.cluster.containers.values():
                if ct.status == "running":
                    ct.started_at = ct.started_at or time.time()
                    ct.ip = self.cluster.container_ip(ct)
                    guests.boot(ct)

    def _sample_loop(self) -> None:
        while not self._sampler_stop.wait(SAMPLE_SECONDS):
            try:
                self.metrics.sample()
            except Exception:  # never let a metrics bug stop the simulator
                log.exception("sampling metrics failed")
