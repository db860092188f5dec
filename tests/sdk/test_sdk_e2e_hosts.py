"""Hosts against the simulator: token and password login, TLS verification and pinning, SSH key pinning,
live capacity, storages, typed errors."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from proximity import AuthFailed, ConfirmationRequired, Proximity, TLSVerificationFailed
from tests.sdk.conftest import FAST


def test_host_added_with_token_and_pinned_fingerprint(px: Any, sim: Any) -> None:
    host = px.hosts.get("lab")
    assert host.auth == "token" and host.fingerprint
    assert set(host.ssh_host_keys) == {n.name for n in px.hosts.nodes("lab")}
    report = px.hosts.test("lab")
    assert report.ok and report.version and len(report.nodes) == 3
    assert all(report.ssh_ok.values())
    nodes = px.hosts.nodes("lab")
    assert all(n.online and n.mem_total > 0 and n.cores > 0 and n.ip for n in nodes)
    storages = px.hosts.storages("lab", content="backup")
    assert storages and all("backup" in s.content for s in storages)
    entries = px.audit()
    assert entries[-1].action == "hosts.add" and entries[-1].front_end == "test"


def test_tls_is_verified_by_default(sim: Any, tmp_path: Path) -> None:
    with Proximity(tmp_path / "s", **FAST) as px:
        with pytest.raises(TLSVerificationFailed):
            px.hosts.add("lab", sim.url, token_id=sim.token_id, token_secret=sim.token_secret, pin_ssh=False)
        assert px.hosts.list() == []  # nothing half-added
        with pytest.raises(TLSVerificationFailed, match="pinned fingerprint"):
            px.hosts.add(
                "lab",
                sim.url,
                token_id=sim.token_id,
                token_secret=sim.token_secret,
                fingerprint=":".join(["AB"] * 32),
                pin_ssh=False,
            )
        host = px.hosts.add(
            "lab",
            sim.url,
            token_id=sim.token_id,
            token_secret=sim.token_secret,
            ca_path=str(sim.ca_path),
            pin_ssh=False,
        )
        assert host.ca_path


def test_password_login_and_wrong_credentials(sim: Any, tmp_path: Path) -> None:
    with Proximity(tmp_path / "s", **FAST) as px:
        with pytest.raises(AuthFailed):
            px.hosts.add(
                "bad",
                sim.url,
                token_id=sim.token_id,
                token_secret="not-the-secret",
                fingerprint=sim.fingerprint,
                pin_ssh=False,
            )
        host = px.hosts.add(
            "lab",
            sim.url,
            user="root@pam",
            password=sim.root_password,
            fingerprint=sim.fingerprint,
            ssh_port=sim.ssh_port,
        )
        assert host.auth == "password"
        assert px.hosts.test("lab").ok
        secrets_text = (tmp_path / "s" / "secrets.json").read_text()
        assert sim.root_password in secrets_text
        db_bytes = b"".join(p.read_bytes() for p in (tmp_path / "s").glob("proximity.db*"))
        assert sim.root_password.encode() not in db_bytes
        with pytest.raises(ConfirmationRequired):
            px.hosts.remove("lab")
        px.hosts.remove("lab", confirm=True)
        assert px.hosts.list() == []
        assert sim.root_password not in (tmp_path / "s" / "secrets.json").read_text()


def test_ssh_key_login_and_host_key_mismatch(sim: Any, tmp_path: Path) -> None:
    import asyncssh

    from proximity import HostKeyMismatch

    key = asyncssh.generate_private_key("ssh-ed25519")
    # root's authorized_keys on the simulated nodes: the public Simulator.authorize_ssh_key once the
    # simulator has it, its SSH handle until then
    authorize = getattr(sim, "authorize_ssh_key", None) or sim._ssh_handle.authorize_key
    authorize(key.export_public_key().decode())
    with Proximity(tmp_path / "s", **FAST) as px:
        px.hosts.add(
            "lab",
            sim.url,
            token_id=sim.token_id,
            token_secret=sim.token_secret,
            fingerprint=sim.fingerprint,
            ssh_port=sim.ssh_port,
            ssh_key=key.export_private_key().decode(),
        )
        assert px.hosts.test("lab").ok  # logged in with the key: no password is stored
        assert "ssh_password" not in (tmp_path / "s" / "secrets.json").read_text()
        impostor = asyncssh.generate_private_key("ssh-ed25519").export_public_key().decode().strip()
        keys = px.hosts.get("lab").ssh_host_keys
        px.store.set_host_keys("lab", {node: impostor for node in keys})
    with Proximity(tmp_path / "s", **FAST) as px:
        report = px.hosts.test("lab")
        assert not report.ok and "differs from the one pinned" in (report.error or "")
        before = set(sim.cluster.containers)
        with pytest.raises(HostKeyMismatch):
            px.apps.deploy("gotify", name="refused", method="compose")  # the install step needs SSH
        assert set(sim.cluster.containers) == before


def test_several_hosts_at_once(sim: Any, tmp_path: Path) -> None:
    from proximity.sim import Simulator

    with Simulator(nodes=1, time_scale=0.01) as other, Proximity(tmp_path / "s", **FAST) as px:
        for name, s in (("lab", sim), ("attic", other)):
            px.hosts.add(
                name,
                s.url,
                token_id=s.token_id,
                token_secret=s.token_secret,
                fingerprint=s.fingerprint,
                ssh_port=s.ssh_port,
                ssh_password=s.root_password,
            )
        a = px.apps.deploy("gotify", name="one", host="lab", method="oci")
        b = px.apps.deploy("gotify", name="two", host="attic", method="oci")
        assert a.host == "lab" and b.host == "attic" and b.node == "pve1"
        assert {(x.name, x.host) for x in px.apps.list()} == {("one", "lab"), ("two", "attic")}
        assert len(px.hosts.nodes()) == 4


def test_read_only_token_gets_permission_denied_with_pve_message(sim: Any, tmp_path: Path) -> None:
    from proximity import PermissionDenied

    with Proximity(tmp_path / "s", **FAST) as px:
        px.hosts.add(
            "ro",
            sim.url,
            token_id=sim.auditor_token_id,
            token_secret=sim.auditor_token_secret,
            fingerprint=sim.fingerprint,
            ssh_port=sim.ssh_port,
            ssh_password=sim.root_password,
        )
        assert len(px.hosts.nodes("ro")) == 3  # reading is allowed
        before = set(sim.cluster.containers)
        with pytest.raises(PermissionDenied, match="Permission check failed") as caught:
            px.apps.deploy("gotify", name="nope", method="oci")
        assert caught.value.status == 403
        assert set(sim.cluster.containers) == before and px.store.find_app("nope") is None
