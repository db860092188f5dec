"""``proximity hosts``: add, list, show, test, nodes, storages, remove."""

from __future__ import annotations

import click

from proximity.cli._sdk import (
    confirm,
    db_option,
    handle_errors,
    json_option,
    open_client,
    print_json,
    print_table,
    read_secret_file,
    yes_option,
)


def _gib(value: int) -> str:
    return f"{value / 1024**3:.1f}"


@click.group()
def hosts() -> None:
    """Proxmox VE hosts (each possibly a cluster of nodes)."""


@hosts.command("add")
@click.argument("name")
@click.option("--url", required=True, help="https://host:8006")
@click.option("--token-id", help="API token id, e.g. root@pam!proximity (preferred)")
@click.option("--token-secret-file", type=click.Path(), help="File holding the token secret ('-': stdin)")
@click.option("--user", help="User for password login, e.g. root@pam")
@click.option("--password-file", type=click.Path(), help="File holding the password ('-': stdin)")
@click.option(
    "--ca-file", type=click.Path(exists=True, dir_okay=False), help="CA certificate (PEM) to verify TLS"
)
@click.option("--fingerprint", help="Pin the server certificate's SHA-256 fingerprint (AA:BB:...)")
@click.option("--insecure", is_flag=True, help="Do not verify TLS at all (not recommended)")
@click.option("--ssh-port", type=int, default=22, show_default=True)
@click.option("--ssh-user", default="root", show_default=True)
@click.option("--ssh-password-file", type=click.Path(), help="SSH password, if not the API password")
@click.option("--ssh-key-file", type=click.Path(exists=True, dir_okay=False), help="SSH private key")
@click.option(
    "--no-ssh", is_flag=True, help="Do not connect over SSH now (host keys get pinned on first use)"
)
@db_option
@json_option
@handle_errors
def add(
    name: str,
    url: str,
    token_id: str | None,
    token_secret_file: str | None,
    user: str | None,
    password_file: str | None,
    ca_file: str | None,
    fingerprint: str | None,
    insecure: bool,
    ssh_port: int,
    ssh_user: str,
    ssh_password_file: str | None,
    ssh_key_file: str | None,
    no_ssh: bool,
    db: str | None,
    as_json: bool,
) -> None:
    """Add a host; the API is checked and each node's SSH host key pinned."""
    with open_client(db) as px:
        host = px.hosts.add(
            name,
            url,
            token_id=token_id,
            token_secret=read_secret_file(token_secret_file),
            user=user,
            password=read_secret_file(password_file),
            verify_tls=not insecure,
            ca_path=ca_file,
            fingerprint=fingerprint,
            ssh_port=ssh_port,
            ssh_user=ssh_user,
            ssh_password=read_secret_file(ssh_password_file),
            ssh_key=read_secret_file(ssh_key_file),
            pin_ssh=not no_ssh,
        )
        if as_json:
            print_json(host)
        else:
            click.echo(
                f"added {host.name} ({host.url}, {host.auth} auth as {host.principal}); "
                f"SSH host keys pinned for: {', '.join(sorted(host.ssh_host_keys)) or 'none yet'}"
            )


@hosts.command("fingerprint")
@click.argument("url")
@handle_errors
def fingerprint(url: str) -> None:
    """Show the SHA-256 fingerprint of the certificate URL presents (compare it with the one in the PVE
    web UI, then pass it to `hosts add --fingerprint`)."""
    from proximity.errors import HostUnreachable
    from proximity.pve.tls import fetch_fingerprint

    try:
        click.echo(fetch_fingerprint(url))
    except OSError as error:
        raise HostUnreachable(f"{url}: cannot read its certificate ({type(error).__name__})") from None


@hosts.command("list")
@db_option
@json_option
@handle_errors
def list_hosts(db: str | None, as_json: bool) -> None:
    """The recorded hosts."""
    with open_client(db) as px:
        rows = px.hosts.list()
        if as_json:
            print_json(rows)
            return
        print_table(
            "Hosts",
            ["name", "url", "auth", "as", "TLS"],
            [
                [
                    h.name,
                    h.url,
                    h.auth,
                    h.principal,
                    "pinned"
                    if h.fingerprint
                    else ("CA file" if h.ca_path else ("verified" if h.verify_tls else "OFF")),
                ]
                for h in rows
            ],
        )


@hosts.command("show")
@click.argument("name")
@db_option
@json_option
@handle_errors
def show(name: str, db: str | None, as_json: bool) -> None:
    """One host's record (no secrets)."""
    with open_client(db) as px:
        host = px.hosts.get(name)
        if as_json:
            print_json(host)
        else:
            for key, value in host.model_dump().items():
                click.echo(f"{key:>14}: {value}")


@hosts.command("test")
@click.argument("name")
@db_option
@json_option
@handle_errors
def test(name: str, db: str | None, as_json: bool) -> None:
    """Check the API and SSH to every node."""
    with open_client(db) as px:
        report = px.hosts.test(name)
        if as_json:
            print_json(report)
        else:
            state = "ok" if report.ok else "FAILED"
            ssh = ", ".join(f"{node}={'ok' if ok else 'no'}" for node, ok in report.ssh_ok.items())
            click.echo(f"{name}: {state}; PVE {report.version}; API {report.api_latency_ms} ms; SSH {ssh}")
            if report.error:
                click.echo(f"  {report.error}")
        if not report.ok:
            raise SystemExit(1)


@hosts.command("nodes")
@click.argument("name", required=False)
@db_option
@json_option
@handle_errors
def nodes(name: str | None, db: str | None, as_json: bool) -> None:
    """Nodes with live capacity."""
    with open_client(db) as px:
        rows = px.hosts.nodes(name)
        if as_json:
            print_json(rows)
            return
        print_table(
            "Nodes",
            ["host", "node", "online", "address", "cpu %", "cores", "mem GiB", "free GiB", "headroom"],
            [
                [
                    n.host,
                    n.name,
                    "yes" if n.online else "no",
                    n.ip,
                    f"{n.cpu * 100:.0f}",
                    n.cores,
                    _gib(n.mem_total),
                    _gib(n.mem_free),
                    f"{n.headroom:.2f}",
                ]
                for n in rows
            ],
        )


@hosts.command("storages")
@click.argument("name")
@click.option("--node")
@click.option("--content", help="Only storages holding this content (rootdir, vztmpl, backup, ...)")
@db_option
@json_option
@handle_errors
def storages(name: str, node: str | None, content: str | None, db: str | None, as_json: bool) -> None:
    """Storages of a host's nodes."""
    with open_client(db) as px:
        rows = px.hosts.storages(name, node=node, content=content)
        if as_json:
            print_json(rows)
            return
        print_table(
            "Storages",
            ["node", "storage", "type", "content", "shared", "free GiB", "total GiB"],
            [
                [
                    s.node,
                    s.name,
                    s.type,
                    ",".join(s.content),
                    "yes" if s.shared else "no",
                    _gib(s.avail),
                    _gib(s.total),
                ]
                for s in rows
            ],
        )


@hosts.command("remove")
@click.argument("name")
@yes_option
@db_option
@handle_errors
def remove(name: str, yes: bool, db: str | None) -> None:
    """Forget a host (its apps must be deleted or forgotten first)."""
    confirm(f"Remove host {name!r} and its stored credentials?", yes)
    with open_client(db) as px:
        px.hosts.remove(name, confirm=True)
        click.echo(f"removed {name}")
