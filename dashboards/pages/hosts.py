"""Hosts: add (API token or password, pinned fingerprint, SSH), test, remove; nodes with their measured
capacity (Proxmox's own figures) and storages."""

from __future__ import annotations

import panel as pn
import panel_material_ui as pmui

from dashboards.pages.common import esc, gib, html_pane, table
from dashboards.session import DeckSession
from proximity.models import Node, Storage


def _short(text: str, keep: int = 23) -> str:
    return text if len(text) <= keep else text[:keep] + "…"


def node_rows(nodes: list[Node]) -> list[list[str]]:
    return [
        [
            esc(n.name),
            esc("online" if n.online else "offline"),
            esc(n.ip),
            esc(f"{n.cpu * 100:.0f}% of {n.cores}"),
            esc(f"{gib(n.mem_used)} / {gib(n.mem_total)} GiB"),
            esc(f"{gib(n.disk_used)} / {gib(n.disk_total)} GiB"),
            esc(f"{n.headroom:.2f}"),
        ]
        for n in nodes
    ]


def storage_rows(storages: list[Storage]) -> list[list[str]]:
    return [
        [
            esc(s.node),
            esc(s.name),
            esc(s.type),
            esc(",".join(s.content)),
            esc(f"{gib(s.avail)} / {gib(s.total)} GiB"),
        ]
        for s in storages
    ]


class HostsPage:
    title = "Hosts"

    def __init__(self, session: DeckSession):
        self.session = session
        self.listing = html_pane("", sizing_mode="stretch_width")
        self.host_select = pmui.Select(label="Host", options=[])
        self.details = html_pane("", sizing_mode="stretch_width")
        self.test_button = pmui.Button(label="Test connection", on_click=self._test)
        self.remove_button = pmui.Button(label="Remove host...", color="error", on_click=self._ask_remove)
        self.confirm_name = pmui.TextInput(label="Type the host's name to confirm")
        self.confirm_button = pmui.Button(label="Remove for good", color="error", on_click=self._remove)
        self.confirm_box = pn.Column(
            html_pane(
                "<div>Removing a host forgets its connection, credentials and pinned keys in Proximity "
                "(nothing is changed on Proxmox). Hosts with recorded apps are refused.</div>"
            ),
            self.confirm_name,
            self.confirm_button,
            visible=False,
        )
        self.name = pmui.TextInput(label="Name", placeholder="lab")
        self.url = pmui.TextInput(label="API URL", placeholder="https://pve.lan:8006")
        self.token_id = pmui.TextInput(label="Token id", placeholder="root@pam!proximity")
        self.token_secret = pmui.PasswordInput(label="Token secret")
        self.fingerprint = pmui.TextInput(label="Certificate fingerprint (SHA-256)", placeholder="AA:BB:...")
        self.ssh_port = pmui.IntInput(label="SSH port", value=22, start=1, end=65535)
        self.ssh_password = pmui.PasswordInput(label="SSH password (root)")
        self.add_button = pmui.Button(label="Add host", color="primary", on_click=self._add)
        self.host_select.param.watch(lambda _e: pn.state.execute(self._details), "value")
        self.view = pn.Column(
            pmui.Typography("Hosts", variant="h5"),
            self.listing,
            pn.Row(self.host_select, self.test_button, self.remove_button),
            self.confirm_box,
            self.details,
            pmui.Typography("Add a host", variant="h6"),
            pn.Row(self.name, self.url),
            pn.Row(self.token_id, self.token_secret),
            pn.Row(self.fingerprint, self.ssh_port, self.ssh_password),
            self.add_button,
            sizing_mode="stretch_width",
        )

    async def refresh(self) -> None:
        hosts = await self.session.read(self.session.actions.hosts)
        if hosts is None:
            return
        rows = [
            [
                esc(h.name),
                esc(h.url),
                esc(h.auth),
                esc(h.principal),
                esc(_short(h.fingerprint or h.ca_path or "")),
                esc(len(h.ssh_host_keys)),
            ]
            for h in hosts
        ]
        self.listing.object = table(["name", "URL", "auth", "principal", "pinned", "SSH keys"], rows, "hosts")
        names = [h.name for h in hosts]
        self.host_select.options = names
        if self.host_select.value not in names:
            self.host_select.value = names[0] if names else None
        await self._details()

    async def tick(self) -> None:
        return None

    async def _details(self) -> None:
        host = self.host_select.value
        if not host:
            self.details.object = ""
            return
        nodes = await self.session.read(self.session.actions.nodes, host)
        storages = await self.session.read(self.session.actions.storages, host)
        self.details.object = (
            "<h4>Nodes (measured by Proxmox)</h4>"
            + table(
                ["node", "state", "address", "CPU", "memory", "root disk", "headroom"],
                node_rows(nodes or []),
                "nodes",
            )
            + "<h4>Storages</h4>"
            + table(
                ["node", "storage", "type", "content", "free / total"],
                storage_rows(storages or []),
                "storages",
            )
        )

    async def _test(self, _event: object) -> None:
        host = self.host_select.value
        if not host:
            return
        report = await self.session.run(f"test {host}", self.session.actions.test_host, host)
        if report is not None:
            ssh = ", ".join(f"{node}: {'ok' if ok else 'FAILED'}" for node, ok in report.ssh_ok.items())
            self.session.tell(
                f"{host}: {'ok' if report.ok else 'FAILED'} · PVE {report.version} · API {report.api_latency_ms} ms"
                f" · SSH {ssh}" + (f" · {report.error}" if report.error else ""),
                error=not report.ok,
            )

    def _ask_remove(self, _event: object) -> None:
        self.confirm_name.value = ""
        self.confirm_box.visible = True

    async def _remove(self, _event: object) -> None:
        host = self.host_select.value or ""
        result = await self.session.run(
            f"remove host {host}", self._remove_now, host, self.confirm_name.value_input
        )
        if result:
            self.confirm_box.visible = False
            await self.refresh()

    def _remove_now(self, host: str, typed: str) -> bool:
        self.session.actions.remove_host(host, typed_name=typed)
        return True

    async def _add(self, _event: object) -> None:
        credentials = {
            "token_id": self.token_id.value.strip() or None,
            "token_secret": self.token_secret.value or None,
            "fingerprint": self.fingerprint.value.strip() or None,
            "ssh_port": int(self.ssh_port.value or 22),
            "ssh_password": self.ssh_password.value or None,
        }
        name = self.name.value.strip()
        host = await self.session.run(
            f"add host {name}", self.session.actions.add_host, name, self.url.value.strip(), **credentials
        )
        if host is not None:
            self.token_secret.value = ""
            self.ssh_password.value = ""
            await self.refresh()
