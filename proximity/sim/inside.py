"""What happens inside one simulated container: files, packages, services, Docker, an OCI app, its load.

``ContainerInside`` interprets the argv the SDK sends with ``pct exec`` (a realistic vocabulary with real exit
codes and messages; nothing is ever evaluated by a real shell), keeps what is on the container's disk
(``to_dict``/``from_dict`` for clone, backup, restore, snapshots, persistence) and what runs while it is up
(``boot``/``halt``), reports its load (``load()``) and what listens on TCP (``listening()``), and keeps
the HTTP responders of ``responders.py`` in step with that.

Durations (``apt-get install``, image pulls, install scripts, app warm-up) are simulated seconds multiplied by
``time_scale``. Locking: ``exec`` calls run one at a time per container; the short state lock is released
while a command waits, so ``load()``, ``listening()`` and the responders stay responsive.
"""

from __future__ import annotations

import hashlib
import json
import math
import posixpath
import threading
import time
import zlib
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from proximity.sim import registry
from proximity.sim.inside_docker import DAEMON_DOWN, DockerEngine, Output, image_app_name, warmup_seconds
from proximity.sim.inside_fs import VirtualFs, normalize
from proximity.sim.inside_packages import COMPOSE_PLUGIN_PACKAGES, OsProfile, os_profile, packages_for
from proximity.sim.inside_shell import ShellCommands, split_sequence
from proximity.sim.inside_system import InsideFaults, Service, SystemCommands
from proximity.sim.responders import ResponderSet

MIB = 1024**2
DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
BIN_DIRS = ("/bin", "/usr/bin", "/sbin", "/usr/sbin", "/usr/local/bin", "/usr/local/sbin")
FORMAT_VERSION = 1
EXEC_LOG_SIZE = 5000

# Typical resident memory (MiB) and idle CPU (cores) of what runs, matched on the unit or image name.
PROFILES: tuple[tuple[str, int, float], ...] = (
    ("jellyfin", 380, 0.03),
    ("emby", 360, 0.03),
    ("plex", 420, 0.04),
    ("immich", 620, 0.05),
    ("home-assistant", 420, 0.03),
    ("nextcloud", 160, 0.02),
    ("paperless", 520, 0.03),
    ("ollama", 120, 0.01),
    ("open-webui", 700, 0.02),
    ("postgres", 60, 0.01),
    ("mariadb", 110, 0.01),
    ("redis", 12, 0.004),
    ("valkey", 12, 0.004),
    ("nginx", 9, 0.002),
    ("apache2", 24, 0.002),
    ("dockerd", 72, 0.006),
    ("docker", 72, 0.006),
    ("containerd", 40, 0.003),
    ("grafana", 110, 0.01),
    ("prometheus", 140, 0.02),
    ("uptime-kuma", 110, 0.02),
    ("vaultwarden", 24, 0.002),
    ("gitea", 150, 0.01),
    ("ssh", 6, 0.0),
    ("cron", 2, 0.0),
)
DEFAULT_PROFILE = (140, 0.015)


class Interrupted(Exception):
    """The container stopped while a command was waiting; the command is killed."""


@dataclass(frozen=True)
class ExecResult:
    rc: int
    stdout: bytes = b""
    stderr: bytes = b""


@dataclass(frozen=True)
class Load:
    cpu: float  # cores in use (0..cores; the caller caps it at the CT's cores)
    mem_bytes: int
    disk_bytes: int
    netin: int  # bytes since boot
    netout: int


@dataclass(frozen=True)
class Listener:
    """One TCP port something listens on in the container, and whether it already answers as healthy."""

    port: int
    app: str
    unit: str
    ready: bool


class ContainerInside(ShellCommands, SystemCommands):
    """The inside of one container; see the module docstring."""

    def __init__(
        self, ostemplate: str, oci_image: str | None, *, time_scale: float = 1.0, serve_http: bool = True
    ) -> None:
        self.ostemplate = ostemplate
        self.oci_image = oci_image
        self.os: OsProfile = os_profile(ostemplate)
        self.time_scale = time_scale
        self.serve_http = serve_http
        self.faults = InsideFaults()
        self.hostname = "localhost"
        self.vmid: int | None = None
        self.fs = VirtualFs()
        self.packages: dict[str, str] = {}  # name -> version
        self.apt_lists = False
        self.services: dict[str, Service] = {}
        self.docker = DockerEngine()
        self.exec_log: deque[list[str]] = deque(maxlen=EXEC_LOG_SIZE)  # newest last
        # runtime
        self.ip: str | None = None
        self._boots = 0
        self._booted_mono: float | None = None
        self._busy_until = 0.0
        self._oci_started: float | None = None
        self._oci_warmup = 0.0
        self._net_in = 0
        self._net_out = 0
        self._lock = threading.Lock()
        self._exec_lock = threading.Lock()
        self._responders: ResponderSet | None = ResponderSet(self) if serve_http else None
        self._on_change: Callable[[], None] | None = None

    # -- construction and persistence ------------------------------------------------------------------
    @classmethod
    def new(
        cls,
        ostemplate: str,
        oci_image: str | None = None,
        *,
        time_scale: float = 1.0,
        serve_http: bool = True,
    ) -> ContainerInside:
        inside = cls(ostemplate, oci_image, time_scale=time_scale, serve_http=serve_http)
        inside._seed_files()
        return inside

    def _seed_files(self) -> None:
        for directory in (
            "/etc",
            "/root",
            "/tmp",
            "/var/log",
            "/var/lib",
            "/opt",
            "/usr/bin",
            "/usr/sbin",
            "/usr/local/bin",
            "/bin",
            "/sbin",
            "/home",
            "/srv",
            "/media",
            "/mnt",
            "/run",
        ):
            self.fs.mkdir(directory, parents=True)
        self.fs.chmod("/tmp", 0o1777)
        self.fs.chmod("/root", 0o700)
        self.fs.write("/etc/os-release", self.os.os_release.encode())
        self.fs.write("/etc/hostname", b"localhost\n")
        if self.os.family == "debian":
            self.fs.mkdir("/etc/systemd/system", parents=True)
            self.fs.mkdir("/var/lib/apt/lists", parents=True)

    def to_dict(self) -> dict[str, Any]:
        """What is on the container's disk (JSON-safe). Runtime state (what runs, counters) is not kept."""
        with self._lock:
            return self._disk_dict()

    def _disk_dict(self) -> dict[str, Any]:
        return {
            "format": FORMAT_VERSION,
            "ostemplate": self.ostemplate,
            "oci_image": self.oci_image,
            "fs": self.fs.to_dict(),
            "packages": dict(sorted(self.packages.items())),
            "apt_lists": self.apt_lists,
            "services": {name: s.to_dict() for name, s in sorted(self.services.items())},
            "docker": self.docker.to_dict(),
        }

    @classmethod
    def from_dict(
        cls, data: dict[str, Any], *, time_scale: float = 1.0, serve_http: bool = True
    ) -> ContainerInside:
        """A stopped container with this disk; call ``boot`` to run it."""
        if data.get("format") != FORMAT_VERSION:
            raise ValueError(f"unsupported inside format {data.get('format')!r}")
        inside = cls(data["ostemplate"], data["oci_image"], time_scale=time_scale, serve_http=serve_http)
        inside.fs = VirtualFs.from_dict(data["fs"])
        inside.packages = dict(data["packages"])
        inside.apt_lists = bool(data["apt_lists"])
        inside.services = {name: Service.from_dict(s) for name, s in data["services"].items()}
        inside.docker = DockerEngine.from_dict(data["docker"])
        return inside

    def configure(
        self,
        *,
        time_scale: float | None = None,
        vmid: int | None = None,
        hostname: str | None = None,
        never_healthy: bool | Callable[[], bool] | None = None,
        on_change: Callable[[], None] | None = None,
    ) -> None:
        """Facts the simulator knows about this CT (its clock, id, name, the app-health fault), and
        ``on_change``, called after a command changed the disk (so a state file can be written)."""
        with self._lock:
            if on_change is not None:
                self._on_change = on_change
            if time_scale is not None:
                self.time_scale = time_scale
            if vmid is not None:
                self.vmid = vmid
            if hostname is not None:
                self.hostname = hostname
            if never_healthy is not None:
                self.faults.never_healthy = never_healthy

    # -- life cycle ------------------------------------------------------------------------------------
    @property
    def running(self) -> bool:
        return self._booted_mono is not None

    def boot(self, ip: str, hostname: str | None = None) -> None:
        """Start the container at ``ip``: enabled services, Docker's restartable containers, the OCI app."""
        with self._lock:
            if self.running:
                return
            self._boots += 1
            self.ip = ip
            self._booted_mono = time.monotonic()
            self._net_in = self._net_out = 0
            if hostname is not None:
                self.hostname = hostname
            if self.fs.is_dir("/etc"):
                self.fs.write("/etc/hostname", f"{self.hostname}\n".encode())
            for service in self.services.values():
                if service.enabled:
                    self._start_service(service)
            if self.oci_image:
                info = registry.lookup(self.oci_image)
                self._oci_started = time.monotonic()
                self._oci_warmup = self._warmup(info.size_bytes if info else 150_000_000)
        self._sync_responders()

    def halt(self) -> None:
        """Stop everything that runs; the disk stays as it is."""
        with self._lock:
            if not self.running:
                return
            self._booted_mono = None
            self._oci_started = None
            self.docker.daemon_stopped()
            for service in self.services.values():
                if service.active:
                    self._log(
                        service, "systemd[1]", f"Stopping {service.name}.service - {service.description}..."
                    )
                    service.started_mono = None
                    self._log(
                        service, "systemd[1]", f"Stopped {service.name}.service - {service.description}."
                    )
        self._sync_responders()

    def close(self) -> None:
        """Release sockets for good (the CT is deleted)."""
        self.halt()
        if self._responders is not None:
            self._responders.close()
            self._responders = None

    # -- what runs -------------------------------------------------------------------------------------
    def listeners(self) -> list[Listener]:
        with self._lock:
            return self._listeners()

    def _listeners(self) -> list[Listener]:
        if not self.running:
            return []
        now = time.monotonic()
        healthy = not self.faults.unhealthy()
        found: dict[int, Listener] = {}
        for service in self.services.values():
            if service.active and service.started_mono is not None:
                ready = healthy and now >= service.started_mono + service.warmup_s
                for port in service.ports:
                    found.setdefault(port, Listener(port, service.app, f"{service.name}.service", ready))
        for container in self.docker.running_containers():
            ready = healthy and self.docker.is_ready(container, now)
            for binding in container.ports:
                if binding.protocol == "tcp" and not _loopback_only(binding.host_ip):
                    found.setdefault(
                        binding.host_port,
                        Listener(
                            binding.host_port, container.project or container.name, container.name, ready
                        ),
                    )
        if self.oci_image and self._oci_started is not None:
            info = registry.lookup(self.oci_image)
            ready = healthy and now >= self._oci_started + self._oci_warmup
            for port in info.listens if info else ():
                found.setdefault(port, Listener(port, image_app_name(self.oci_image), "entrypoint", ready))
        return [found[port] for port in sorted(found)]

    def listening(self) -> list[tuple[int, str]]:
        """``(port, app_name)`` for every TCP port something listens on."""
        return [(item.port, item.app) for item in self.listeners()]

    def listener(self, port: int) -> Listener | None:
        return next((item for item in self.listeners() if item.port == port), None)

    def count_traffic(self, received: int, sent: int) -> None:
        """Bytes the responders exchanged on the container's address."""
        with self._lock:
            self._net_in += received
            self._net_out += sent

    def load(self) -> Load:
        """Deterministic figures from what runs: each unit's typical footprint, varying smoothly in time."""
        with self._lock:
            disk = self._disk_bytes()
            if not self.running or self._booted_mono is None:
                return Load(0.0, 0, disk, 0, 0)
            now_wall = time.time()
            now = time.monotonic()
            uptime = now - self._booted_mono
            cpu = 0.001 + 0.0005 * _wave(now_wall, 120, "os")
            mem = float(self.os.base_mem_bytes)
            units = self._running_units(now)
            for name, started, warmup in units:
                base_mem, base_cpu = _profile(name)
                mem += base_mem * MIB * (1 + 0.06 * _wave(now_wall, 600, name))
                cpu += base_cpu * (1 + 0.5 * _wave(now_wall, 180, name))
                since = now - started
                if warmup > 0 and since < 3 * warmup:  # start-up burst fading over a few warm-up periods
                    cpu += 0.6 * math.exp(-since / warmup)
            if now < self._busy_until:
                cpu += 0.45  # unpacking packages or image layers
            # A little background traffic per running unit (DNS, NTP, health probes), growing with uptime.
            chatter = uptime * (180 + 90 * len(units))
            return Load(cpu, int(mem), disk, int(self._net_in + chatter), int(self._net_out + chatter * 0.4))

    def _running_units(self, now: float) -> list[tuple[str, float, float]]:
        units = [
            (s.name, s.started_mono, s.warmup_s) for s in self.services.values() if s.started_mono is not None
        ]
        units += [
            (c.image, c.started_mono, c.warmup_s)
            for c in self.docker.running_containers()
            if c.started_mono is not None
        ]
        if self.oci_image and self._oci_started is not None:
            units.append((self.oci_image, self._oci_started, self._oci_warmup))
        return units

    def _disk_bytes(self) -> int:
        table = packages_for(self.os.family)
        packages = sum(table[name].installed_bytes for name in self.packages if name in table)
        images = sum(int(size * 2.3) for size in self.docker.images.values())  # unpacked layers
        oci = 0
        if self.oci_image:
            info = registry.lookup(self.oci_image)
            oci = int((info.size_bytes if info else 150_000_000) * 2.3)
        return self.os.base_disk_bytes + packages + images + oci + self.fs.total_bytes()

    # -- exec ------------------------------------------------------------------------------------------
    def exec(self, argv: list[str], stdin: bytes = b"") -> ExecResult:
        """Run ``argv`` as ``lxc-attach`` would (no shell). Every argv is recorded in ``exec_log``."""
        with self._exec_lock, self._lock:
            self.exec_log.append(list(argv))
            if not self.running:
                return ExecResult(1, b"", b"container is not running\n")
            notify = self._on_change
            before = self._disk_digest() if notify else b""
            try:
                out = self._run(list(argv), stdin, {"PATH": DEFAULT_PATH, "HOME": "/root"})
            except Interrupted:
                out = Output(rc=137)
            changed = notify is not None and self._disk_digest() != before
        self._sync_responders()
        if changed and notify is not None:
            notify()
        return ExecResult(out.rc, Output.join(out.stdout), Output.join(out.stderr))

    def _disk_digest(self) -> bytes:
        return hashlib.sha1(
            json.dumps(self._disk_dict(), sort_keys=True).encode(), usedforsecurity=False
        ).digest()

    def reads_stdin(self, argv: list[str]) -> bool:
        """Whether ``argv`` consumes its standard input (so a transport must wait for the end of it)."""
        if not argv:
            return False
        name = posixpath.basename(argv[0])
        if name == "env":
            rest = argv[1:]
            while rest and ("=" in rest[0] or rest[0].startswith("-")):
                rest = rest[1:]
            return self.reads_stdin(rest)
        if name == "tee":
            return True
        if name == "cat":
            return not [a for a in argv[1:] if a != "-" and not a.startswith("-")] or "-" in argv[1:]
        if name in ("sh", "bash") and len(argv) >= 3 and argv[1] == "-c":
            return any(self.reads_stdin(part) for part, _ in split_sequence(argv[2])[0] if part)
        return False

    def wait(self, seconds: float) -> None:
        """Let ``seconds`` of simulated time pass (scaled) with the state lock released."""
        boot = self._boots
        self._busy_until = max(self._busy_until, time.monotonic() + seconds * self.time_scale)
        self._lock.release()
        try:
            time.sleep(max(0.0, seconds * self.time_scale))
        finally:
            self._lock.acquire()
        if self._boots != boot or not self.running:
            raise Interrupted()

    def now(self) -> float:
        return time.monotonic()

    def ports_in_use(self) -> dict[int, str]:
        """Host TCP port -> who holds it (a service unit or a container name)."""
        held: dict[int, str] = {}
        for service in self.services.values():
            if service.active:
                for port in service.ports:
                    held[port] = f"{service.name}.service"
        for container in self.docker.running_containers():
            for binding in container.ports:
                if binding.protocol == "tcp":
                    held[binding.host_port] = container.name
        return held

    def note_download(self, size: int) -> None:
        self._net_in += size

    def pull_error(self) -> str | None:
        return self.faults.pull_error

    # -- the interpreter -------------------------------------------------------------------------------
    def _run(self, argv: list[str], stdin: bytes, env: dict[str, str]) -> Output:
        if not argv:
            return Output(rc=1).fail("lxc-attach: no command given")
        program = argv[0]
        name = self._resolve(program)
        if name is None:
            if "/" in program:
                path = normalize(program)
                if self.fs.is_file(path) and self.fs.mode(path) & 0o111:
                    return self._script(path, argv[1:])
                reason = "Permission denied" if self.fs.is_file(path) else "No such file or directory"
                return Output().fail(f"{program}: {reason}", 126 if self.fs.is_file(path) else 127)
            return Output().fail(f"{program}: command not found", 127)
        handler = getattr(self, "_cmd_" + name.replace("-", "_").replace("[", "bracket"), None)
        if handler is None:  # installed binaries we do not interpret (curl, git, ...)
            return Output().fail(f"proximity-sim: '{name}' is installed but not simulated", 1)
        result: Output = handler(argv[1:], stdin, env)
        return result

    def _resolve(self, program: str) -> str | None:
        """The command ``program`` names if it exists in this container (built in or installed)."""
        directory, base = posixpath.split(program)
        if directory and normalize(directory) not in BIN_DIRS:
            return None
        available = set(self.os.commands)
        if self.oci_image:
            available -= {
                "apt-get",
                "apt",
                "apk",
                "systemctl",
                "journalctl",
                "rc-service",
                "rc-update",
                "bash",
            }
        table = packages_for(self.os.family)
        for name in self.packages:
            if name in table:
                available.update(table[name].binaries)
        return base if base in available else None

    # docker --------------------------------------------------------------------------------------------
    def _cmd_docker(self, args: list[str], stdin: bytes, env: dict[str, str]) -> Output:
        daemon = self.services.get("docker")
        if daemon is None or not daemon.active:
            if args and args[0] in ("-v", "--version"):
                return self.docker.cli(self, args, env, compose_plugin=False)
            return Output().fail(DAEMON_DOWN, 1)
        compose_plugin = bool(COMPOSE_PLUGIN_PACKAGES & set(self.packages))
        return self.docker.cli(self, args, env, compose_plugin=compose_plugin)

    def _cmd_docker_compose(self, args: list[str], stdin: bytes, env: dict[str, str]) -> Output:
        return self._cmd_docker(["compose", *args], stdin, env)

    # -- helpers ---------------------------------------------------------------------------------------
    def _warmup(self, size_bytes: int) -> float:
        """Real seconds until a freshly started app answers as healthy."""
        return warmup_seconds(size_bytes) * self.time_scale

    def _sync_responders(self) -> None:
        if self._responders is None:
            return
        with self._lock:
            listeners = self._listeners()
            ip = self.ip if self.running else None
        self._responders.sync(ip, [item.port for item in listeners])

    def responder_errors(self) -> dict[int, str]:
        """Ports whose HTTP responder could not bind (e.g. below 1024 without root), with the reason."""
        return dict(self._responders.errors) if self._responders is not None else {}


def _wave(now: float, period: float, name: str) -> float:
    """A smooth value in -1..1 with a phase of its own per name (never random)."""
    phase = (zlib.crc32(name.encode()) % 1000) / 1000 * 2 * math.pi
    return math.sin(2 * math.pi * now / period + phase)


def _profile(name: str) -> tuple[int, float]:
    lowered = name.lower()
    for key, mem, cpu in PROFILES:
        if key in lowered:
            return mem, cpu
    return DEFAULT_PROFILE


def _loopback_only(host_ip: str) -> bool:
    """A port published on the CT's own loopback ("127.0.0.1:8080:80") is not reachable on its address."""
    return host_ip.startswith("127.") or host_ip in ("::1", "localhost")
