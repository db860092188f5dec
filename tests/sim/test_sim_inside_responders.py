"""HTTP responders on a running container's address: pages, health warm-up, faults, no collisions."""

from __future__ import annotations

import http.client
import json
import random
import socket
import time
from collections.abc import Iterator

import pytest

from proximity.sim import registry
from proximity.sim.inside import ContainerInside
from proximity.sim.inside_docker import warmup_seconds

DEBIAN = "local:vztmpl/debian-12-standard_12.12-1_amd64.tar.zst"
IMAGE = "docker.io/louislam/uptime-kuma:1"  # exposes 3001/tcp


def address() -> str:
    """A random CT address, so two test runs on one machine (or leftovers) do not meet on a port."""
    return f"127.81.{random.randint(230, 254)}.{random.randint(1, 254)}"


def get(ip: str, port: int, path: str) -> tuple[int, str, bytes]:
    connection = http.client.HTTPConnection(ip, port, timeout=3)
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        return response.status, response.getheader("Content-Type", ""), response.read()
    finally:
        connection.close()


def wait_for(ip: str, port: int, path: str, status: int, limit: float = 5.0) -> float:
    """Seconds until ``path`` answers ``status``."""
    start = time.monotonic()
    while time.monotonic() - start < limit:
        if get(ip, port, path)[0] == status:
            return time.monotonic() - start
        time.sleep(0.02)
    raise AssertionError(f"{ip}:{port}{path} never answered {status}")


def refused(ip: str, port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(1)
        return sock.connect_ex((ip, port)) != 0


# Long enough (about 0.6 s) that the first request after boot surely meets the warm-up, even on a loaded
# machine; waits below poll for a condition instead of sleeping a guessed time.
TIME_SCALE = 0.1
WARMUP_S = warmup_seconds(registry.lookup(IMAGE).size_bytes) * TIME_SCALE  # type: ignore[union-attr]


@pytest.fixture
def oci_ct() -> Iterator[ContainerInside]:
    inside = ContainerInside.new("local:vztmpl/uptime-kuma_1.tar", IMAGE, time_scale=TIME_SCALE)
    inside.configure(vmid=120, hostname="status")
    yield inside
    inside.close()


def test_app_warms_up_then_answers_on_its_address(oci_ct: ContainerInside) -> None:
    ip = address()
    assert refused(ip, 3001)
    oci_ct.boot(ip)
    status, _, body = get(ip, 3001, "/api/health")
    assert status == 503 and json.loads(body)["status"] == "starting"
    waited = wait_for(ip, 3001, "/api/health", 200)
    assert waited > WARMUP_S / 2  # a real warm-up happened (scaled), not an instant 200
    status, content_type, body = get(ip, 3001, "/api/health")
    document = json.loads(body)
    assert (status, content_type) == (200, "application/json")
    assert document == {
        "status": "ok",
        "app": "uptime-kuma",
        "unit": "entrypoint",
        "ct": "status",
        "vmid": 120,
        "address": f"{ip}:3001",
    }
    status, content_type, page = get(ip, 3001, "/dashboard/anything")
    assert status == 200 and content_type.startswith("text/html")
    assert b"uptime-kuma" in page and f"status ({ip}:3001), CT 120".encode() in page
    for path in ("/status.php", "/health", "/ping"):
        assert get(ip, 3001, path)[1] == "application/json"
    assert oci_ct.load().netout > 0


def test_halt_stops_the_servers_and_boot_elsewhere_moves_them(oci_ct: ContainerInside) -> None:
    first, second = address(), address()
    oci_ct.boot(first)
    assert not refused(first, 3001)
    oci_ct.halt()
    assert refused(first, 3001)
    oci_ct.boot(second)  # e.g. after a migration, with another address
    assert not refused(second, 3001) and (first == second or refused(first, 3001))
    oci_ct.close()
    assert refused(second, 3001)


def test_never_healthy_fault_answers_503_forever(oci_ct: ContainerInside) -> None:
    broken = {"on": True}
    oci_ct.configure(never_healthy=lambda: broken["on"])
    ip = address()
    booted = time.monotonic()
    oci_ct.boot(ip)
    past_warmup = booted + WARMUP_S + 0.1
    while time.monotonic() < past_warmup:  # 503 all along, and still after the warm-up has passed
        assert get(ip, 3001, "/api/health")[0] == 503
        time.sleep(0.05)
    assert get(ip, 3001, "/api/health")[0] == 503
    assert get(ip, 3001, "/")[0] == 503
    broken["on"] = False
    wait_for(ip, 3001, "/api/health", 200)


def test_two_containers_with_the_same_app_do_not_collide() -> None:
    first = ContainerInside.new("local:vztmpl/a.tar", IMAGE, time_scale=0.001)
    second = ContainerInside.new("local:vztmpl/b.tar", IMAGE, time_scale=0.001)
    first.configure(hostname="one")
    second.configure(hostname="two")
    try:
        one, two = address(), address()
        while two == one:
            two = address()
        first.boot(one)
        second.boot(two)
        assert first.responder_errors() == {} and second.responder_errors() == {}
        wait_for(one, 3001, "/health", 200)
        wait_for(two, 3001, "/health", 200)
        assert json.loads(get(one, 3001, "/health")[2])["ct"] == "one"
        assert json.loads(get(two, 3001, "/health")[2])["ct"] == "two"
    finally:
        first.close()
        second.close()


def test_compose_app_started_by_exec_gets_a_responder() -> None:
    inside = ContainerInside.new(DEBIAN, time_scale=0.001)
    ip = address()
    inside.boot(ip)
    try:
        assert inside.exec(["apt-get", "update"]).rc == 0
        assert inside.exec(["apt-get", "install", "-y", "docker.io", "docker-compose"]).rc == 0
        assert inside.exec(["mkdir", "-p", "/opt/proximity/whoami"]).rc == 0
        compose = b"services:\n  web:\n    image: nginx:1.29\n    ports: ['18080:80']\n"
        assert inside.exec(["tee", "/opt/proximity/whoami/compose.yaml"], compose).rc == 0
        assert refused(ip, 18080)
        up = inside.exec(
            ["docker", "compose", "--project-directory", "/opt/proximity/whoami", "-p", "whoami", "up", "-d"]
        )
        assert up.rc == 0, up.stderr
        wait_for(ip, 18080, "/", 200)
        assert b"whoami" in get(ip, 18080, "/")[2]
        assert (
            inside.exec(
                ["docker", "compose", "--project-directory", "/opt/proximity/whoami", "-p", "whoami", "down"]
            ).rc
            == 0
        )
        assert refused(ip, 18080)
    finally:
        inside.close()


def test_never_serves_outside_loopback() -> None:
    inside = ContainerInside.new("local:vztmpl/k.tar", IMAGE, time_scale=0.001)
    try:
        inside.boot("192.0.2.10")  # a static address outside 127.0.0.0/8 (TEST-NET-1)
        assert inside.listening() == [(3001, "uptime-kuma")]
        assert "not a loopback address" in inside.responder_errors()[3001]
    finally:
        inside.close()
