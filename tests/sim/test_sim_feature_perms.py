"""PVE's rule on ``features``: only root@pam itself sets anything but nesting through the API; root on the
node sets the rest with ``pct set``."""

from __future__ import annotations

import asyncio
from typing import Any

import asyncssh
import pytest
from proxmoxer import ProxmoxAPI
from proxmoxer.core import ResourceException

from proximity.sim.errors import ApiError
from proximity.sim.feature_perms import OTHER_MESSAGE, PRIVILEGED_MESSAGE, check_feature_change
from tests.sim.helpers import ALPINE, ok


def _create(proxmox: Any, vmid: int, **extra: Any) -> str:
    return proxmox.nodes("pve1").lxc.post(vmid=vmid, ostemplate=ALPINE, rootfs="local-lvm:2", **extra)


def _ssh(simulator: Any, command: str) -> asyncssh.SSHCompletedProcess:
    async def run() -> asyncssh.SSHCompletedProcess:
        async with asyncssh.connect(
            "127.80.0.1",
            simulator.ssh_port,
            username="root",
            password=simulator.root_password,
            known_hosts=None,
        ) as connection:
            return await connection.run(command, encoding=None, check=False)

    return asyncio.run(run())


def test_a_token_may_set_nesting_but_not_keyctl(proxmox: Any, new_vmid: Any) -> None:
    vmid = new_vmid()
    with pytest.raises(ResourceException) as refused:
        _create(proxmox, vmid, unprivileged=1, features="nesting=1,keyctl=1")
    assert refused.value.status_code == 403
    assert OTHER_MESSAGE in str(refused.value)
    ok(proxmox, _create(proxmox, vmid, unprivileged=1, features="nesting=1"))
    with pytest.raises(ResourceException, match=r"except nesting"):
        proxmox.nodes("pve1").lxc(vmid).config.put(features="nesting=1,fuse=1")
    proxmox.nodes("pve1").lxc(vmid).config.put(features="nesting=0")
    ok(proxmox, proxmox.nodes("pve1").lxc(vmid).delete())


def test_root_password_login_may_set_keyctl(simulator: Any, new_vmid: Any) -> None:
    root = ProxmoxAPI(
        simulator.host,
        port=simulator.port,
        user="root@pam",
        password=simulator.root_password,
        verify_ssl=simulator.ca_path,
    )
    vmid = new_vmid()
    ok(root, _create(root, vmid, unprivileged=1, features="nesting=1,keyctl=1"))
    assert root.nodes("pve1").lxc(vmid).config.get()["features"] == "nesting=1,keyctl=1"
    ok(root, root.nodes("pve1").lxc(vmid).delete())


def test_privileged_features_are_root_only() -> None:
    with pytest.raises(ApiError, match=PRIVILEGED_MESSAGE.replace("(", r"\(").replace(")", r"\)")):
        check_feature_change("ops@pve!t", None, "nesting=1", unprivileged=False)
    assert check_feature_change("ops@pve", "nesting=1,keyctl=1", "keyctl=1", unprivileged=True) is True
    assert check_feature_change("root@pam", None, "fuse=1", unprivileged=False) is False


def test_pct_set_features_over_ssh(simulator: Any, proxmox: Any, new_vmid: Any) -> None:
    vmid = new_vmid()
    ok(proxmox, _create(proxmox, vmid, unprivileged=1, features="nesting=1"))
    reply = _ssh(simulator, f"pct set {vmid} --features nesting=1,keyctl=1")
    assert reply.exit_status == 0, reply.stderr
    assert proxmox.nodes("pve1").lxc(vmid).config.get()["features"] == "nesting=1,keyctl=1"
    bad = _ssh(simulator, f"pct set {vmid} --features 'keyctl=yes;reboot'")
    assert bad.exit_status == 255 and b"invalid format" in bad.stderr
    ok(proxmox, proxmox.nodes("pve1").lxc(vmid).delete())
