"""The inside of a simulated container, without the API server: commands, packages, services, Compose."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import pytest

from proximity.sim.inside import ContainerInside, ExecResult

DEBIAN = "local:vztmpl/debian-13-standard_13.1-2_amd64.tar.zst"
ALPINE = "local:vztmpl/alpine-3.22-default_20250617_amd64.tar.xz"
SCALE = 0.001
APP_DIR = "/opt/proximity/jellyfin"
COMPOSE = [
    "docker",
    "compose",
    "--project-directory",
    APP_DIR,
    "-f",
    f"{APP_DIR}/compose.yaml",
    "-p",
    "jellyfin",
]
JELLYFIN_COMPOSE = b"""
services:
  jellyfin:
    image: jellyfin/jellyfin:10.11.3
    restart: unless-stopped
    ports: ["8096:8096"]
    volumes: ["/opt/jellyfin/config:/config", "cache:/cache"]
    environment:
      JELLYFIN_PublishedServerUrl: ${PUBLISHED_URL}
      TZ: ${TZ:-Europe/Paris}
      PLAIN: $$NOT_INTERPOLATED
volumes:
  cache:
"""


def make(template: str = DEBIAN, oci: str | None = None) -> ContainerInside:
    return ContainerInside.new(template, oci, time_scale=SCALE, serve_http=False)


@pytest.fixture
def ct() -> Iterator[ContainerInside]:
    inside = make()
    inside.boot("127.81.240.1")
    yield inside
    inside.close()


def run(inside: ContainerInside, *argv: str, stdin: bytes = b"") -> ExecResult:
    return inside.exec(list(argv), stdin)


def install_docker(inside: ContainerInside) -> None:
    assert run(inside, "apt-get", "update").rc == 0
    result = run(
        inside,
        "env",
        "DEBIAN_FRONTEND=noninteractive",
        "apt-get",
        "install",
        "-y",
        "docker.io",
        "docker-compose",
    )
    assert result.rc == 0, result.stderr


def write_project(inside: ContainerInside, env: bytes = b"PUBLISHED_URL=http://movies.lan\n") -> None:
    assert run(inside, "mkdir", "-p", APP_DIR).rc == 0
    assert run(inside, "tee", f"{APP_DIR}/compose.yaml", stdin=JELLYFIN_COMPOSE).rc == 0
    assert run(inside, "tee", f"{APP_DIR}/.env", stdin=env).rc == 0
    assert run(inside, "chmod", "600", f"{APP_DIR}/.env").rc == 0


# -- the basic vocabulary ------------------------------------------------------------------------------
def test_basic_commands_and_exit_codes(ct: ContainerInside) -> None:
    assert run(ct, "true").rc == 0
    assert run(ct, "false").rc == 1
    assert run(ct, "echo", "a", "b").stdout == b"a b\n"
    assert run(ct, "echo", "-n", "x").stdout == b"x"
    assert run(ct, "uname", "-m").stdout == b"x86_64\n"
    assert b"Debian GNU/Linux 13 (trixie)" in run(ct, "cat", "/etc/os-release").stdout
    missing = run(ct, "cat", "/nope")
    assert (missing.rc, missing.stderr) == (1, b"cat: /nope: No such file or directory\n")
    unknown = run(ct, "frobnicate", "--now")
    assert (unknown.rc, unknown.stderr) == (127, b"frobnicate: command not found\n")
    assert run(ct, "/usr/bin/echo", "hi").stdout == b"hi\n"
    assert run(ct, "/opt/missing.sh").rc == 127


def test_files_directories_and_modes(ct: ContainerInside) -> None:
    no_parent = run(ct, "mkdir", "/srv/a/b")
    assert no_parent.rc == 1 and "No such file or directory" in no_parent.stderr.decode()
    assert run(ct, "mkdir", "-p", "/srv/a/b").rc == 0
    assert run(ct, "mkdir", "-p", "/srv/a/b").rc == 0  # -p: existing is fine
    assert run(ct, "mkdir", "/srv/a").rc == 1  # File exists
    assert run(ct, "tee", "/srv/a/b/f", stdin=b"one\n").stdout == b"one\n"
    assert run(ct, "tee", "-a", "/srv/a/b/f", stdin=b"two\n").rc == 0
    assert run(ct, "cat", "/srv/a/b/f").stdout == b"one\ntwo\n"
    assert run(ct, "test", "-f", "/srv/a/b/f").rc == 0
    assert run(ct, "test", "-d", "/srv/a/b/f").rc == 1
    assert run(ct, "test", "-e", "/srv/zzz").rc == 1
    assert run(ct, "[", "-d", "/srv/a", "]").rc == 0
    assert run(ct, "chmod", "600", "/srv/a/b/f").rc == 0
    assert run(ct, "ls", "-l", "/srv/a/b").stdout.startswith(b"-rw------- ")
    assert run(ct, "chmod", "u+x", "/srv/a/b/f").rc == 0
    assert run(ct, "test", "-x", "/srv/a/b/f").rc == 0
    assert run(ct, "chmod", "600", "/srv/none").rc == 1
    assert run(ct, "ls", "/srv/a").stdout == b"b\n"
    assert run(ct, "ls", "/srv/none").rc == 2
    assert run(ct, "rm", "/srv/a").stderr == b"rm: cannot remove '/srv/a': Is a directory\n"
    assert run(ct, "rm", "/srv/none").rc == 1
    assert run(ct, "rm", "-f", "/srv/none").rc == 0
    assert run(ct, "rm", "-rf", "/srv/a").rc == 0
    assert run(ct, "test", "-e", "/srv/a/b/f").rc == 1
    assert run(ct, "tee", "/srv/a/x", stdin=b"x").rc == 1  # parent gone


def test_binary_content_round_trips(ct: ContainerInside) -> None:
    blob = bytes(range(256)) * 3
    assert run(ct, "tee", "/root/blob", stdin=blob).rc == 0
    assert run(ct, "cat", "/root/blob").stdout == blob
    restored = ContainerInside.from_dict(json.loads(json.dumps(ct.to_dict())), serve_http=False)
    assert restored.fs.read("/root/blob") == blob


def test_env_and_sh_sequences(ct: ContainerInside) -> None:
    assert b"FOO=bar" in run(ct, "env", "FOO=bar").stdout
    assert run(ct, "env", "A=1", "echo", "ok").stdout == b"ok\n"
    assert run(ct, "env", "A=1", "nothing-here").rc == 127
    result = run(ct, "sh", "-c", "test -f /nope && echo yes || echo no; echo done")
    assert (result.rc, result.stdout) == (0, b"no\ndone\n")
    assert run(ct, "sh", "-c", "false && echo never").rc == 1
    chained = run(ct, "sh", "-c", "mkdir -p /srv/x && echo made")
    assert chained.stdout == b"made\n" and run(ct, "test", "-d", "/srv/x").rc == 0
    not_found = run(ct, "bash", "-c", "nosuch arg")
    assert (not_found.rc, not_found.stderr) == (127, b"bash: line 1: nosuch: command not found\n")
    for fancy in ("echo $(id)", "cat /etc/passwd | head", "echo x > /etc/motd", "echo `id`", "echo $HOME"):
        refused = run(ct, "sh", "-c", fancy)
        assert refused.rc == 2 and b"only simple commands" in refused.stderr, fancy
    assert run(ct, "test", "-e", "/etc/motd").rc == 1


def test_hostile_arguments_stay_one_argv_element(ct: ContainerInside) -> None:
    hostile = "a'; rm -rf / #\"$(reboot)`id` && echo pwned\n|x"
    result = run(ct, "echo", hostile)
    assert result.stdout == (hostile + "\n").encode()
    path = "/root/" + "name with spaces;rm -rf"
    assert run(ct, "tee", path, stdin=hostile.encode()).rc == 0
    assert run(ct, "cat", path).stdout == hostile.encode()
    assert ct.exec_log[-1] == ["cat", path]
    assert ["echo", hostile] in ct.exec_log
    assert run(ct, "test", "-d", "/etc").rc == 0  # nothing was removed


def test_exec_refused_when_stopped() -> None:
    inside = make()
    result = run(inside, "true")
    assert result.rc != 0 and b"not running" in result.stderr


# -- packages and services -----------------------------------------------------------------------------
def test_apt_needs_update_then_installs_docker(ct: ContainerInside) -> None:
    assert run(ct, "docker", "ps").rc == 127
    before = run(ct, "apt-get", "install", "-y", "docker.io")
    assert (before.rc, before.stderr) == (100, b"E: Unable to locate package docker.io\n")
    assert run(ct, "apt-get", "update").rc == 0
    unknown = run(ct, "apt-get", "install", "-y", "docker-ce")
    assert unknown.rc == 100 and b"Unable to locate package docker-ce" in unknown.stderr
    no_yes = run(ct, "apt-get", "install", "docker.io")
    assert no_yes.rc == 1 and b"Abort." in no_yes.stdout
    install_docker(ct)
    assert ct.packages.keys() >= {"docker.io", "docker-compose", "containerd", "runc"}
    assert run(ct, "systemctl", "is-active", "docker").stdout == b"active\n"
    assert run(ct, "docker", "ps").rc == 0
    again = run(ct, "apt-get", "install", "-y", "docker.io")
    assert b"docker.io is already the newest version" in again.stdout


def test_systemctl_and_journalctl(ct: ContainerInside) -> None:
    missing = run(ct, "systemctl", "start", "nothing")
    assert (missing.rc, missing.stderr) == (
        5,
        b"Failed to start nothing.service: Unit nothing.service not found.\n",
    )
    inactive = run(ct, "systemctl", "is-active", "nothing")
    assert (inactive.rc, inactive.stdout) == (3, b"inactive\n")
    assert run(ct, "journalctl", "-u", "nothing", "-n", "5", "--no-pager").stdout == b"-- No entries --\n"
    install_docker(ct)
    assert run(ct, "systemctl", "stop", "docker").rc == 0
    assert run(ct, "systemctl", "is-active", "docker").rc == 3
    down = run(ct, "docker", "ps")
    assert down.rc == 1 and b"Is the docker daemon running?" in down.stderr
    assert run(ct, "systemctl", "enable", "--now", "docker.service").rc == 0
    assert run(ct, "systemctl", "is-active", "docker").rc == 0
    journal = run(ct, "journalctl", "-u", "docker", "-n", "2", "--no-pager").stdout.decode().splitlines()
    assert len(journal) == 2 and journal[-1].endswith(
        "Started docker.service - Docker Application Container Engine."
    )


def test_alpine_has_no_apt_and_no_bash() -> None:
    inside = make(ALPINE)
    inside.boot("127.81.240.2")
    try:
        assert run(inside, "apt-get", "update").rc == 127
        assert run(inside, "bash", "-c", "true").rc == 127
        assert run(inside, "apk", "update").rc == 0
        assert run(inside, "apk", "add", "bash").rc == 0
        assert run(inside, "bash", "-c", "true").rc == 0
        assert b"Alpine Linux" in run(inside, "cat", "/etc/os-release").stdout
    finally:
        inside.close()


# -- Docker Compose ------------------------------------------------------------------------------------
def test_compose_not_available_without_the_plugin(ct: ContainerInside) -> None:
    assert run(ct, "apt-get", "update").rc == 0
    assert run(ct, "apt-get", "install", "-y", "docker.io").rc == 0
    result = run(ct, "docker", "compose", "version")
    assert result.rc == 1 and b"'compose' is not a docker command" in result.stderr


def test_compose_up_interpolates_env_file_and_runs(ct: ContainerInside) -> None:
    install_docker(ct)
    write_project(ct)
    config = run(ct, *COMPOSE, "config", "--format", "json")
    assert config.rc == 0, config.stderr
    service = json.loads(config.stdout)["services"]["jellyfin"]
    assert service["environment"] == {
        "JELLYFIN_PublishedServerUrl": "http://movies.lan",
        "TZ": "Europe/Paris",
        "PLAIN": "$NOT_INTERPOLATED",
    }
    up = run(ct, *COMPOSE, "up", "-d")
    assert up.rc == 0, up.stderr
    assert b"Container jellyfin-jellyfin-1  Started" in up.stderr
    assert ct.docker.has_image("docker.io/jellyfin/jellyfin:10.11.3")
    assert ct.fs.is_dir("/opt/jellyfin/config")  # bind-mount source created as Docker does
    assert ct.fs.is_dir("/var/lib/docker/volumes/jellyfin_cache/_data")
    ps = run(ct, *COMPOSE, "ps", "--format", "json")
    (record,) = [json.loads(line) for line in ps.stdout.decode().splitlines()]
    assert (record["Service"], record["State"], record["Project"]) == ("jellyfin", "running", "jellyfin")
    assert record["Publishers"] == [
        {"URL": "0.0.0.0", "TargetPort": 8096, "PublishedPort": 8096, "Protocol": "tcp"}
    ]
    assert ct.listening() == [(8096, "jellyfin")]
    container = ct.docker.containers["jellyfin-jellyfin-1"]
    assert container.environment["JELLYFIN_PublishedServerUrl"] == "http://movies.lan"
    deadline = time.monotonic() + 10  # the app logs "ready" once its (scaled) warm-up is over
    tail = [*COMPOSE, "logs", "--no-color", "--tail", "2"]
    while len(logs := run(ct, *tail).stdout.decode().splitlines()) < 2:
        assert time.monotonic() < deadline, logs
        time.sleep(0.02)
    assert len(logs) == 2 and all(line.startswith("jellyfin-1  | ") for line in logs)
    down = run(ct, *COMPOSE, "down")
    assert down.rc == 0 and ct.listening() == []
    assert run(ct, *COMPOSE, "ps", "--format", "json").stdout == b""


def test_compose_shell_environment_wins_and_unset_variables_warn(ct: ContainerInside) -> None:
    install_docker(ct)
    write_project(ct, env=b"# settings\nexport PUBLISHED_URL='http://from-file'\n")
    config = run(ct, "env", "PUBLISHED_URL=http://from-shell", *COMPOSE, "config", "--format", "json")
    assert (
        json.loads(config.stdout)["services"]["jellyfin"]["environment"]["JELLYFIN_PublishedServerUrl"]
        == "http://from-shell"
    )
    assert run(ct, "rm", f"{APP_DIR}/.env").rc == 0
    unset = run(ct, *COMPOSE, "config", "--format", "json")
    assert unset.rc == 0
    assert b'The \\"PUBLISHED_URL\\" variable is not set. Defaulting to a blank string.' in unset.stderr


def test_compose_errors_read_like_compose(ct: ContainerInside) -> None:
    install_docker(ct)
    assert run(ct, "mkdir", "-p", "/opt/p").rc == 0
    missing = run(ct, "docker", "compose", "--project-directory", "/opt/p", "up", "-d")
    assert (missing.rc, missing.stderr) == (1, b"no configuration file provided: not found\n")
    run(ct, "tee", "/opt/p/compose.yaml", stdin=b'services:\n  web:\n    image: nginx\n    ports: ["80:80"\n')
    broken = run(ct, "docker", "compose", "--project-directory", "/opt/p", "up", "-d")
    assert broken.rc == 1 and broken.stderr.startswith(b"yaml: ")
    run(
        ct,
        "tee",
        "/opt/p/compose.yaml",
        stdin=b"services:\n  web:\n    image: nginx\n    environment:\n"
        b"      KEY: ${REQUIRED:?set REQUIRED first}\n",
    )
    required = run(ct, "docker", "compose", "--project-directory", "/opt/p", "up", "-d")
    assert (
        required.rc == 1
        and b"required variable REQUIRED is missing a value: set REQUIRED first" in required.stderr
    )
    attach = run(ct, "docker", "compose", "--project-directory", "/opt/p", "-p", "p", "up")
    assert attach.rc == 1
    run(ct, "tee", "/opt/p/compose.yaml", stdin=b"services:\n  web:\n    image: nginx\n")
    no_such = run(
        ct, "docker", "compose", "--project-directory", "/opt/p", "up", "-d", "--pull", "never", "db"
    )
    assert (no_such.rc, no_such.stderr) == (1, b"no such service: db\n")
    fine = run(
        ct, "docker", "compose", "--project-directory", "/opt/p", "up", "-d", "--pull", "always", "web"
    )
    assert fine.rc == 0, fine.stderr


def test_compose_port_conflict_is_refused(ct: ContainerInside) -> None:
    install_docker(ct)
    write_project(ct)
    assert run(ct, *COMPOSE, "up", "-d").rc == 0
    run(ct, "mkdir", "-p", "/opt/other")
    run(
        ct,
        "tee",
        "/opt/other/compose.yaml",
        stdin=b"services:\n  web:\n    image: nginx\n    ports: ['8096:80']\n",
    )
    clash = run(ct, "docker", "compose", "--project-directory", "/opt/other", "up", "-d")
    assert clash.rc == 1 and b"Bind for 0.0.0.0:8096 failed: port is already allocated" in clash.stderr


def test_port_published_on_loopback_is_not_served_on_the_address(ct: ContainerInside) -> None:
    install_docker(ct)
    run(ct, "mkdir", "-p", "/opt/db")
    document = b"services:\n  db:\n    image: postgres:17\n    ports: ['127.0.0.1:5432:5432', '8081:8080']\n"
    run(ct, "tee", "/opt/db/compose.yaml", stdin=document)
    assert run(ct, "docker", "compose", "--project-directory", "/opt/db", "up", "-d").rc == 0
    assert ct.listening() == [(8081, "db")]


def test_compose_pull_failure_fault(ct: ContainerInside) -> None:
    install_docker(ct)
    write_project(ct)
    ct.faults.pull_error = "toomanyrequests: You have reached your pull rate limit."
    result = run(ct, *COMPOSE, "pull")
    assert result.rc == 1 and b"toomanyrequests" in result.stderr
    assert not ct.docker.has_image("jellyfin/jellyfin:10.11.3")


def test_restart_policy_survives_reboot_and_disk_survives_clone(ct: ContainerInside) -> None:
    install_docker(ct)
    write_project(ct)
    assert run(ct, *COMPOSE, "up", "-d").rc == 0
    ct.halt()
    assert ct.listening() == [] and ct.load().mem_bytes == 0
    ct.boot("127.81.240.1")
    assert ct.listening() == [(8096, "jellyfin")]  # unless-stopped: Docker brings it back
    clone = ContainerInside.from_dict(
        json.loads(json.dumps(ct.to_dict())), serve_http=False, time_scale=SCALE
    )
    assert not clone.running and clone.listening() == []
    clone.boot("127.81.240.9")
    try:
        assert clone.listening() == [(8096, "jellyfin")]
        assert clone.fs.read(f"{APP_DIR}/.env") == b"PUBLISHED_URL=http://movies.lan\n"
        assert clone.fs.mode(f"{APP_DIR}/.env") == 0o600
    finally:
        clone.close()
    assert run(ct, *COMPOSE, "stop").rc == 0
    ct.halt()
    ct.boot("127.81.240.1")
    assert ct.listening() == []  # stopped by hand: unless-stopped keeps it down


# -- native scripts and OCI images ---------------------------------------------------------------------
def test_native_install_script_starts_a_service_on_the_ports(ct: ContainerInside) -> None:
    without_env = run(ct, "bash", "/opt/proximity/install.sh")
    assert without_env.rc == 127  # the script itself is missing
    run(ct, "mkdir", "-p", "/opt/proximity", "/etc/proximity")
    run(ct, "tee", "/opt/proximity/install.sh", stdin=b"#!/bin/bash\nset -e\nsystemctl enable --now kuma\n")
    no_env = run(ct, "bash", "/opt/proximity/install.sh")
    assert no_env.rc == 1 and b"/etc/proximity/app.env: No such file or directory" in no_env.stderr
    run(
        ct,
        "tee",
        "/etc/proximity/app.env",
        stdin=b"PROXIMITY_APP=uptime-kuma\nPROXIMITY_PORTS=3001,3002/tcp\n",
    )
    result = run(ct, "bash", "/opt/proximity/install.sh")
    assert result.rc == 0, result.stderr
    assert ct.listening() == [(3001, "uptime-kuma"), (3002, "uptime-kuma")]
    assert run(ct, "systemctl", "is-active", "kuma").stdout == b"active\n"
    assert ct.fs.is_file("/etc/systemd/system/kuma.service")
    journal = run(ct, "journalctl", "-u", "kuma", "-n", "50", "--no-pager").stdout.decode()
    assert "Started kuma.service" in journal and "listening on 0.0.0.0:3001" in journal
    ct.halt()
    ct.boot("127.81.240.1")
    assert ct.listening() == [(3001, "uptime-kuma"), (3002, "uptime-kuma")]  # enabled: back after a reboot


def test_install_script_fault(ct: ContainerInside) -> None:
    run(ct, "mkdir", "-p", "/opt/proximity", "/etc/proximity")
    run(ct, "tee", "/opt/proximity/install.sh", stdin=b"#!/bin/bash\n")
    run(ct, "tee", "/etc/proximity/app.env", stdin=b"PROXIMITY_APP=x\nPROXIMITY_PORTS=8080\n")
    ct.faults.install_error = "E: Failed to fetch http://deb.debian.org/...: 503 Service Unavailable"
    result = run(ct, "bash", "/opt/proximity/install.sh")
    assert result.rc == 1 and b"Failed to fetch" in result.stderr
    assert ct.listening() == []


def test_oci_entrypoint_starts_at_boot_with_registry_ports() -> None:
    inside = make("local:vztmpl/vaultwarden_server_1.34.3.tar", oci="docker.io/vaultwarden/server:1.34.3")
    assert inside.listening() == []
    inside.boot("127.81.240.3")
    try:
        assert inside.listening() == [(80, "vaultwarden")]
        assert run(inside, "apt-get", "update").rc == 127  # no package manager in an app container
        assert run(inside, "systemctl", "is-active", "x").rc == 127  # the entrypoint is PID 1, no systemd
        assert run(inside, "uname", "-m").stdout == b"x86_64\n"
    finally:
        inside.close()
    unknown = make("local:vztmpl/x.tar", oci="example.org/nobody/nothing:1")
    unknown.boot("127.81.240.4")
    assert unknown.listening() == []  # unknown image: runs, exposes nothing
    unknown.close()


# -- load ----------------------------------------------------------------------------------------------
def test_load_follows_what_runs_and_is_not_noise(ct: ContainerInside) -> None:
    idle = ct.load()
    assert 0 < idle.mem_bytes < 64 * 1024**2 and idle.cpu < 0.01
    install_docker(ct)
    write_project(ct)
    assert run(ct, *COMPOSE, "up", "-d").rc == 0
    busy = ct.load()
    assert busy.mem_bytes > idle.mem_bytes + 300 * 1024**2  # dockerd + containerd + jellyfin
    assert busy.disk_bytes > idle.disk_bytes + 1_000_000_000  # the unpacked image
    assert busy.netin > 470_000_000  # the pull
    first, second = ct.load(), ct.load()
    assert abs(first.mem_bytes - second.mem_bytes) < 0.01 * first.mem_bytes  # smooth, not random
    stopped = make()
    assert stopped.load().cpu == 0 and stopped.load().mem_bytes == 0 and stopped.load().disk_bytes > 0


def test_on_change_fires_only_when_the_disk_changed(ct: ContainerInside) -> None:
    calls: list[str] = []
    ct.configure(on_change=lambda: calls.append("changed"))
    run(ct, "cat", "/etc/os-release")
    run(ct, "systemctl", "is-active", "ssh")
    assert calls == []
    run(ct, "tee", "/root/note", stdin=b"x")
    assert calls == ["changed"]
    run(ct, "tee", "/root/note", stdin=b"x")  # same content: nothing changed
    assert calls == ["changed"]
    run(ct, "chmod", "600", "/root/note")
    assert calls == ["changed", "changed"]
