"""Docker inside a simulated container: images, containers and Compose projects, driven by the ``docker`` CLI.

The engine keeps the state; ``DockerHost`` (the container, ``inside.py``) gives it the file system, the
clock and the scaled waits. Output and exit codes follow Docker 26 / Compose 2.26 closely enough for a
client to parse them (``docker compose ps --format json`` prints one JSON object per line, as Compose does).
"""

from __future__ import annotations

import hashlib
import json
import posixpath
import time
from dataclasses import asdict, dataclass, field
from typing import Any, Protocol

import yaml

from proximity.sim import registry
from proximity.sim.inside_compose import (
    COMPOSE_FILE_NAMES,
    ComposeError,
    ComposeSpec,
    PortBinding,
    load_project,
    parse_dotenv,
)
from proximity.sim.inside_fs import FsError, VirtualFs

DOWNLOAD_BYTES_PER_S = 40_000_000  # a home connection pulling from Docker Hub
DAEMON_DOWN = (
    "Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?"
)


class DockerHost(Protocol):
    fs: VirtualFs
    time_scale: float

    def wait(self, seconds: float) -> None: ...  # simulated seconds; scaled and interruptible by halt
    def now(self) -> float: ...  # time.monotonic()
    def ports_in_use(self) -> dict[int, str]: ...
    def note_download(self, size: int) -> None: ...
    def pull_error(self) -> str | None: ...


@dataclass
class Output:
    """What a command printed: ``str`` items are lines (a newline is added), ``bytes`` go out as they are."""

    rc: int = 0
    stdout: list[str | bytes] = field(default_factory=list)
    stderr: list[str | bytes] = field(default_factory=list)

    def out(self, line: str) -> None:
        self.stdout.append(line)

    def err(self, line: str) -> None:
        self.stderr.append(line)

    def fail(self, message: str, rc: int = 1) -> Output:
        self.stderr.append(message)
        self.rc = rc
        return self

    @staticmethod
    def join(items: list[str | bytes]) -> bytes:
        return b"".join(
            item if isinstance(item, bytes) else (item + "\n").encode("utf-8", "replace") for item in items
        )


@dataclass
class DockerContainer:
    id: str
    name: str
    image: str
    project: str | None
    service: str | None
    ports: list[PortBinding]
    volumes: list[str]
    environment: dict[str, str]
    restart: str
    created: float
    desired_running: bool = False
    exit_code: int = 0
    finished: float | None = None
    log: list[tuple[float, str]] = field(default_factory=list)
    # runtime only (not persisted): set while the container runs
    started_wall: float | None = None
    started_mono: float | None = None
    warmup_s: float = 0.0

    @property
    def running(self) -> bool:
        return self.started_mono is not None

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        for runtime in ("started_wall", "started_mono", "warmup_s"):
            data.pop(runtime)
        data["ports"] = [asdict(p) for p in self.ports]
        data["log"] = [list(item) for item in self.log[-200:]]
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> DockerContainer:
        values = dict(data)
        values["ports"] = [PortBinding(**p) for p in data["ports"]]
        values["log"] = [(float(t), str(m)) for t, m in data["log"]]
        return cls(**values)


@dataclass
class ComposeProjectRecord:
    name: str
    working_dir: str
    config_files: list[str]


def _short_id(*parts: str) -> str:
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()


def human_duration(seconds: float) -> str:
    """Docker's ``units.HumanDuration``: "Less than a second", "5 seconds", "About a minute", ..."""
    if seconds < 1:
        return "Less than a second"
    if seconds < 60:
        return f"{int(seconds)} seconds"
    minutes = int(seconds / 60)
    if minutes == 1:
        return "About a minute"
    if minutes < 60:
        return f"{minutes} minutes"
    hours = int(seconds / 3600 + 0.5)
    if hours == 1:
        return "About an hour"
    if hours < 48:
        return f"{hours} hours"
    return f"{int(hours / 24)} days"


GENERIC_IMAGE_NAMES = frozenset({"server", "app", "web", "core", "main", "backend", "frontend"})


def image_app_name(image: str) -> str:
    """A readable app name for an image: its last path component, or the one before a generic one
    (``vaultwarden/server`` -> ``vaultwarden``)."""
    try:
        parts = registry.parse_reference(image).repository.split("/")
    except registry.InvalidReference:
        return image
    if parts[-1] in GENERIC_IMAGE_NAMES and len(parts) > 1:
        return parts[-2]
    return parts[-1]


def warmup_seconds(size_bytes: int) -> float:
    """Simulated seconds until a freshly started app answers as healthy: bigger images start slower
    (3 s plus 2 s per 100 MB, at most a minute)."""
    return min(60.0, 3.0 + 2.0 * size_bytes / 100_000_000)


class DockerEngine:
    """Images and containers of one Docker daemon; see the module docstring."""

    def __init__(self) -> None:
        self.images: dict[str, int] = {}  # canonical reference -> compressed size
        self.containers: dict[str, DockerContainer] = {}
        self.projects: dict[str, ComposeProjectRecord] = {}

    # -- persistence ---------------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        return {
            "images": dict(sorted(self.images.items())),
            "containers": {name: c.to_dict() for name, c in sorted(self.containers.items())},
            "projects": {name: asdict(p) for name, p in sorted(self.projects.items())},
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> DockerEngine:
        engine = cls()
        engine.images = {str(k): int(v) for k, v in data["images"].items()}
        engine.containers = {k: DockerContainer.from_dict(v) for k, v in data["containers"].items()}
        engine.projects = {k: ComposeProjectRecord(**v) for k, v in data["projects"].items()}
        return engine

    # -- the daemon's life ---------------------------------------------------------------------------
    def daemon_started(self, host: DockerHost) -> None:
        """Restart policies at daemon start: ``always`` and ``unless-stopped`` (if not stopped by hand)."""
        for container in self.containers.values():
            if container.restart == "always" or (
                container.restart == "unless-stopped" and container.desired_running
            ):
                self._start(host, container)

    def daemon_stopped(self) -> None:
        for container in self.containers.values():
            if container.running:
                self._stop(container, by_user=False)

    def running_containers(self) -> list[DockerContainer]:
        return [c for c in self.containers.values() if c.running]

    def is_ready(self, container: DockerContainer, now: float) -> bool:
        return container.started_mono is not None and now >= container.started_mono + container.warmup_s

    # -- images ----------------------------------------------------------------------------------------
    def pull(self, host: DockerHost, image: str, out: Output, *, compose_service: str | None = None) -> bool:
        try:
            ref = registry.parse_reference(image)
        except registry.InvalidReference as error:
            out.fail(f"Error response from daemon: {error}")
            return False
        failure = host.pull_error()
        if failure:
            out.fail(f"Error response from daemon: {failure}")
            return False
        info = registry.lookup(image)
        size = info.size_bytes if info else 150_000_000
        if compose_service:
            out.err(f" {compose_service} Pulling ")
        else:
            out.out(f"{ref.tag}: Pulling from {ref.repository.removeprefix('library/')}")
        host.wait(1.5 + size / DOWNLOAD_BYTES_PER_S)
        host.note_download(size)
        self.images[str(ref)] = size
        digest = _short_id("digest", str(ref))
        if compose_service:
            out.err(f" {compose_service} Pulled ")
        else:
            out.out(f"Digest: sha256:{digest}")
            out.out(f"Status: Downloaded newer image for {image}")
            out.out(str(ref))
        return True

    def has_image(self, image: str) -> bool:
        try:
            return str(registry.parse_reference(image)) in self.images
        except registry.InvalidReference:
            return False

    # -- containers --------------------------------------------------------------------------------------
    def _start(self, host: DockerHost, container: DockerContainer) -> None:
        info = registry.lookup(container.image)
        size = info.size_bytes if info else 150_000_000
        container.started_wall = time.time()
        container.started_mono = host.now()
        container.warmup_s = warmup_seconds(size) * host.time_scale
        container.desired_running = True
        app = container.service or image_app_name(container.image)
        container.log.append((container.started_wall, f"{app}: starting ({container.image})"))
        for binding in container.ports:
            container.log.append(
                (
                    container.started_wall,
                    f"{app}: listening on 0.0.0.0:{binding.container_port}/{binding.protocol}",
                )
            )

    def _stop(self, container: DockerContainer, *, by_user: bool) -> None:
        now = time.time()
        if container.started_wall is not None:
            ready_at = container.started_wall + container.warmup_s
            if ready_at <= now:
                container.log.append(
                    (ready_at, f"{container.service or image_app_name(container.image)}: ready")
                )
        container.log.append((now, "received SIGTERM, shutting down"))
        container.started_wall = container.started_mono = None
        container.exit_code = 0
        container.finished = now
        if by_user:
            container.desired_running = False

    def log_lines(self, container: DockerContainer) -> list[tuple[float, str]]:
        lines = list(container.log)
        if container.started_wall is not None:
            ready_at = container.started_wall + container.warmup_s
            if ready_at <= time.time():
                lines.append((ready_at, f"{container.service or image_app_name(container.image)}: ready"))
        return sorted(lines, key=lambda item: item[0])

    # -- the docker CLI --------------------------------------------------------------------------------
    def cli(self, host: DockerHost, args: list[str], env: dict[str, str], *, compose_plugin: bool) -> Output:
        out = Output()
        if not args or args[0] in ("-h", "--help", "help"):
            out.out("Usage:  docker [OPTIONS] COMMAND")
            return out
        command, rest = args[0], args[1:]
        if command in ("-v", "--version"):
            out.out("Docker version 26.1.5+dfsg1, build a72d7cd")
            return out
        if command == "compose":
            if not compose_plugin:
                return out.fail("docker: 'compose' is not a docker command.\nSee 'docker --help'")
            return self.compose(host, rest, env)
        handlers = {
            "ps": self._ps,
            "pull": self._pull_cmd,
            "images": self._images,
            "logs": self._logs,
            "version": self._version,
        }
        handler = handlers.get(command)
        if handler is None:
            return out.fail(f"docker: '{command}' is not a docker command.\nSee 'docker --help'")
        return handler(host, rest, out)

    def _version(self, host: DockerHost, args: list[str], out: Output) -> Output:
        out.out(
            "Client:\n Version:           26.1.5+dfsg1\n API version:       1.45\n\n"
            "Server:\n Engine:\n  Version:          26.1.5+dfsg1"
        )
        return out

    def _pull_cmd(self, host: DockerHost, args: list[str], out: Output) -> Output:
        images = [a for a in args if not a.startswith("-")]
        if len(images) != 1:
            return out.fail('"docker pull" requires exactly 1 argument.')
        self.pull(host, images[0], out)
        return out

    def _images(self, host: DockerHost, args: list[str], out: Output) -> Output:
        out.out(f"{'REPOSITORY':<40} {'TAG':<12} {'IMAGE ID':<14} SIZE")
        for ref, size in sorted(self.images.items()):
            parsed = registry.parse_reference(ref)
            repository = parsed.name.removeprefix("docker.io/").removeprefix("library/")
            out.out(
                f"{repository:<40} {parsed.tag:<12} {_short_id('image', ref)[:12]:<14} {size / 1e6:.0f}MB"
            )
        return out

    def _ps(self, host: DockerHost, args: list[str], out: Output) -> Output:
        show_all = "-a" in args or "--all" in args
        as_json = _format_is_json(args)
        quiet = "-q" in args or "--quiet" in args
        chosen = [c for c in self.containers.values() if show_all or c.running]
        chosen.sort(key=lambda c: c.created, reverse=True)
        if quiet:
            out.stdout.extend(c.id[:12] for c in chosen)
        elif as_json:
            out.stdout.extend(
                json.dumps(self._ps_record(c, compose=False), separators=(",", ":")) for c in chosen
            )
        else:
            out.out(f"{'CONTAINER ID':<14} {'IMAGE':<36} {'STATUS':<22} {'PORTS':<30} NAMES")
            for c in chosen:
                out.out(
                    f"{c.id[:12]:<14} {c.image:<36} {self._status(c):<22} {self._ports_text(c):<30} {c.name}"
                )
        return out

    def _logs(self, host: DockerHost, args: list[str], out: Output) -> Output:
        tail, names, _ = _log_options(args)
        if len(names) != 1:
            return out.fail('"docker logs" requires exactly 1 argument.')
        container = self.containers.get(names[0]) or next(
            (c for c in self.containers.values() if c.id.startswith(names[0])), None
        )
        if container is None:
            return out.fail(f"Error response from daemon: No such container: {names[0]}")
        lines = [text for _, text in self.log_lines(container)]
        out.stdout.extend(lines[-tail:] if tail is not None else lines)
        return out

    def _status(self, c: DockerContainer) -> str:
        now = time.time()
        if c.running and c.started_wall is not None:
            return f"Up {human_duration(now - c.started_wall)}"
        if c.finished is None:
            return "Created"
        return f"Exited ({c.exit_code}) {human_duration(now - c.finished)} ago"

    def _ports_text(self, c: DockerContainer) -> str:
        if not c.running:
            return ""
        return ", ".join(
            f"{b.host_ip or '0.0.0.0'}:{b.host_port}->{b.container_port}/{b.protocol}" for b in c.ports
        )

    def _ps_record(self, c: DockerContainer, *, compose: bool) -> dict[str, Any]:
        record: dict[str, Any] = {
            "Command": '"/entrypoint"',
            "CreatedAt": time.strftime("%Y-%m-%d %H:%M:%S +0000 UTC", time.gmtime(c.created)),
            "ID": c.id[:12],
            "Image": c.image,
            "Labels": ",".join(
                f"com.docker.compose.{k}={v}"
                for k, v in (("project", c.project), ("service", c.service))
                if v
            ),
            "LocalVolumes": str(sum(1 for v in c.volumes if not v.startswith("/"))),
            "Mounts": ",".join(v.split(":")[0] for v in c.volumes),
            "Names": c.name,
            "Networks": f"{c.project}_default" if c.project else "bridge",
            "Ports": self._ports_text(c),
            "RunningFor": f"{human_duration(time.time() - c.created)} ago",
            "Size": "0B",
            "State": "running" if c.running else ("created" if c.finished is None else "exited"),
            "Status": self._status(c),
        }
        if compose:
            record.update(
                {
                    "Name": c.name,
                    "Project": c.project or "",
                    "Service": c.service or "",
                    "Health": "",
                    "ExitCode": c.exit_code,
                    "Publishers": [
                        {
                            "URL": b.host_ip or "0.0.0.0",
                            "TargetPort": b.container_port,
                            "PublishedPort": b.host_port,
                            "Protocol": b.protocol,
                        }
                        for b in c.ports
                    ],
                }
            )
        return record

    # -- docker compose ----------------------------------------------------------------------------------
    def compose(self, host: DockerHost, args: list[str], env: dict[str, str]) -> Output:
        out = Output()
        options: dict[str, Any] = {"files": [], "project_dir": None, "project": None, "env_file": None}
        i = 0
        while i < len(args) and args[i].startswith("-"):
            flag = args[i]
            key, _, inline = flag.partition("=")
            takes_value = {
                "-f": "files",
                "--file": "files",
                "-p": "project",
                "--project-name": "project",
                "--project-directory": "project_dir",
                "--env-file": "env_file",
                "--ansi": None,
                "--progress": None,
                "--profile": None,
            }
            if key not in takes_value:
                return out.fail(f"unknown flag: {key}")
            if inline:
                value = inline
            elif i + 1 < len(args):
                i += 1
                value = args[i]
            else:
                return out.fail(f"flag needs an argument: {key}")
            target = takes_value[key]
            if target == "files":
                options["files"].append(value)
            elif target:
                options[target] = value
            i += 1
        if i >= len(args):
            out.out("Usage:  docker compose [OPTIONS] COMMAND")
            return out
        command, rest = args[i], args[i + 1 :]
        if command == "ls":
            return self._compose_ls(rest, out)
        try:
            spec, record = self._load(host, options, env, out)
        except ComposeError as error:
            return out.fail(str(error))
        for warning in spec.warnings:
            stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
            out.err(f'time="{stamp}" level=warning msg={json.dumps(warning)}')  # logrus' text format
        handlers = {
            "up": self._up,
            "down": self._down,
            "pull": self._compose_pull,
            "ps": self._compose_ps,
            "logs": self._compose_logs,
            "stop": self._compose_stop,
            "start": self._compose_start,
            "restart": self._compose_restart,
            "config": self._compose_config,
        }
        handler = handlers.get(command)
        if handler is None:
            return out.fail(f'unknown docker command: "compose {command}"')
        return handler(host, spec, record, rest, out)

    def _load(
        self, host: DockerHost, options: dict[str, Any], env: dict[str, str], out: Output
    ) -> tuple[ComposeSpec, ComposeProjectRecord]:
        files = [posixpath.normpath(posixpath.join("/root", f)) for f in options["files"]]
        project_dir = options["project_dir"]
        if project_dir:
            project_dir = posixpath.normpath(posixpath.join("/root", project_dir))
        if not files:
            base = project_dir or "/root"
            found = next(
                (
                    posixpath.join(base, n)
                    for n in COMPOSE_FILE_NAMES
                    if host.fs.is_file(posixpath.join(base, n))
                ),
                None,
            )
            if found is None:
                raise ComposeError("no configuration file provided: not found")
            files = [found]
        project_dir = project_dir or posixpath.dirname(files[0])
        texts = []
        for path in files:
            try:
                texts.append(host.fs.read(path).decode("utf-8", "replace"))
            except FsError as error:
                raise ComposeError(f"open {path}: {error.reason.lower()}") from None
        env_path = options["env_file"] or posixpath.join(project_dir, ".env")
        env_path = posixpath.normpath(posixpath.join(project_dir, env_path))
        dotenv: dict[str, str] = {}
        if host.fs.is_file(env_path):
            dotenv = parse_dotenv(host.fs.read(env_path).decode("utf-8", "replace"))
        elif options["env_file"]:
            raise ComposeError(f"couldn't find env file: {env_path}")
        interpolation_env = {**dotenv, **env}  # the shell's environment wins over .env
        if len(texts) > 1:
            raise ComposeError("more than one -f file is not simulated; merge them into one document")
        spec = load_project(
            texts[0],
            env=interpolation_env,
            project_name=options["project"],
            default_project_name=posixpath.basename(project_dir) or "root",
        )
        record = ComposeProjectRecord(spec.project, project_dir, files)
        return spec, record

    def _project_containers(self, project: str) -> list[DockerContainer]:
        return [c for c in self.containers.values() if c.project == project]

    def _up(
        self, host: DockerHost, spec: ComposeSpec, record: ComposeProjectRecord, args: list[str], out: Output
    ) -> Output:
        if not ({"-d", "--detach"} & set(args)):
            return out.fail(
                "proximity-sim: 'docker compose up' without -d would attach to the containers; run it with -d"
            )
        flags, names = _split_args(args, UP_VALUE_FLAGS)
        unknown = [name for name in names if name not in spec.services]
        if unknown:
            return out.fail(f"no such service: {unknown[0]}")
        wanted = spec.start_order(names or None)
        pull_always = flags.get("--pull") == "always"
        for name in wanted:
            service = spec.services[name]
            if pull_always or not self.has_image(service.image):
                if not self.pull(host, service.image, out, compose_service=name):
                    return out
        in_use = host.ports_in_use()
        own = {c.name for c in self._project_containers(spec.project)}
        for name in wanted:
            for binding in spec.services[name].ports:
                holder = in_use.get(binding.host_port) if binding.protocol == "tcp" else None
                if holder is not None and holder not in own:
                    endpoint = spec.services[name].container_name
                    return out.fail(
                        "Error response from daemon: driver failed programming external connectivity on "
                        f"endpoint {endpoint}: Bind for 0.0.0.0:{binding.host_port} failed: "
                        "port is already allocated"
                    )
        self.projects[spec.project] = record
        if not any(c.project == spec.project for c in self.containers.values()):
            out.err(f" Network {spec.project}_default  Creating")
            out.err(f" Network {spec.project}_default  Created")
        for volume in spec.named_volumes:
            path = f"/var/lib/docker/volumes/{spec.project}_{volume}/_data"
            if not host.fs.is_dir(path):
                host.fs.mkdir(path, parents=True)
                out.err(f' Volume "{spec.project}_{volume}"  Created')
        for name in wanted:
            self._up_service(host, spec, name, out)
        return out

    def _up_service(self, host: DockerHost, spec: ComposeSpec, name: str, out: Output) -> None:
        service = spec.services[name]
        existing = self.containers.get(service.container_name)
        same = existing is not None and (
            existing.image,
            existing.ports,
            existing.environment,
            existing.volumes,
        ) == (service.image, list(service.ports), service.environment, list(service.volumes))
        if existing is not None and existing.project != spec.project:
            out.fail(
                f'Error response from daemon: Conflict. The container name "/{service.container_name}" is '
                "already in use by another container"
            )
            return
        if existing is not None and same:
            if existing.running:
                out.err(f" Container {existing.name}  Running")
                return
            container = existing
        else:
            if existing is not None:
                if existing.running:
                    self._stop(existing, by_user=True)
                out.err(f" Container {existing.name}  Recreate")
                del self.containers[existing.name]
            created = time.time()
            container = DockerContainer(
                id=_short_id("container", spec.project, name, repr(created)),
                name=service.container_name,
                image=service.image,
                project=spec.project,
                service=name,
                ports=list(service.ports),
                volumes=list(service.volumes),
                environment=dict(service.environment),
                restart=service.restart,
                created=created,
            )
            for volume in service.volumes:
                source = volume.split(":")[0]
                if source.startswith("/") and ":" in volume and not host.fs.exists(source):
                    host.fs.mkdir(source, parents=True)  # Docker creates missing bind-mount sources
            self.containers[container.name] = container
            out.err(f" Container {container.name}  Created")
        out.err(f" Container {container.name}  Starting")
        self._start(host, container)
        out.err(f" Container {container.name}  Started")

    def _down(
        self, host: DockerHost, spec: ComposeSpec, record: ComposeProjectRecord, args: list[str], out: Output
    ) -> Output:
        for container in reversed(self._project_containers(spec.project)):
            if container.running:
                out.err(f" Container {container.name}  Stopping")
                self._stop(container, by_user=True)
                out.err(f" Container {container.name}  Stopped")
            out.err(f" Container {container.name}  Removing")
            del self.containers[container.name]
            out.err(f" Container {container.name}  Removed")
        if "-v" in args or "--volumes" in args:
            for volume in spec.named_volumes:
                path = f"/var/lib/docker/volumes/{spec.project}_{volume}"
                if host.fs.is_dir(path):
                    host.fs.remove(path, recursive=True)
                    out.err(f" Volume {spec.project}_{volume}  Removed")
        if spec.project in self.projects:
            out.err(f" Network {spec.project}_default  Removed")
            del self.projects[spec.project]
        return out

    def _compose_pull(
        self, host: DockerHost, spec: ComposeSpec, record: ComposeProjectRecord, args: list[str], out: Output
    ) -> Output:
        wanted = _split_args(args, frozenset())[1] or list(spec.services)
        for name in wanted:
            if name not in spec.services:
                return out.fail(f"no such service: {name}")
            if not self.pull(host, spec.services[name].image, out, compose_service=name):
                if "--ignore-pull-failures" not in args:
                    return out
                out.rc = 0
        return out

    def _compose_ps(
        self, host: DockerHost, spec: ComposeSpec, record: ComposeProjectRecord, args: list[str], out: Output
    ) -> Output:
        show_all = "-a" in args or "--all" in args
        chosen = [c for c in self._project_containers(spec.project) if show_all or c.running]
        if "-q" in args or "--quiet" in args:
            out.stdout.extend(c.id[:12] for c in chosen)
        elif _format_is_json(args):
            out.stdout.extend(
                json.dumps(self._ps_record(c, compose=True), separators=(",", ":")) for c in chosen
            )
        else:
            out.out(f"{'NAME':<32} {'IMAGE':<36} {'SERVICE':<16} {'STATUS':<22} PORTS")
            for c in chosen:
                out.out(
                    f"{c.name:<32} {c.image:<36} {c.service or '':<16} {self._status(c):<22} "
                    f"{self._ports_text(c)}"
                )
        return out

    def _compose_logs(
        self, host: DockerHost, spec: ComposeSpec, record: ComposeProjectRecord, args: list[str], out: Output
    ) -> Output:
        tail, names, follow = _log_options(args)
        if follow:
            return out.fail("proximity-sim: 'logs -f' would never end; leave out -f")
        containers = [c for c in self._project_containers(spec.project) if not names or c.service in names]
        merged: list[tuple[float, str]] = []
        for c in containers:
            lines = self.log_lines(c)
            if tail is not None:
                lines = lines[-tail:] if tail > 0 else []
            merged.extend((t, f"{c.service}-1  | {text}") for t, text in lines)
        out.stdout.extend(text for _, text in sorted(merged, key=lambda item: item[0]))
        return out

    def _compose_stop(
        self, host: DockerHost, spec: ComposeSpec, record: ComposeProjectRecord, args: list[str], out: Output
    ) -> Output:
        for container in self._project_containers(spec.project):
            if container.running:
                self._stop(container, by_user=True)
                out.err(f" Container {container.name}  Stopped")
        return out

    def _compose_start(
        self, host: DockerHost, spec: ComposeSpec, record: ComposeProjectRecord, args: list[str], out: Output
    ) -> Output:
        containers = self._project_containers(spec.project)
        if not containers:
            return out.fail('service "' + next(iter(spec.services)) + '" has no container to start')
        for container in containers:
            if not container.running:
                self._start(host, container)
                out.err(f" Container {container.name}  Started")
        return out

    def _compose_restart(
        self, host: DockerHost, spec: ComposeSpec, record: ComposeProjectRecord, args: list[str], out: Output
    ) -> Output:
        for container in self._project_containers(spec.project):
            if container.running:
                self._stop(container, by_user=True)
            self._start(host, container)
            out.err(f" Container {container.name}  Started")
        return out

    def _compose_config(
        self, host: DockerHost, spec: ComposeSpec, record: ComposeProjectRecord, args: list[str], out: Output
    ) -> Output:
        document = {
            "name": spec.project,
            "services": {
                name: {
                    "image": s.image,
                    "container_name": s.container_name,
                    "environment": s.environment,
                    "ports": [asdict(p) for p in s.ports],
                    "restart": s.restart,
                    "volumes": list(s.volumes),
                }
                for name, s in spec.services.items()
            },
        }
        out.out(json.dumps(document, indent=2) if _format_is_json(args) else _to_yaml(document))
        return out

    def _compose_ls(self, args: list[str], out: Output) -> Output:
        rows = []
        for name, record in sorted(self.projects.items()):
            containers = self._project_containers(name)
            running = sum(c.running for c in containers)
            status = f"running({running})" if running else f"exited({len(containers)})"
            rows.append({"Name": name, "Status": status, "ConfigFiles": ",".join(record.config_files)})
        if _format_is_json(args):
            out.out(json.dumps(rows, separators=(",", ":")))
        else:
            out.out(f"{'NAME':<20} {'STATUS':<16} CONFIG FILES")
            for row in rows:
                out.out(f"{row['Name']:<20} {row['Status']:<16} {row['ConfigFiles']}")
        return out


UP_VALUE_FLAGS = frozenset({"--pull", "--timeout", "-t", "--wait-timeout", "--scale", "--exit-code-from"})


def _split_args(args: list[str], value_flags: frozenset[str]) -> tuple[dict[str, str], list[str]]:
    """Flags (``--pull always``, ``--pull=always``, ``-d``) and the positional arguments (service names)."""
    flags: dict[str, str] = {}
    positionals: list[str] = []
    i = 0
    while i < len(args):
        arg = args[i]
        if arg.startswith("-"):
            name, equals, value = arg.partition("=")
            if not equals and name in value_flags and i + 1 < len(args):
                value = args[i + 1]
                i += 1
            flags[name] = value
        else:
            positionals.append(arg)
        i += 1
    return flags, positionals


def _format_is_json(args: list[str]) -> bool:
    for i, arg in enumerate(args):
        if arg in ("--format", "-f") and i + 1 < len(args):
            return args[i + 1] in ("json", "{{json .}}")
        if arg.startswith("--format="):
            return arg.split("=", 1)[1] in ("json", "{{json .}}")
    return False


def _log_options(args: list[str]) -> tuple[int | None, list[str], bool]:
    tail: int | None = None
    names: list[str] = []
    follow = False
    i = 0
    while i < len(args):
        arg = args[i]
        if arg in ("--tail", "-n") and i + 1 < len(args):
            value = args[i + 1]
            tail = None if value == "all" else int(value) if value.isdigit() else None
            i += 2
            continue
        if arg.startswith("--tail="):
            value = arg.split("=", 1)[1]
            tail = None if value == "all" else int(value) if value.isdigit() else None
        elif arg in ("-f", "--follow"):
            follow = True
        elif not arg.startswith("-"):
            names.append(arg)
        i += 1
    return tail, names, follow


def _to_yaml(document: dict[str, Any]) -> str:
    return yaml.safe_dump(document, sort_keys=False).rstrip("\n")
