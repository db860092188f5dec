"""``proximity sim``: run the Proxmox VE simulator in the foreground until Ctrl-C."""

from __future__ import annotations

import json
import signal
import threading
from pathlib import Path
from typing import Any

import click


def snippet(sim: Any) -> str:
    """Five lines a new user pastes to point proxmoxer at the simulator."""
    user, token_name = sim.token_id.split("!")
    return "\n".join(
        [
            "from proxmoxer import ProxmoxAPI",
            f"px = ProxmoxAPI('{sim.host}', port={sim.port}, user='{user}', token_name='{token_name}',",
            f"                token_value='{sim.token_secret}', verify_ssl='{sim.ca_path}')",
            "print(px.version.get())",
            "print([n['node'] for n in px.nodes.get()])",
        ]
    )


def banner(sim: Any) -> str:
    lines = [
        f"Proxmox VE simulator: {sim.nodes} node(s), time scale {sim.time_scale}",
        f"  URL          {sim.url}   (API under /api2/json)",
        f"  user         root@pam   password {sim.root_password}",
        f"  API token    {sim.token_id}={sim.token_secret}",
        f"  read-only    {sim.auditor_token_id}={sim.auditor_token_secret}",
        f"  fingerprint  {sim.fingerprint}",
        f"  certificate  {sim.ca_path}   (use as verify_ssl / REQUESTS_CA_BUNDLE)",
    ]
    if sim.ssh_port:
        addresses = ", ".join(node.ip for node in sim.cluster.nodes.values())
        lines.append(f"  SSH          root@<node ip> -p {sim.ssh_port}   nodes: {addresses}")
    if sim.state_file:
        lines.append(f"  state file   {sim.state_file}")
    return "\n".join(lines) + "\n\nproxmoxer:\n" + snippet(sim) + "\n\nCtrl-C stops the simulator."


@click.command("sim")
@click.option("--nodes", default=3, show_default=True, type=click.IntRange(1, 32), help="Cluster size.")
@click.option("--host", default="127.0.0.1", show_default=True, help="Loopback address to listen on.")
@click.option(
    "--port",
    default=8006,
    show_default=True,
    type=click.IntRange(0, 65535),
    help="HTTPS port (0 picks a free one).",
)
@click.option(
    "--ssh-port",
    default=2222,
    show_default=True,
    type=click.IntRange(0, 65535),
    help="SSH port on every node address (0 picks a free one).",
)
@click.option("--no-ssh", is_flag=True, help="Serve only the HTTPS API.")
@click.option(
    "--state",
    "state_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Keep the cluster in this JSON file across restarts.",
)
@click.option(
    "--time-scale",
    default=1.0,
    show_default=True,
    type=click.FloatRange(0, 100),
    help="Multiply task durations (0.01 runs them a hundred times faster).",
)
@click.option("--seed", type=int, help="Seed for reproducible fault injection.")
@click.option("--json", "as_json", is_flag=True, help="Print the connection details as one JSON object.")
def sim(
    nodes: int,
    host: str,
    port: int,
    ssh_port: int,
    no_ssh: bool,
    state_file: Path | None,
    time_scale: float,
    seed: int | None,
    as_json: bool,
) -> None:
    """Run a simulated Proxmox VE cluster (HTTPS API + SSH) on loopback until Ctrl-C."""
    from proximity.sim import Simulator

    if not host.startswith("127."):
        raise click.BadParameter("the simulator only listens on loopback (127.0.0.0/8)", param_hint="--host")
    simulator = Simulator(
        nodes=nodes,
        time_scale=time_scale,
        state_file=state_file,
        host=host,
        port=port,
        ssh_port=ssh_port,
        ssh=not no_ssh,
        seed=seed,
    )
    try:
        simulator.start()
    except OSError as error:
        raise click.ClickException(
            f"cannot start the simulator: {error} (is the port in use? try --port 0)"
        ) from error
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        if as_json:
            click.echo(
                json.dumps(
                    {
                        "url": simulator.url,
                        "root_password": simulator.root_password,
                        "token_id": simulator.token_id,
                        "token_secret": simulator.token_secret,
                        "auditor_token_id": simulator.auditor_token_id,
                        "auditor_token_secret": simulator.auditor_token_secret,
                        "fingerprint": simulator.fingerprint,
                        "ca_path": simulator.ca_path,
                        "ssh_port": simulator.ssh_port,
                        "nodes": {n.name: n.ip for n in simulator.cluster.nodes.values()},
                    }
                )
            )
        else:
            click.echo(banner(simulator))
        while not stop.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        simulator.stop()
        if not as_json:
            click.echo("simulator stopped")
