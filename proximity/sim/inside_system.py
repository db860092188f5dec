"""Packages and services in a simulated container: ``apt-get``/``apk``, systemd and OpenRC, install scripts.

A mixin of ``ContainerInside`` (see ``inside_shell.py`` for the calling convention). Services are
systemd-like: ``enabled`` survives a reboot, ``active`` lasts while the container runs.
"""

from __future__ import annotations

import posixpath
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, cast

from proximity.sim.inside_docker import DockerEngine, DockerHost, Output
from proximity.sim.inside_fs import FsError, VirtualFs
from proximity.sim.inside_packages import OsProfile, packages_for, with_dependencies

APP_ENV_FILE = "/etc/proximity/app.env"
JOURNAL_SIZE = 500  # entries kept per service


@dataclass
class InsideFaults:
    """Trouble inside the container. ``never_healthy`` may be a flag or a callable asked on every request."""

    never_healthy: bool | Callable[[], bool] = False
    install_error: str | None = None  # an install script fails with this message
    pull_error: str | None = None  # image pulls fail with this daemon message

    def unhealthy(self) -> bool:
        value = self.never_healthy
        return bool(value()) if callable(value) else bool(value)


@dataclass
class Service:
    """A systemd-like service: enabled survives a reboot, ``active`` only lasts while the CT runs."""

    name: str
    description: str
    app: str
    ports: list[int]
    enabled: bool = False
    failed: bool = False
    log: list[tuple[float, str, str]] = field(default_factory=list)  # (time, ident, message)
    started_mono: float | None = None  # runtime only
    warmup_s: float = 0.0

    @property
    def active(self) -> bool:
        return self.started_mono is not None

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "description": self.description,
            "app": self.app,
            "ports": self.ports,
            "enabled": self.enabled,
            "failed": self.failed,
            "log": [list(item) for item in self.log[-200:]],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Service:
        return cls(
            name=data["name"],
            description=data["description"],
            app=data["app"],
            ports=list(data["ports"]),
            enabled=bool(data["enabled"]),
            failed=bool(data["failed"]),
            log=[(float(t), str(i), str(m)) for t, i, m in data["log"]],
        )


class SystemCommands:
    """Uses ``wait``, ``note_download``, ``ports_in_use``, ``_warmup``, ``_disk_bytes``, ``faults`` and
    ``docker`` of ``ContainerInside``."""

    fs: VirtualFs
    faults: InsideFaults
    docker: DockerEngine
    wait: Callable[[float], None]
    note_download: Callable[[int], None]
    ports_in_use: Callable[[], dict[int, str]]
    _warmup: Callable[[int], float]
    _disk_bytes: Callable[[], int]
    os: OsProfile
    packages: dict[str, str]
    apt_lists: bool
    services: dict[str, Service]
    hostname: str

    # packages ------------------------------------------------------------------------------------------
    def _cmd_apt_get(self, args: list[str], stdin: bytes, env: dict[str, str]) -> Output:
        words = [a for a in args if not a.startswith("-")]
        if not words:
            return (
                Output().fail("E: Invalid operation", 100) if args else Output(stdout=["apt 3.0.3 (amd64)"])
            )
        action, names = words[0], words[1:]
        if action == "update":
            return self._apt_update()
        assume_yes = bool({"-y", "--yes", "-qy", "-yq", "--assume-yes"} & set(args))
        if action == "install":
            return self._apt_install(names, assume_yes=assume_yes)
        if action in ("remove", "purge"):
            return self._apt_remove(names)
        if action in ("upgrade", "dist-upgrade", "full-upgrade", "autoremove", "clean"):
            self.wait(3.0 if action != "clean" else 0.2)
            return Output(
                stdout=[
                    "Reading package lists...",
                    "0 upgraded, 0 newly installed, 0 to remove and 0 not upgraded.",
                ]
            )
        return Output().fail(f"E: Invalid operation {action}", 100)

    def _cmd_apt(self, args: list[str], stdin: bytes, env: dict[str, str]) -> Output:
        result = self._cmd_apt_get(args, stdin, env)
        result.stderr.insert(
            0, "\nWARNING: apt does not have a stable CLI interface. Use with caution in scripts.\n"
        )
        return result

    def _apt_update(self) -> Output:
        codename, mirror = self.os.codename, self.os.mirror
        self.wait(4.0)
        self.note_download(9_400_000)
        self.apt_lists = True
        self.fs.write(
            f"/var/lib/apt/lists/{mirror.split('//')[1].replace('/', '_')}_dists_{codename}_InRelease",
            b"simulated\n",
        )
        return Output(
            stdout=[
                f"Get:1 {mirror} {codename} InRelease [140 kB]",
                f"Get:2 {mirror} {codename}-updates InRelease [47.1 kB]",
                f"Get:3 {mirror} {codename}-security InRelease [43.4 kB]",
                f"Get:4 {mirror} {codename}/main amd64 Packages [9,670 kB]",
                "Fetched 9,900 kB in 4s (2,475 kB/s)",
                "Reading package lists...",
            ]
        )

    def _apt_install(self, names: list[str], *, assume_yes: bool) -> Output:
        out = Output(
            stdout=["Reading package lists...", "Building dependency tree...", "Reading state information..."]
        )
        table = packages_for(self.os.family)
        unknown = [n for n in names if not self.apt_lists or n not in table]
        if unknown:
            return out.fail(f"E: Unable to locate package {unknown[0]}", 100)
        wanted = with_dependencies(names, table)
        new = [p for p in wanted if p.name not in self.packages]
        for package in wanted:
            if package.name in self.packages and package.name in names:
                out.out(f"{package.name} is already the newest version ({package.version}).")
        if new:
            out.out("The following NEW packages will be installed:")
            out.out("  " + " ".join(p.name for p in new))
        download = sum(p.download_bytes for p in new)
        out.out(f"0 upgraded, {len(new)} newly installed, 0 to remove and 0 not upgraded.")
        if not new:
            return out
        out.out(f"Need to get {download / 1e6:.1f} MB of archives.")
        out.out(
            f"After this operation, {sum(p.installed_bytes for p in new) / 1e6:.1f} MB of additional disk "
            "space will be used."
        )
        if not assume_yes:  # no terminal to answer the question: apt reads end-of-file
            out.out("Do you want to continue? [Y/n] Abort.")
            out.rc = 1
            return out
        self.wait(2.0 + download / 8_000_000 + 1.5 * len(new))
        self.note_download(download)
        for package in new:
            out.out(f"Setting up {package.name} ({package.version}) ...")
            self.packages[package.name] = package.version
            for binary in package.binaries:
                self.fs.write(f"/usr/bin/{binary}", b"\x7fELF", mode=0o755)
            if package.service:
                self._install_package_service(package.service, package.ports, out)
        return out

    def _install_package_service(self, name: str, ports: tuple[int, ...], out: Output) -> None:
        service = self.services.get(name)
        if service is None:
            service = self.services[name] = Service(name, _describe(name), name, list(ports))
            if self.os.family == "debian":
                unit = f"/etc/systemd/system/multi-user.target.wants/{name}.service"
                self.fs.mkdir(posixpath.dirname(unit), parents=True)
                self.fs.write(unit, f"[Unit]\nDescription={service.description}\n".encode())
                out.out(f"Created symlink '{unit}' → '/usr/lib/systemd/system/{name}.service'.")
        service.enabled = True
        self._start_service(service)

    def _apt_remove(self, names: list[str]) -> Output:
        out = Output(stdout=["Reading package lists..."])
        table = packages_for(self.os.family)
        for name in names:
            if name not in self.packages:
                out.out(f"Package '{name}' is not installed, so not removed")
                continue
            del self.packages[name]
            package = table.get(name)
            if package and package.service and package.service in self.services:
                service = self.services.pop(package.service)
                service.started_mono = None
                if package.service == "docker":
                    self.docker.daemon_stopped()
            for binary in package.binaries if package else ():
                self.fs.files.pop(f"/usr/bin/{binary}", None)
            out.out(f"Removing {name} ...")
        return out

    def _cmd_apk(self, args: list[str], stdin: bytes, env: dict[str, str]) -> Output:
        words = [a for a in args if not a.startswith("-")]
        if not words:
            return Output(stdout=["apk-tools 2.14.9, compiled for x86_64."])
        if words[0] == "update":
            self.wait(2.0)
            self.apt_lists = True
            return Output(
                stdout=[
                    "fetch https://dl-cdn.alpinelinux.org/alpine/v3.22/main/x86_64/APKINDEX.tar.gz",
                    "OK: 26315 distinct packages available",
                ]
            )
        if words[0] == "add":
            table = packages_for("alpine")
            unknown = [n for n in words[1:] if n not in table]
            if unknown:
                return Output().fail(
                    f"ERROR: unable to select packages:\n  {unknown[0]} (no such package):\n"
                    "    required by: world[{unknown[0]}]",
                    1,
                )
            out = Output()
            new = [p for p in with_dependencies(words[1:], table) if p.name not in self.packages]
            self.wait(1.0 + sum(p.download_bytes for p in new) / 8_000_000)
            for i, package in enumerate(new, start=1):
                out.out(f"({i}/{len(new)}) Installing {package.name} ({package.version})")
                self.packages[package.name] = package.version
                if package.service and package.service not in self.services:
                    self.services[package.service] = Service(
                        package.service, _describe(package.service), package.service, list(package.ports)
                    )
            out.out(f"OK: {self._disk_bytes() // 1_000_000} MiB in {len(self.packages) + 16} packages")
            return out
        return Output().fail(f"apk: unknown command '{words[0]}'", 1)

    # services ------------------------------------------------------------------------------------------
    def _start_service(self, service: Service) -> bool:
        if service.active:
            return True
        holders = self.ports_in_use()
        clash = [p for p in service.ports if p in holders and holders[p] != f"{service.name}.service"]
        self._log(service, "systemd[1]", f"Starting {service.name}.service - {service.description}...")
        if clash:
            self._log(service, service.name, f"bind: 0.0.0.0:{clash[0]}: address already in use")
            self._log(
                service,
                "systemd[1]",
                f"{service.name}.service: Main process exited, code=exited, status=1/FAILURE",
            )
            self._log(
                service, "systemd[1]", f"Failed to start {service.name}.service - {service.description}."
            )
            service.failed = True
            return False
        service.failed = False
        service.started_mono = time.monotonic()
        service.warmup_s = 0.0 if service.name in ("docker", "containerd", "cron", "ssh") else self._warmup(0)
        self._log(service, "systemd[1]", f"Started {service.name}.service - {service.description}.")
        for port in service.ports:
            self._log(service, service.name, f"listening on 0.0.0.0:{port}")
        if service.name == "docker":
            self.docker.daemon_started(cast(DockerHost, self))  # the mixin is part of ContainerInside
        return True

    def _stop_service(self, service: Service) -> None:
        if not service.active:
            return
        self._log(service, "systemd[1]", f"Stopping {service.name}.service - {service.description}...")
        if service.name == "docker":
            self.docker.daemon_stopped()
        service.started_mono = None
        self._log(service, "systemd[1]", f"Stopped {service.name}.service - {service.description}.")

    def _log(self, service: Service, ident: str, message: str) -> None:
        service.log.append((time.time(), ident, message))
        del service.log[:-JOURNAL_SIZE]

    def _unit(self, raw: str) -> str:
        return raw.removesuffix(".service")

    def _cmd_systemctl(self, args: list[str], stdin: bytes, env: dict[str, str]) -> Output:
        options = {a for a in args if a.startswith("-")}
        words = [a for a in args if not a.startswith("-")]
        if not words:
            return Output(
                stdout=[
                    f"{s.name}.service loaded {'active' if s.active else 'inactive'}"
                    for s in self.services.values()
                ]
            )
        verb, units = words[0], [self._unit(u) for u in words[1:]]
        if verb == "daemon-reload":
            return Output()
        if verb in ("is-active", "is-enabled", "is-failed"):
            return self._systemctl_query(verb, units)
        if not units:
            return Output().fail("Too few arguments.", 1)
        out = Output()
        for name in units:
            service = self.services.get(name)
            if service is None:
                action = {
                    "start": "start",
                    "restart": "restart",
                    "stop": "stop",
                    "status": "status",
                    "enable": "enable",
                    "disable": "disable",
                }.get(verb, verb)
                if verb == "status":
                    return out.fail(f"Unit {name}.service could not be found.", 4)
                if verb in ("enable", "disable"):
                    return out.fail(f"Failed to {action} unit: Unit {name}.service does not exist", 1)
                return out.fail(f"Failed to {action} {name}.service: Unit {name}.service not found.", 5)
            if verb == "start":
                if not self._start_service(service):
                    out.fail(
                        f"Job for {name}.service failed because the control process exited with error code.\n"
                        f'See "systemctl status {name}.service" and "journalctl -xeu {name}.service" for '
                        "details.",
                        1,
                    )
            elif verb == "stop":
                self._stop_service(service)
            elif verb == "restart":
                self._stop_service(service)
                if not self._start_service(service):
                    out.fail(f"Job for {name}.service failed.", 1)
            elif verb in ("enable", "disable"):
                service.enabled = verb == "enable"
                if verb == "enable":
                    out.err(
                        f"Created symlink '/etc/systemd/system/multi-user.target.wants/{name}.service' → "
                        f"'/etc/systemd/system/{name}.service'."
                    )
                if "--now" in options:
                    if verb == "enable" and not self._start_service(service):
                        out.fail(f"Job for {name}.service failed.", 1)
                    elif verb == "disable":
                        self._stop_service(service)
            elif verb == "status":
                state = (
                    "active (running)"
                    if service.active
                    else ("failed" if service.failed else "inactive (dead)")
                )
                out.out(f"● {name}.service - {service.description}")
                out.out(
                    f"     Loaded: loaded (/etc/systemd/system/{name}.service; "
                    f"{'enabled' if service.enabled else 'disabled'}; preset: enabled)"
                )
                out.out(f"     Active: {state}")
                if not service.active:
                    out.rc = 3
            else:
                return out.fail(f'Unknown command verb "{verb}".', 1)
        return out

    def _systemctl_query(self, verb: str, units: list[str]) -> Output:
        out = Output()
        all_ok = True
        for name in units:
            service = self.services.get(name)
            if verb == "is-enabled":
                if service is None:
                    out.err(f"Failed to get unit file state for {name}.service: No such file or directory")
                    all_ok = False
                    continue
                out.out("enabled" if service.enabled else "disabled")
                all_ok = all_ok and service.enabled
                continue
            state = (
                "active"
                if service and service.active
                else "failed"
                if service and service.failed
                else "inactive"
            )
            out.out(state)
            ok = state == "active" if verb == "is-active" else state == "failed"
            all_ok = all_ok and ok
        out.rc = 0 if all_ok else (1 if verb == "is-enabled" else 3 if verb == "is-active" else 1)
        return out

    def _cmd_journalctl(self, args: list[str], stdin: bytes, env: dict[str, str]) -> Output:
        units: list[str] = []
        lines: int | None = None
        i = 0
        while i < len(args):
            arg = args[i]
            if arg in ("-u", "--unit") and i + 1 < len(args):
                units.append(self._unit(args[i + 1]))
                i += 2
                continue
            if arg in ("-n", "--lines") and i + 1 < len(args):
                lines = int(args[i + 1]) if args[i + 1].isdigit() else None
                i += 2
                continue
            if arg.startswith("--lines="):
                value = arg.split("=", 1)[1]
                lines = int(value) if value.isdigit() else None
            i += 1
        entries: list[tuple[float, str, str]] = []
        for service in self.services.values():
            if not units or service.name in units:
                entries.extend(service.log)
                if service.started_mono is not None and service.warmup_s > 0:
                    ready = time.time() - (time.monotonic() - service.started_mono) + service.warmup_s
                    if ready <= time.time():
                        entries.append((ready, service.name, f"{service.app} is ready"))
        entries.sort(key=lambda e: e[0])
        if lines is not None:
            entries = entries[-lines:] if lines > 0 else []
        if not entries:
            return Output(stdout=["-- No entries --"])
        return Output(
            stdout=[
                f"{time.strftime('%b %d %H:%M:%S', time.localtime(t))} {self.hostname} {ident}: {message}"
                for t, ident, message in entries
            ]
        )

    def _cmd_rc_service(self, args: list[str], stdin: bytes, env: dict[str, str]) -> Output:
        if len(args) < 2:
            return Output().fail("Usage: rc-service [options] service cmd...", 1)
        name, verb = args[0], args[1]
        service = self.services.get(name)
        if service is None:
            return Output().fail(f" * rc-service: service `{name}' does not exist", 1)
        if verb == "start":
            return (
                Output(stdout=[f" * Starting {name} ... [ ok ]"])
                if self._start_service(service)
                else Output().fail(f" * ERROR: {name} failed to start", 1)
            )
        if verb == "stop":
            self._stop_service(service)
            return Output(stdout=[f" * Stopping {name} ... [ ok ]"])
        if verb == "status":
            return Output(
                stdout=[f" * status: {'started' if service.active else 'stopped'}"],
                rc=0 if service.active else 3,
            )
        return Output().fail(f" * {name}: unknown function `{verb}'", 1)

    def _cmd_rc_update(self, args: list[str], stdin: bytes, env: dict[str, str]) -> Output:
        if len(args) < 2 or args[0] not in ("add", "del"):
            return Output().fail("Usage: rc-update [options] add|del <service> [<runlevel>...]", 1)
        service = self.services.get(args[1])
        if service is None:
            return Output().fail(f" * rc-update: service `{args[1]}' does not exist", 1)
        service.enabled = args[0] == "add"
        return Output(
            stdout=[
                f" * service {args[1]} {'added to' if service.enabled else 'removed from'} runlevel default"
            ]
        )

    # native install scripts ----------------------------------------------------------------------------
    def _script(self, path: str, args: list[str]) -> Output:
        """Run an install script: reads ``/etc/proximity/app.env`` and leaves a service listening on
        ``PROXIMITY_PORTS`` (docs/simulator.md, "Inside containers"). The script text is never executed."""
        out = Output()
        text = self.fs.read(path).decode("utf-8", "replace")
        try:
            settings = _parse_env_file(self.fs.read(APP_ENV_FILE).decode("utf-8", "replace"))
        except FsError:
            return out.fail(f"{path}: line 1: {APP_ENV_FILE}: No such file or directory", 1)
        app = settings.get("PROXIMITY_APP") or posixpath.splitext(posixpath.basename(path))[0]
        try:
            ports = [
                int(p.split("/")[0]) for p in settings.get("PROXIMITY_PORTS", "").split(",") if p.strip()
            ]
        except ValueError:
            return out.fail(f"{path}: PROXIMITY_PORTS must be a comma-separated list of ports", 1)
        name = settings.get("PROXIMITY_SERVICE") or _service_in_script(text) or app
        out.out(f"[{app}] installing dependencies")
        self.wait(20.0 + 0.2 * len(text.splitlines()))
        self.note_download(60_000_000)
        if self.faults.install_error:
            return out.fail(f"[{app}] {self.faults.install_error}", 1)
        out.out(f"[{app}] writing /etc/systemd/system/{name}.service")
        self.fs.mkdir("/etc/systemd/system", parents=True)
        self.fs.write(
            f"/etc/systemd/system/{name}.service",
            f"[Unit]\nDescription={app}\n\n[Service]\nEnvironmentFile={APP_ENV_FILE}\n"
            f"ExecStart=/opt/{app}/bin/{app}\n\n[Install]\nWantedBy=multi-user.target\n".encode(),
        )
        service = self.services.get(name)
        if service is None:
            service = self.services[name] = Service(name, app, app, ports)
        else:
            self._stop_service(service)
            service.ports, service.app = ports, app
        service.enabled = True
        if not self._start_service(service):
            return out.fail(
                f"Job for {name}.service failed because the control process exited with error code.", 1
            )
        out.out(f"[{app}] {name}.service started, listening on {', '.join(map(str, ports)) or 'no port'}")
        return out


def _describe(name: str) -> str:
    return {
        "docker": "Docker Application Container Engine",
        "containerd": "containerd container runtime",
        "nginx": "A high performance web server and a reverse proxy server",
        "postgresql": "PostgreSQL RDBMS",
        "redis-server": "Advanced key-value store",
        "mariadb": "MariaDB 11.8 database server",
        "ssh": "OpenBSD Secure Shell server",
        "apache2": "The Apache HTTP Server",
        "cron": "Regular background program processing daemon",
    }.get(name, name)


def _parse_env_file(text: str) -> dict[str, str]:
    values = {}
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, _, value = line.partition("=")
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        values[key.strip().removeprefix("export ").strip()] = value
    return values


def _service_in_script(text: str) -> str | None:
    """The service a script enables (``systemctl enable --now NAME``), read as text, never run."""
    found = re.findall(r"systemctl\s+(?:enable\s+--now|start|enable)\s+([A-Za-z0-9_.@-]+)", text)
    return found[-1].removesuffix(".service") if found else None
