"""Small helpers for the simulator tests (proxmoxer stays unmodified)."""

from __future__ import annotations

from typing import Any

from proxmoxer.tools import Tasks

DEBIAN = "local:vztmpl/debian-12-standard_12.12-1_amd64.tar.zst"
ALPINE = "local:vztmpl/alpine-3.22-default_20250617_amd64.tar.xz"


def wait(px: Any, upid: str, timeout: float = 60) -> dict[str, Any]:
    status = Tasks.blocking_status(px, upid, timeout=timeout, polling_interval=0.02)
    assert status is not None, f"task {upid} did not finish in {timeout}s"
    return status


def log_lines(px: Any, upid: str) -> list[str]:
    node = Tasks.decode_upid(upid)["node"]
    return [row["t"] for row in px.nodes(node).tasks(upid).log.get(limit=1000)]


def ok(px: Any, upid: str) -> dict[str, Any]:
    status = wait(px, upid)
    assert status["exitstatus"] == "OK", (status, log_lines(px, upid))
    return status


def create_ct(px: Any, vmid: int, node: str = "pve1", template: str = ALPINE, **options: Any) -> None:
    params = {
        "hostname": f"ct{vmid}",
        "rootfs": "local-lvm:2",
        "net0": "name=eth0,bridge=vmbr0,ip=dhcp",
        **options,
    }
    ok(px, px.nodes(node).lxc.post(vmid=vmid, ostemplate=template, **params))
