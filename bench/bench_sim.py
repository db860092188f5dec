"""Benchmark the simulator: ``GET /cluster/resources`` throughput with 1,000 CTs, and task latency.

Run: ``python -m bench.bench_sim [--cts 1000] [--running 100] [--seconds 5] [--clients 2] [--rounds 20]``;
prints JSON (``main(argv)`` returns the same report as a dict).

The containers are created through the API (``POST /nodes/{node}/lxc`` with time_scale 0), so the cluster
is what a client would have built. Throughput uses keep-alive HTTPS sessions as proxmoxer does, one per
client process (clients in their own processes leave the simulator's interpreter to the simulator); each
client loops for ``--seconds``, and requests/s is all answers divided by that time; the simulator's CPU time
per answer (its process's CPU time over the run, divided by the answers) holds even when other work shares
the machine. It is measured twice:
with clients that decode every answer's JSON as proxmoxer does (``decode_json: true``; on a 2-core machine
the client's own ``json.loads`` of the 250 kB answer is a large part of each round trip) and with clients that
read every body but decode only the last one (``decode_json: false``: the simulator's throughput). Task
latency is submit -> status "stopped" seen by a client polling every ``--poll-ms`` (1 ms), at time_scale 0
(the simulator's own overhead) and at time_scale 0.01 (a 1.5 s start becomes 15 ms).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import platform
import statistics
import time
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from typing import Any

import requests

from proximity.sim import Simulator

TEMPLATE = "local:vztmpl/alpine-3.22-default_20250617_amd64.tar.xz"


class Client:
    def __init__(self, sim: Simulator) -> None:
        self.base = f"{sim.url}/api2/json"
        self.session = requests.Session()
        self.verify = sim.ca_path  # per request: a session's verify loses to REQUESTS_CA_BUNDLE
        self.session.headers["Authorization"] = f"PVEAPIToken={sim.token_id}={sim.token_secret}"

    def get(self, path: str, **params: Any) -> Any:
        answer = self.session.get(self.base + path, params=params, timeout=60, verify=self.verify)
        answer.raise_for_status()
        return answer.json()["data"]

    def post(self, path: str, **data: Any) -> Any:
        answer = self.session.post(self.base + path, data=data, timeout=60, verify=self.verify)
        answer.raise_for_status()
        return answer.json()["data"]

    def wait(self, node: str, upid: str, interval: float = 0.005) -> dict[str, Any]:
        while True:
            status = self.get(f"/nodes/{node}/tasks/{upid}/status")
            if status["status"] == "stopped":
                return status
            time.sleep(interval)


def populate(sim: Simulator, count: int, running: int) -> float:
    started = time.perf_counter()
    nodes = list(sim.cluster.nodes)

    def create(index: int) -> None:
        client = Client(sim)
        vmid = 1000 + index
        node = nodes[index % len(nodes)]
        upid = client.post(
            f"/nodes/{node}/lxc",
            vmid=vmid,
            ostemplate=TEMPLATE,
            hostname=f"bench{vmid}",
            rootfs="local-lvm:1",
            net0="name=eth0,bridge=vmbr0,ip=dhcp",
            memory=256,
        )
        if client.wait(node, upid)["exitstatus"] != "OK":
            raise RuntimeError(f"create {vmid} failed")
        if index < running:
            upid = client.post(f"/nodes/{node}/lxc/{vmid}/status/start")
            if client.wait(node, upid)["exitstatus"] != "OK":
                raise RuntimeError(f"start {vmid} failed")

    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(create, range(count)))
    return time.perf_counter() - started


def _client_loop(
    url: str, ca_path: str, token: str, seconds: float, decode_json: bool
) -> tuple[list[float], int]:
    """One client process: GET /cluster/resources on a keep-alive session for ``seconds``."""
    session = requests.Session()
    session.headers["Authorization"] = f"PVEAPIToken={token}"
    latencies: list[float] = []
    body = b""
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        began = time.perf_counter()
        answer = session.get(f"{url}/api2/json/cluster/resources", verify=ca_path, timeout=60)
        answer.raise_for_status()
        body = answer.content
        if decode_json:
            json.loads(body)
        latencies.append(time.perf_counter() - began)
    return latencies, len(json.loads(body)["data"])


def throughput(sim: Simulator, seconds: float, clients: int, decode_json: bool = True) -> dict[str, Any]:
    """Clients run in their own processes, so the simulator has its interpreter to itself."""
    token = f"{sim.token_id}={sim.token_secret}"
    began = time.perf_counter()
    # CPU time of this process (the simulator; clients are other processes) holds under machine contention.
    cpu_began = time.process_time()
    with ProcessPoolExecutor(max_workers=clients, mp_context=multiprocessing.get_context("spawn")) as pool:
        job = (sim.url, sim.ca_path, token, seconds, decode_json)
        futures = [pool.submit(_client_loop, *job) for _ in range(clients)]
        results = [future.result() for future in futures]
    elapsed = time.perf_counter() - began
    server_cpu = time.process_time() - cpu_began
    latencies = sorted(latency for result in results for latency in result[0])
    return {
        "clients": clients,
        "decode_json": decode_json,
        "requests": len(latencies),
        "seconds_per_client": seconds,
        "requests_per_s": round(len(latencies) / seconds, 1),
        "latency_ms_p50": round(statistics.median(latencies) * 1000, 2),
        "latency_ms_p95": round(latencies[int(len(latencies) * 0.95) - 1] * 1000, 2),
        "server_cpu_ms_per_request": round(server_cpu / len(latencies) * 1000, 2),
        "resources_per_answer": results[0][1],
        "wall_s": round(elapsed, 1),
    }


def task_latency(sim: Simulator, time_scale: float, rounds: int, poll_s: float) -> dict[str, Any]:
    sim.tasks.time_scale = time_scale
    client = Client(sim)
    vmid = 999
    node = "pve1"
    client.wait(node, client.post(f"/nodes/{node}/lxc", vmid=vmid, ostemplate=TEMPLATE, rootfs="local-lvm:1"))
    samples = []
    for _ in range(rounds):
        for action in ("start", "stop"):
            began = time.perf_counter()
            status = client.wait(node, client.post(f"/nodes/{node}/lxc/{vmid}/status/{action}"), poll_s)
            if status["exitstatus"] != "OK":
                raise RuntimeError(f"{action} failed: {status['exitstatus']}")
            if action == "start":
                samples.append(time.perf_counter() - began)
    client.wait(
        node,
        client.session.delete(
            f"{client.base}/nodes/{node}/lxc/{vmid}", timeout=60, verify=client.verify
        ).json()["data"],
    )
    samples.sort()
    return {
        "time_scale": time_scale,
        "simulated_start_s": 1.5 * time_scale,
        "rounds": rounds,
        "poll_ms": poll_s * 1000,
        "start_submit_to_stopped_ms_p50": round(statistics.median(samples) * 1000, 2),
        "start_submit_to_stopped_ms_max": round(samples[-1] * 1000, 2),
    }


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cts", type=int, default=1000)
    parser.add_argument("--running", type=int, default=100)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--clients", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--poll-ms", type=float, default=1.0)
    args = parser.parse_args(argv)
    with Simulator(nodes=3, time_scale=0.0, ssh=False, seed=1) as sim:
        populate_s = populate(sim, args.cts, args.running)
        runs = [
            throughput(sim, args.seconds, clients, decode_json)
            for decode_json in (True, False)
            for clients in sorted({1, args.clients})
        ]
        latency = [task_latency(sim, scale, args.rounds, args.poll_ms / 1000) for scale in (0.0, 0.01)]
    return {
        "benchmark": "proximity.sim",
        "cts": args.cts,
        "running": args.running,
        "populate_s": round(populate_s, 1),
        "cluster_resources": runs,
        "task_latency": latency,
        "machine": {
            "python": platform.python_version(),
            "cpus": os.cpu_count(),
            "load_average_1m": round(os.getloadavg()[0], 2),
            "platform": platform.platform(),
        },
    }


if __name__ == "__main__":
    print(json.dumps(main(), indent=2))
