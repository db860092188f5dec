"""``proximity demo``: the whole SDK on a laptop. Starts the embedded Proxmox VE simulator, adds it as a
host in a temporary state directory, deploys an app with a progress bar, shows it running (and asks its
URL), backs it up and stops it. Everything goes over HTTPS and SSH exactly as with a real host."""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import click
from rich.console import Console
from rich.panel import Panel

from proximity.cli._sdk import handle_errors, job_progress, print_table

console = Console()


def _step(number: int, text: str) -> None:
    console.print(f"\n[bold cyan]{number}.[/bold cyan] [bold]{text}[/bold]")


@click.command()
@click.option("--app", "catalog_id", default="jellyfin", show_default=True, help="Catalog app to deploy")
@click.option("--nodes", type=int, default=3, show_default=True, help="Simulated cluster nodes")
@click.option(
    "--time-scale",
    type=float,
    default=0.05,
    show_default=True,
    help="Simulated seconds per real second factor (smaller is faster)",
)
@click.option("--keep", is_flag=True, help="Keep the temporary state directory")
@handle_errors
def demo(catalog_id: str, nodes: int, time_scale: float, keep: bool) -> None:
    """Walk through Proximity against the built-in Proxmox VE simulator."""
    import anyio

    from proximity.client import Proximity
    from proximity.collections.health import http_status
    from proximity.sim import Simulator

    home = Path(tempfile.mkdtemp(prefix="proximity-demo-"))
    console.print(
        Panel.fit(
            "Proximity demo: a simulated Proxmox VE cluster, reached over HTTPS + SSH like a real one.\n"
            f"State directory (temporary): {home}",
            title="proximity demo",
        )
    )
    started = time.perf_counter()
    with Simulator(nodes=nodes, time_scale=time_scale) as sim:
        _step(1, f"Simulator up: {sim.url} ({nodes} nodes), certificate {sim.fingerprint[:23]}...")
        with Proximity(home, front_end="demo") as px:
            _step(2, "Add it as host 'lab' (API token, certificate fingerprint pinned, SSH host keys pinned)")
            host = px.hosts.add("lab", **sim.host_options())
            report = px.hosts.test("lab")
            console.print(
                f"   PVE {report.version}, nodes {', '.join(report.nodes)}, API {report.api_latency_ms} ms,"
                f" SSH to every node: {'ok' if report.ok else 'FAILED'}; pinned keys: "
                f"{len(px.hosts.get(host.name).ssh_host_keys)}"
            )
            nodes_list = px.hosts.nodes("lab")
            print_table(
                "Nodes",
                ["node", "address", "cores", "free GiB", "headroom"],
                [
                    [n.name, n.ip, n.cores, f"{n.mem_free / 1024**3:.1f}", f"{n.headroom:.2f}"]
                    for n in nodes_list
                ],
            )

            entry = px.catalog.get(catalog_id)
            _step(3, f"Deploy {entry.name} {entry.version} ({entry.install[0].type}) as 'demo-{catalog_id}'")
            with job_progress(f"deploy demo-{catalog_id}") as on_event:
                app = px.apps.deploy(catalog_id, name=f"demo-{catalog_id}", on_event=on_event)
            console.print(
                f"   [green]{app.name}[/green] is {app.status.value} on {app.node}, CT {app.vmid}, "
                f"address {app.ip}"
            )

            _step(4, f"Open it: {app.url}")
            if app.url and app.ip:
                port = int(app.url.rsplit(":", 1)[1].strip("/"))
                path = entry.healthcheck.path if entry.healthcheck else "/"
                status = anyio.run(lambda: http_status(app.ip, port, path))
                console.print(f"   GET {path} -> HTTP {status} (answered by the app inside the container)")

            _step(5, "Back it up (vzdump, snapshot mode, zstd, to a storage that accepts backups)")
            with job_progress(f"backup {app.name}") as on_event:
                backup = px.backups.create(app.name, on_event=on_event)
            console.print(
                f"   {backup.volid} ({backup.size / 1024**2:.1f} MiB), file name read from the task log"
            )

            _step(6, "Stop it, and list the apps as Proxmox reports them")
            app = px.apps.stop(app.name)
            print_table(
                "Apps",
                ["name", "status", "node", "CT", "url"],
                [[a.name, a.status.value, a.node, a.vmid, a.url] for a in px.apps.list()],
            )

            _step(7, "Audit log (who did what, from which front end)")
            for entry_row in reversed(px.audit(10)):
                console.print(
                    f"   {entry_row.time:%H:%M:%S} {entry_row.front_end:<5} {entry_row.action:<16} "
                    f"{entry_row.target:<22} {entry_row.outcome}"
                )
            console.print(
                f"\n   API calls made: {px.api_calls()}; total time {time.perf_counter() - started:.1f}s"
            )
    if keep:
        console.print(f"\nState kept in {home}")
    else:
        import shutil

        shutil.rmtree(home, ignore_errors=True)
    console.print(
        "\n[bold green]Demo finished.[/bold green] Try it on your own host: proximity hosts add --help"
    )
