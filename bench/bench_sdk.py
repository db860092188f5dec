"""Benchmark the SDK against the simulator; prints a JSON report (and a Markdown table with --markdown).

Run: ``python -m bench.bench_sdk [--deploys 5] [--concurrent 50] [--listing 1000] [--latency-ms 5]``

1. Deploy: API calls and wall time per deploy of an OCI app, Proximity vs the minimal hand-written
   proxmoxer sequence for the same result (image present, CT created from it, started, address known,
   health check answered), in one run against the same simulator with the same injected per-request latency.
   The hand-written version uses proxmoxer's own ``Tasks.blocking_status`` helper (fixed interval).
2. Listing: ``px.apps.list()`` with N apps across two hosts (the floor is one ``cluster/resources`` call per
   host). The containers are created through the API; the app records are written straight to the store.
3. Concurrency: N deploys across 5 nodes with ``AsyncProximity`` (bounded per node) vs the same N one after
   another.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import tempfile
import time
from typing import Any

import anyio
from proxmoxer import ProxmoxAPI
from proxmoxer.tools import Tasks

from proximity import AsyncProximity, Proximity
from proximity.collections.health import wait_healthy
from proximity.models import App, AppStatus
from proximity.sim import Simulator

APP = "gotify"  # has an OCI install method and an HTTP health check
IMAGE_TEMPLATE = "local:vztmpl/{file}"


def _add(px: Any, sim: Simulator, name: str = "lab") -> Any:
    return px.hosts.add(name, **sim.host_options())


class CountingProxmox:
    """proxmoxer plus a request counter (a response hook on its requests session)."""

    def __init__(self, sim: Simulator):
        user, token = sim.token_id.split("!")
        self.api = ProxmoxAPI(
            sim.host,
            port=sim.port,
            user=user,
            token_name=token,
            token_value=sim.token_secret,
            verify_ssl=str(sim.ca_path),
            timeout=30,
        )
        self.calls = 0
        self.api._store["session"].hooks["response"].append(self._count)

    def _count(self, response: Any, *args: Any, **kwargs: Any) -> None:
        self.calls += 1


def hand_written_deploy(prox: CountingProxmox, name: str, health_path: str, port: int, image: str) -> float:
    """The minimal sequence a careful script would make for the same result."""
    started = time.perf_counter()
    api = prox.api
    nodes = [r for r in api.cluster.resources.get(type="node") if r.get("status") == "online"]
    node = max(nodes, key=lambda r: r["maxmem"] - r["mem"])["node"]
    file = image.rsplit("/", 1)[-1].replace(":", "_") + ".tar"
    volid = IMAGE_TEMPLATE.format(file=file)
    present = {c["volid"] for c in api.nodes(node).storage("local").content.get(content="vztmpl")}
    if volid not in present:
        upid = api.nodes(node).storage("local")("oci-registry-pull").post(reference=image)
        Tasks.blocking_status(api, upid, timeout=300, polling_interval=0.5)
    vmid = int(api.cluster.nextid.get())
    upid = api.nodes(node).lxc.post(
        vmid=vmid,
        ostemplate=volid,
        hostname=name,
        cores=1,
        memory=128,
        rootfs="local-lvm:2",
        net0="name=eth0,bridge=vmbr0,ip=dhcp",
        unprivileged=1,
    )
    Tasks.blocking_status(api, upid, timeout=300, polling_interval=0.5)
    upid = api.nodes(node).lxc(vmid).status.start.post()
    Tasks.blocking_status(api, upid, timeout=300, polling_interval=0.5)
    ip = None
    while ip is None:
        for iface in api.nodes(node).lxc(vmid).interfaces.get():
            if iface.get("name") != "lo" and iface.get("inet"):
                ip = iface["inet"].split("/")[0]
        if ip is None:
            time.sleep(0.2)
    anyio.run(lambda: wait_healthy(ip, port, path=health_path, timeout_s=60))
    return time.perf_counter() - started


def bench_deploy(runs: int, latency_ms: float) -> dict[str, Any]:
    with Simulator(nodes=3, time_scale=0.01, seed=1) as sim, Proximity(tempfile.mkdtemp()) as px:
        sim.faults.latency(latency_ms / 1000)
        _add(px, sim)
        entry = px.catalog.get(APP)
        image = next(m for m in entry.install if m.type == "oci").image
        port = entry.web_port.port if entry.web_port else entry.ports[0].port
        px.apps.deploy(APP, name="warm", method="oci")  # pulls the image once; both sides then find it
        prox = CountingProxmox(sim)
        hand_written_deploy(prox, "warm2", entry.healthcheck.path, port, image)
        ours, theirs = [], []
        for i in range(runs):
            before, t0 = px.api_calls(), time.perf_counter()
            px.apps.deploy(APP, name=f"px{i}", method="oci")
            ours.append((px.api_calls() - before, time.perf_counter() - t0))
            before = prox.calls
            seconds = hand_written_deploy(prox, f"hand{i}", entry.healthcheck.path, port, image)
            theirs.append((prox.calls - before, seconds))
    return {
        "runs": runs,
        "latency_ms": latency_ms,
        "proximity": {
            "calls": statistics.median(c for c, _ in ours),
            "seconds": statistics.median(s for _, s in ours),
        },
        "proxmoxer": {
            "calls": statistics.median(c for c, _ in theirs),
            "seconds": statistics.median(s for _, s in theirs),
        },
    }


def _fill(sim: Simulator, count: int) -> list[tuple[str, int]]:
    prox = CountingProxmox(sim).api
    nodes = [n["node"] for n in prox.nodes.get()]
    template = next(c["volid"] for c in prox.nodes(nodes[0]).storage("local").content.get(content="vztmpl"))
    made = []
    for i in range(count):
        node = nodes[i % len(nodes)]
        vmid = 1000 + i
        upid = prox.nodes(node).lxc.post(
            vmid=vmid,
            ostemplate=template,
            hostname=f"ct{vmid}",
            rootfs="local-lvm:1",
            net0="name=eth0,bridge=vmbr0,ip=dhcp",
        )
        Tasks.blocking_status(prox, upid, timeout=60, polling_interval=0.01)
        made.append((node, vmid))
    return made


def bench_listing(count: int) -> dict[str, Any]:
    half = count // 2
    with Simulator(nodes=3, time_scale=0, seed=2) as a, Simulator(nodes=3, time_scale=0, seed=3) as b:
        home = tempfile.mkdtemp()
        with Proximity(home) as px:
            for name, sim in (("a", a), ("b", b)):
                _add(px, sim, name)
                px.pve(name).download_template("pve1", "local", "alpine")
            for name, sim, n in (("a", a, half), ("b", b, count - half)):
                for node, vmid in _fill(sim, n):
                    px.store.insert_app(
                        App(
                            name=f"{name}-{vmid}",
                            catalog_id=APP,
                            host=name,
                            node=node,
                            vmid=vmid,
                            install_method="oci",
                            status=AppStatus.STOPPED,
                        )
                    )
            timings = []
            for _ in range(5):
                before, t0 = px.api_calls(), time.perf_counter()
                apps = px.apps.list()
                timings.append((px.api_calls() - before, time.perf_counter() - t0))
            assert len(apps) == count
    return {
        "apps": count,
        "hosts": 2,
        "calls": timings[-1][0],
        "seconds_median": statistics.median(t for _, t in timings),
    }


def bench_concurrency(count: int) -> dict[str, Any]:
    with Simulator(nodes=5, time_scale=0.01, seed=4) as sim:
        home = tempfile.mkdtemp()

        async def run() -> dict[str, Any]:
            async with AsyncProximity(home) as px:
                await px.hosts.add("lab", **sim.host_options())
                nodes = [n.name for n in await px.hosts.nodes("lab")]
                for node in nodes:  # image present everywhere, so both runs do the same work
                    await px.apps.deploy(APP, name=f"warm-{node}", node=node, method="oci")
                t0 = time.perf_counter()
                for i in range(count):
                    await px.apps.deploy(APP, name=f"seq{i}", node=nodes[i % len(nodes)], method="oci")
                sequential = time.perf_counter() - t0
                t0 = time.perf_counter()
                async with anyio.create_task_group() as tg:
                    for i in range(count):
                        tg.start_soon(
                            lambda i=i: px.apps.deploy(
                                APP, name=f"par{i}", node=nodes[i % len(nodes)], method="oci"
                            )
                        )
                concurrent = time.perf_counter() - t0
                running = [a for a in await px.apps.list() if a.name.startswith("par")]
                assert len(running) == count and all(a.status == AppStatus.RUNNING for a in running)
                return {
                    "deploys": count,
                    "nodes": len(nodes),
                    "sequential_s": sequential,
                    "concurrent_s": concurrent,
                    "speedup": sequential / concurrent,
                }

        return anyio.run(run)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--deploys", type=int, default=5)
    parser.add_argument("--latency-ms", type=float, default=5.0)
    parser.add_argument("--listing", type=int, default=1000)
    parser.add_argument("--concurrent", type=int, default=50)
    parser.add_argument("--markdown", action="store_true")
    parser.add_argument("--only", choices=["deploy", "listing", "concurrency"])
    args = parser.parse_args()
    report: dict[str, Any] = {
        "machine": f"{platform.python_implementation()} {platform.python_version()}, {platform.machine()}"
    }
    if args.only in (None, "deploy"):
        report["deploy"] = bench_deploy(args.deploys, args.latency_ms)
    if args.only in (None, "listing"):
        report["listing"] = bench_listing(args.listing)
    if args.only in (None, "concurrency"):
        report["concurrency"] = bench_concurrency(args.concurrent)
    print(json.dumps(report, indent=2))
    if args.markdown:
        print(markdown(report))


def markdown(report: dict[str, Any]) -> str:
    lines = ["| measure | Proximity | reference | ratio |", "| --- | --- | --- | --- |"]
    if "deploy" in report:
        d = report["deploy"]
        p, h = d["proximity"], d["proxmoxer"]
        lines.append(
            f"| API calls per deploy ({d['latency_ms']} ms latency) | {p['calls']} | {h['calls']} (proxmoxer) "
            f"| {p['calls'] / h['calls']:.2f} |"
        )
        lines.append(
            f"| seconds per deploy | {p['seconds']:.2f} | {h['seconds']:.2f} (proxmoxer) "
            f"| {p['seconds'] / h['seconds']:.2f} |"
        )
    if "listing" in report:
        listing = report["listing"]
        lines.append(
            f"| list {listing['apps']} apps on {listing['hosts']} hosts: API calls | {listing['calls']} | "
            f"{listing['hosts']} (floor) | {listing['calls'] / listing['hosts']:.2f} |"
        )
        lines.append(f"| list {listing['apps']} apps: seconds | {listing['seconds_median']:.3f} | | |")
    if "concurrency" in report:
        c = report["concurrency"]
        lines.append(
            f"| {c['deploys']} deploys on {c['nodes']} nodes: seconds | {c['concurrent_s']:.1f} (concurrent) | "
            f"{c['sequential_s']:.1f} (sequential) | {c['speedup']:.1f}x faster |"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    main()
