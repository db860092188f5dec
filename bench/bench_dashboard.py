"""Benchmark the rack view (``dashboards.rack.RackView``) with 1,000 apps over 3 hosts.

Run: ``python -m bench.bench_dashboard [--source sim|synthetic] [--units 1000] [--hosts 3] [--nodes 3]
[--rounds 5] [--no-browser]``; prints JSON (``main(argv)`` returns the same report as a dict).

Where the units come from (``--source``):
- ``sim`` (default): the real thing. One simulator per host (``--nodes`` nodes each, time_scale 0); the
  containers are created through the API (``bench.bench_sim.populate``, half of them started) and adopted
  through the SDK (``px.apps.adopt`` with catalog entries cycled), then read with ``feed.collect`` (what
  the dashboard does): states and usage are the simulator's. ``collect_ms`` is that read.
- ``synthetic``: ``App`` models and ``cluster/resources``-shaped rows passed through the real feed
  (``feed.build_units``): the same shape and sizes, every status kind, seeded pseudo-random usage figures
  (for sizing only, never shown to users); seconds instead of minutes (the tests use it).

Measured:
- ``initial_document_bytes``: a document holding only the rack, serialised as the Bokeh server ships it to a
  new session (``Document.to_json``); ``snapshot_bytes`` the rows' share, ``esm_bytes`` the module's.
- ``first_render_server_ms``: server time to build that document (create the component from the units,
  build its Bokeh model, serialise), cold (first) and the median/max of ``--rounds`` more.
- ``status_change``: the bytes of the message ``RackView.update`` sends for one app changing status, and of
  the ``PATCH-DOC`` content Bokeh serialises for it (``MessageSent`` event).
- with Chromium (``/usr/bin/chromium``; skipped with ``--no-browser`` or when absent), the page served by
  ``pn.serve`` on 127.0.0.1 and loaded by Playwright: bytes of the HTTP page, of every websocket frame the
  server sent before the rack was drawn, of Bokeh/Panel's static JS (first visit), the frames of one status
  change as captured on the wire, and the browser time from navigation until the units are in the DOM.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import socket
import statistics
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

from dashboards.rack.feed import Kind, Unit, build_units, kind_of, last_backups
from proximity.catalog.loader import load_catalog
from proximity.models import App, AppStatus, Backup, PortBinding

CHROMIUM = os.environ.get("PROXIMITY_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip
MIB = 1024 * 1024
GIB = 1024 * MIB


# ------------------------------------------------------------------ the units


def synthetic_units(
    count: int, hosts: int = 3, nodes: int = 3, seed: int = 5
) -> tuple[list[Unit], dict[str, Kind]]:
    """``count`` apps spread over ``hosts`` x ``nodes``, through the real feed. Statuses cycle through every
    kind the rack shows; a stopped app has no usage row figures (as Proxmox reports it)."""
    rng = random.Random(seed)
    catalog = sorted(load_catalog(), key=lambda e: e.id)
    statuses = [AppStatus.RUNNING] * 6 + [AppStatus.STOPPED] * 2 + [AppStatus.FAILED, AppStatus.DEPLOYING]
    apps: list[App] = []
    resources: dict[tuple[str, int], dict[str, Any]] = {}
    backups: list[Backup] = []
    now = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
    for index in range(count):
        entry = catalog[index % len(catalog)]
        host = f"pve{index % hosts + 1}"
        node = f"{host}-n{(index // hosts) % nodes + 1}"
        vmid = 1000 + index
        ip = f"10.{index // 65536 % 256}.{index // 256 % 256}.{index % 256}"
        web = next((p for p in entry.ports if p.web_ui), entry.ports[0] if entry.ports else None)
        status = statuses[index % len(statuses)]
        memory_mb, disk_gb = entry.resources.memory_mb, entry.resources.disk_gb
        app = App(
            name=f"{entry.id}-{index:04d}",
            catalog_id=entry.id,
            host=host,
            node=node,
            vmid=vmid,
            install_method="compose",
            status=status,
            ip=ip if status == AppStatus.RUNNING else None,
            url=f"http://{ip}:{web.port}" if web and status == AppStatus.RUNNING else None,
            ports=[PortBinding(name=p.name, port=p.port, protocol=p.protocol) for p in entry.ports],
            cores=1 + index % 4,
            memory_mb=memory_mb,
            disk_gb=disk_gb,
        )
        apps.append(app)
        running = status == AppStatus.RUNNING
        resources[(host, vmid)] = {
            "vmid": vmid, "type": "lxc", "node": node, "status": "running" if running else "stopped",
            "cpu": rng.random() if running else 0, "maxcpu": app.cores,
            "mem": int(rng.random() * memory_mb * MIB) if running else 0, "maxmem": memory_mb * MIB,
            "disk": int(rng.random() * disk_gb * GIB), "maxdisk": disk_gb * GIB,
        }  # fmt: skip
        if index % 3 == 0:
            backups.append(
                Backup(volid=f"local:backup/vzdump-lxc-{vmid}.tar.zst", host=host, node=node, storage="local",
                       vmid=vmid, app=app.name, created_at=now - timedelta(hours=index % 48))
            )  # fmt: skip
    units = build_units(apps, resources, backups=last_backups(backups))
    by_id = {entry.id: entry for entry in catalog}
    kinds = {cid: kind_of(cid, by_id.get(cid)) for cid in sorted({u["catalog"] for u in units})}
    return units, kinds


@contextmanager
def simulated_fleet(
    count: int, hosts: int, nodes: int
) -> Iterator[tuple[list[Unit], dict[str, Kind], dict[str, Any]]]:
    """``count`` containers over ``hosts`` simulators, adopted through the SDK and read by ``feed.collect``."""
    import tempfile
    from contextlib import ExitStack

    from bench.bench_sim import populate
    from dashboards.rack.feed import collect
    from proximity import Proximity
    from proximity.sim import Simulator

    catalog_ids = sorted(entry.id for entry in load_catalog())
    per_host = [count // hosts + (1 if i < count % hosts else 0) for i in range(hosts)]
    timings: dict[str, Any] = {}
    with ExitStack() as stack:
        sims = [stack.enter_context(Simulator(nodes=nodes, time_scale=0)) for _ in range(hosts)]
        began = time.perf_counter()
        for sim, size in zip(sims, per_host, strict=True):
            populate(sim, size, size // 2)  # VMIDs 1000.., the first half started
        timings["create_containers_s"] = round(time.perf_counter() - began, 1)
        px = stack.enter_context(Proximity(stack.enter_context(tempfile.TemporaryDirectory())))
        for index, sim in enumerate(sims):
            px.hosts.add(f"pve{index + 1}", **sim.host_options())
        began, adopted = time.perf_counter(), 0
        for index, size in enumerate(per_host):
            for offset in range(size):
                catalog_id = catalog_ids[adopted % len(catalog_ids)]
                px.apps.adopt(1000 + offset, name=f"{catalog_id}-{adopted:04d}", host=f"pve{index + 1}",
                              catalog_id=catalog_id)  # fmt: skip
                adopted += 1
        timings["adopt_s"] = round(time.perf_counter() - began, 1)
        calls_before = px.api_calls()
        began = time.perf_counter()
        units, kinds = collect(px)
        timings["collect_ms"] = round((time.perf_counter() - began) * 1000, 1)
        timings["collect_api_calls"] = px.api_calls() - calls_before
        yield units, kinds, timings


def with_status(units: list[Unit], index: int, status: str) -> list[Unit]:
    """A copy of ``units`` where one unit changed status (and, stopped, lost its usage figures)."""
    changed = [dict(u) for u in units]
    changed[index]["status"] = status
    if status != "running":
        changed[index].update(cpu=None, mem=None, disk=None)
    return changed  # type: ignore[return-value]


# ------------------------------------------------------------------ server-side measures


def _document_json(rack: Any) -> bytes:
    """The JSON of a document holding only the rack, serialised as the Bokeh server ships it."""
    from bokeh.core.json_encoder import serialize_json
    from bokeh.document import Document

    document = Document()
    rack.server_doc(document)
    return serialize_json(document.to_json()).encode()


def measure_server(units: list[Unit], kinds: dict[str, Kind], rounds: int) -> dict[str, Any]:
    from dashboards.rack import RackView

    timings, document = [], b""
    for _ in range(rounds + 1):  # the first round is cold (imports, class set-up): reported apart
        began = time.perf_counter()
        document = _document_json(RackView(units, kinds))
        timings.append((time.perf_counter() - began) * 1000)
    snapshot_bytes = len(json.dumps(RackView(units, kinds).snapshot, separators=(",", ":")).encode())
    return {
        "initial_document_bytes": len(document),
        "snapshot_bytes": snapshot_bytes,
        "esm_bytes": len(RackView._render_esm().encode()),
        "first_render_server_ms_cold": round(timings[0], 1),
        "first_render_server_ms_median": round(statistics.median(timings[1:]), 1),
        "first_render_server_ms_max": round(max(timings[1:]), 1),
    }


def measure_status_change(units: list[Unit], kinds: dict[str, Kind]) -> dict[str, Any]:
    """The MessageSent event for one status change, serialised as it goes into a PATCH-DOC message."""
    from bokeh.core.json_encoder import serialize_json
    from bokeh.core.serialization import Serializer
    from bokeh.document import Document
    from panel.models.esm import ESMEvent

    from dashboards.rack import RackView

    rack = RackView(units, kinds)
    document = Document()
    rack.server_doc(document)
    model = document.roots[0]
    index = next(i for i, u in enumerate(units) if u["status"] == "running")
    message = rack.update(with_status(units, index, "stopped"))
    assert message is not None
    event = ESMEvent(model=model, data=message)
    patch = {"events": [{"kind": "MessageSent", "msg_type": "bokeh_event", "msg_data": event}]}
    frame = serialize_json(Serializer(references=set(document.models)).encode(patch)).encode()
    return {
        "status_change_message_bytes": len(json.dumps(message, separators=(",", ":"))),
        "status_change_patch_bytes": len(frame),
    }


# ------------------------------------------------------------------ in a browser


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def serve_rack(units: list[Unit], kinds: dict[str, Kind]) -> Iterator[tuple[str, list[Any], list[float]]]:
    """A page with only the rack, served on 127.0.0.1: (url, the racks created, server ms per session)."""
    import panel as pn

    from dashboards.rack import RackView

    racks: list[Any] = []
    render_ms: list[float] = []

    def page() -> Any:
        began = time.perf_counter()
        rack = RackView(units, kinds, load_icons=False)
        racks.append(rack)
        render_ms.append((time.perf_counter() - began) * 1000)
        return rack

    port = _free_port()
    server = pn.serve({"rack": page}, port=port, address="127.0.0.1", show=False, threaded=True,
                      websocket_origin=[f"127.0.0.1:{port}"], verbose=False)  # fmt: skip
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            with socket.socket() as probe:
                if probe.connect_ex(("127.0.0.1", port)) == 0:
                    break
            time.sleep(0.05)
        yield f"http://127.0.0.1:{port}/rack", racks, render_ms
    finally:
        server.stop()


# Records (in page time, from navigation start) when the rack holds all its units. It finds the rack through
# Panel's nested shadow roots once, then counts cheaply; Playwright's shadow-piercing locators would cost
# seconds per query on a page of 1,000 units and skew the figure.
DRAWN_PROBE = """
(() => {
  const wanted = %d;
  let rack = null;
  const find = (root) => {
    for (const el of root.querySelectorAll('*')) {
      if (el.classList && el.classList.contains('px-rack')) return el;
      if (el.shadowRoot) { const hit = find(el.shadowRoot); if (hit) return hit; }
    }
    return null;
  };
  const poll = () => {
    rack = rack || find(document);
    const count = rack ? rack.querySelectorAll('.unit').length : 0;
    if (count >= wanted) {
      requestAnimationFrame(() => { window.__rackUnits = count; window.__rackDrawnAt = performance.now(); });
    } else setTimeout(poll, 10);
  };
  poll();
})();
"""


def measure_browser(units: list[Unit], kinds: dict[str, Kind]) -> dict[str, Any]:
    from playwright.sync_api import sync_playwright

    with serve_rack(units, kinds) as (url, racks, render_ms), sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 900})
            received: list[int] = []
            http_bytes: list[int] = []

            def on_socket(ws: Any) -> None:
                ws.on(
                    "framereceived",
                    lambda payload: received.append(
                        len(payload if isinstance(payload, bytes) else payload.encode())
                    ),
                )

            page.on("websocket", on_socket)
            origin = url.rsplit("/", 1)[0]
            page.on(
                "response",
                lambda r: http_bytes.append((r.url, len(r.body()))) if r.url.startswith(origin) else None,
            )
            page.add_init_script(DRAWN_PROBE % len(units))
            page.goto(url)
            page.wait_for_function("() => window.__rackDrawnAt !== undefined", timeout=120_000, polling=100)
            drawn_ms = page.evaluate("() => window.__rackDrawnAt")
            drawn = page.evaluate("() => window.__rackUnits")
            page.wait_for_timeout(300)
            frames_before = len(received)
            initial_ws = sum(received)
            index = next(i for i, u in enumerate(units) if u["status"] == "running")
            racks[-1].update(with_status(units, index, "stopped"))
            led = page.locator(f"[data-testid='led-{units[index]['id']}']")
            led.and_(page.locator("[data-status='stopped']")).wait_for(timeout=10_000)
            change_frames = received[frames_before:]
        finally:
            browser.close()
    page_bytes = sum(size for address, size in http_bytes if address.split("?")[0] == url)
    static_bytes = sum(size for _, size in http_bytes) - page_bytes
    return {
        "page_http_bytes": page_bytes,
        "initial_websocket_bytes": initial_ws,
        "page_plus_websocket_bytes": page_bytes + initial_ws,
        "static_assets_bytes_first_visit": static_bytes,
        "session_component_ms": round(render_ms[-1], 1),
        "browser_ms_from_navigation_to_units_drawn": round(drawn_ms, 1),
        "units_drawn": drawn,
        "status_change_ws_frames": len(change_frames),
        "status_change_ws_bytes": sum(change_frames),
    }


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(
        prog="python -m bench.bench_dashboard", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--units", type=int, default=1000)
    parser.add_argument("--hosts", type=int, default=3)
    parser.add_argument("--nodes", type=int, default=3, help="nodes per host")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--no-browser", action="store_true")
    parser.add_argument("--source", choices=["sim", "synthetic"], default="sim")
    args = parser.parse_args(argv)

    report: dict[str, Any] = {
        "hosts": args.hosts,
        "nodes_per_host": args.nodes,
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count()},
        "targets": {"first_render_ms": 1000, "initial_bytes": 500_000, "status_change_bytes": 2048},
    }
    if args.source == "sim":
        with simulated_fleet(args.units, args.hosts, args.nodes) as (units, kinds, timings):
            report["source"] = (
                "simulator + SDK: containers created over the API, adopted, read by feed.collect"
            )
            report["fleet"] = timings
    else:
        units, kinds = synthetic_units(args.units, args.hosts, args.nodes)
        report["source"] = "synthetic: App models + cluster/resources-shaped rows through feed.build_units"
    report["units"] = len(units)
    report["statuses"] = {
        s: sum(1 for u in units if u["status"] == s) for s in sorted({u["status"] for u in units})
    }
    report["server"] = measure_server(units, kinds, args.rounds)
    report["server"].update(measure_status_change(units, kinds))
    if args.no_browser or not os.path.exists(CHROMIUM):
        report["browser"] = {"skipped": "--no-browser" if args.no_browser else f"no Chromium at {CHROMIUM}"}
    else:
        report["browser"] = measure_browser(units, kinds)
    print(json.dumps(report, indent=2))
    return report


if __name__ == "__main__":
    main(sys.argv[1:])
