"""Unmodified proxmoxer drives the whole LXC life cycle against the simulator (token and ticket auth)."""

from __future__ import annotations

import re
from typing import Any

import pytest
from proxmoxer import ProxmoxAPI
from proxmoxer.tools import Tasks

from .helpers import DEBIAN, create_ct, log_lines, ok, wait

UPID = re.compile(r"^UPID:pve\d:[0-9A-F]{8}:[0-9A-F]{8}:[0-9A-F]{8}:\w+:\d*:[^:]+:$")


def test_create_start_inspect_stop_delete_with_token(proxmox: Any, new_vmid: Any, simulator: Any) -> None:
    vmid = new_vmid()
    upid = proxmox.nodes("pve1").lxc.post(
        vmid=vmid,
        ostemplate=DEBIAN,
        hostname="web",
        cores=2,
        memory=1024,
        rootfs="local-lvm:8",
        net0="name=eth0,bridge=vmbr0,ip=dhcp",
        unprivileged=1,
        features="nesting=1",
    )
    assert UPID.match(upid), upid
    decoded = Tasks.decode_upid(upid)
    assert (decoded["type"], decoded["id"], decoded["user"]) == ("vzcreate", str(vmid), "root@pam")
    ok(proxmox, upid)
    lines = log_lines(proxmox, upid)
    assert lines[-1] == "TASK OK"
    assert any("extracting archive '/var/lib/vz/template/cache/debian-12" in line for line in lines)

    config = proxmox.nodes("pve1").lxc(vmid).config.get()
    assert config["hostname"] == "web" and config["cores"] == 2 and config["memory"] == 1024
    assert config["rootfs"] == f"local-lvm:vm-{vmid}-disk-0,size=8G"
    assert re.match(r"name=eth0,bridge=vmbr0,hwaddr=BC:24:11:[0-9A-F:]{8},ip=dhcp,type=veth", config["net0"])
    assert "lock" not in config and len(config["digest"]) == 40

    ok(proxmox, proxmox.nodes("pve1").lxc(vmid).status.start.post())
    current = proxmox.nodes("pve1").lxc(vmid).status.current.get()
    assert current["status"] == "running" and current["maxmem"] == 1024**3 and current["cpus"] == 2
    interfaces = proxmox.nodes("pve1").lxc(vmid).interfaces.get()
    eth0 = next(i for i in interfaces if i["name"] == "eth0")
    assert eth0["inet"].startswith(simulator.cluster.ct_net + ".")

    proxmox.nodes("pve1").lxc(vmid).config.put(memory=2048, description="movies", delete="features")
    config = proxmox.nodes("pve1").lxc(vmid).config.get()
    assert config["memory"] == 2048 and config["description"] == "movies" and "features" not in config

    ok(proxmox, proxmox.nodes("pve1").lxc(vmid).status.shutdown.post(timeout=30))
    assert proxmox.nodes("pve1").lxc(vmid).status.current.get()["status"] == "stopped"
    ok(proxmox, proxmox.nodes("pve1").lxc(vmid).delete(purge=1, **{"destroy-unreferenced-disks": 1}))
    assert vmid not in [c["vmid"] for c in proxmox.nodes("pve1").lxc.get()]
    assert not proxmox.nodes("pve1").storage("local-lvm").content.get(vmid=vmid)


def test_ticket_auth_drives_reboot_and_stop(simulator: Any, new_vmid: Any) -> None:
    px = ProxmoxAPI(
        simulator.host,
        port=simulator.port,
        user="root@pam",
        password=simulator.root_password,
        verify_ssl=simulator.ca_path,
    )
    vmid = new_vmid()
    create_ct(px, vmid, start=1)
    # start=1 runs a separate vzstart task, as PVE does
    starts = px.nodes("pve1").tasks.get(vmid=vmid, typefilter="vzstart", source="all")
    ok(px, starts[0]["upid"])
    assert px.nodes("pve1").lxc(vmid).status.current.get()["status"] == "running"
    ok(px, px.nodes("pve1").lxc(vmid).status.reboot.post())
    ok(px, px.nodes("pve1").lxc(vmid).status.stop.post())
    ok(px, px.nodes("pve1").lxc(vmid).delete())


def test_snapshots_create_list_rollback_delete(proxmox: Any, new_vmid: Any) -> None:
    vmid = new_vmid()
    create_ct(proxmox, vmid)
    ct = proxmox.nodes("pve1").lxc(vmid)
    ok(proxmox, ct.snapshot.post(snapname="before", description="clean"))
    ct.config.put(memory=4096)
    listed = {s["name"]: s for s in ct.snapshot.get()}
    assert listed["before"]["description"] == "clean"
    assert listed["current"]["parent"] == "before" and listed["current"]["description"] == "You are here!"
    assert ct.snapshot("before").config.get()["memory"] == 512
    ok(proxmox, ct.snapshot("before").rollback.post())
    assert ct.config.get()["memory"] == 512
    failed = wait(proxmox, ct.snapshot.post(snapname="before"))
    assert failed["exitstatus"] == "snapshot name 'before' already used"
    ok(proxmox, ct.snapshot("before").delete())
    assert [s["name"] for s in ct.snapshot.get()] == ["current"]
    ok(proxmox, ct.delete())


def test_template_full_and_linked_clone(proxmox: Any, new_vmid: Any) -> None:
    source, full, linked, from_snapshot = new_vmid(), new_vmid(), new_vmid(), new_vmid()
    create_ct(proxmox, source)
    ok(proxmox, proxmox.nodes("pve1").lxc(source).snapshot.post(snapname="s1"))
    ok(proxmox, proxmox.nodes("pve1").lxc(source).clone.post(newid=from_snapshot, snapname="s1", full=0))
    ok(proxmox, proxmox.nodes("pve1").lxc(source).snapshot("s1").delete())
    ok(
        proxmox,
        proxmox.nodes("pve1").lxc(source).clone.post(newid=full, hostname="copy", full=1, target="pve2"),
    )
    copy = proxmox.nodes("pve2").lxc(full).config.get()
    assert copy["hostname"] == "copy" and copy["rootfs"].startswith(f"local-lvm:vm-{full}-disk-0")

    ok(proxmox, proxmox.nodes("pve1").lxc(from_snapshot).delete())
    assert proxmox.nodes("pve1").lxc(source).template.post() is None
    config = proxmox.nodes("pve1").lxc(source).config.get()
    assert config["template"] == 1 and config["rootfs"].startswith(f"local-lvm:base-{source}-disk-0")
    ok(proxmox, proxmox.nodes("pve1").lxc(source).clone.post(newid=linked, hostname="thin"))
    rootfs = proxmox.nodes("pve1").lxc(linked).config.get()["rootfs"]
    assert rootfs.startswith(f"local-lvm:base-{source}-disk-0/vm-{linked}-disk-0")
    # the template cannot go while a linked clone uses its base volume
    refused = wait(proxmox, proxmox.nodes("pve1").lxc(source).delete())
    assert refused["exitstatus"].startswith(f"base volume 'local-lvm:base-{source}-disk-0' is still in use")
    for node, vmid in (("pve1", linked), ("pve1", source), ("pve2", full)):
        ok(proxmox, proxmox.nodes(node).lxc(vmid).delete())


def test_resize_and_migrate_with_restart(proxmox: Any, simulator: Any, new_vmid: Any) -> None:
    vmid = new_vmid()
    create_ct(proxmox, vmid, start=1)
    ok(proxmox, proxmox.nodes("pve1").tasks.get(vmid=vmid, typefilter="vzstart", source="all")[0]["upid"])
    ok(proxmox, proxmox.nodes("pve1").lxc(vmid).resize.put(disk="rootfs", size="+2G"))
    assert proxmox.nodes("pve1").lxc(vmid).config.get()["rootfs"].endswith("size=4G")
    upid = proxmox.nodes("pve1").lxc(vmid).migrate.post(target="pve3", restart=1)
    ok(proxmox, upid)
    assert any("migration finished successfully" in line for line in log_lines(proxmox, upid))
    assert simulator.cluster.containers[vmid].node == "pve3"
    assert proxmox.nodes("pve3").lxc(vmid).status.current.get()["status"] == "running"
    assert proxmox.nodes("pve3").storage("local-lvm").content.get(vmid=vmid)
    assert not proxmox.nodes("pve1").storage("local-lvm").content.get(vmid=vmid)
    ok(proxmox, proxmox.nodes("pve3").lxc(vmid).delete(force=1))


def test_backup_and_restore_over_existing(proxmox: Any, new_vmid: Any) -> None:
    vmid = new_vmid()
    create_ct(proxmox, vmid, memory=768)
    upid = proxmox.nodes("pve1").vzdump.post(
        vmid=vmid,
        mode="snapshot",
        compress="zstd",
        storage="local",
        **{"notes-template": "{{guestname}} nightly"},
    )
    ok(proxmox, upid)
    lines = log_lines(proxmox, upid)
    created = [line for line in lines if "creating vzdump archive" in line]
    match = re.search(
        rf"'/var/lib/vz/dump/(vzdump-lxc-{vmid}-\d{{4}}_\d\d_\d\d-\d\d_\d\d_\d\d\.tar\.zst)'", created[0]
    )
    assert match, created
    volid = f"local:backup/{match.group(1)}"
    backups = proxmox.nodes("pve1").storage("local").content.get(content="backup", vmid=vmid)
    assert [b["volid"] for b in backups] == [volid]
    assert backups[0]["notes"] == f"ct{vmid} nightly" and backups[0]["format"] == "tar.zst"

    proxmox.nodes("pve1").lxc(vmid).config.put(memory=256)
    refused = _error(lambda: proxmox.nodes("pve1").lxc.post(vmid=vmid, ostemplate=volid, restore=1))
    assert f"CT {vmid} already exists on node 'pve1'" in refused
    ok(proxmox, proxmox.nodes("pve1").lxc.post(vmid=vmid, ostemplate=volid, restore=1, force=1))
    assert proxmox.nodes("pve1").lxc(vmid).config.get()["memory"] == 768
    ok(proxmox, proxmox.nodes("pve1").lxc(vmid).delete())
    ok(proxmox, proxmox.nodes("pve1").storage("local").content(volid).delete())


def test_task_lists_carry_total(proxmox: Any) -> None:
    from proxmoxer.core import ResourceException

    session = proxmox._store["session"]
    url = proxmox._store["base_url"] + "/nodes/pve1/tasks"
    body = session.request("GET", url, params={"limit": 2}).json()
    assert len(body["data"]) <= 2 and body["total"] >= len(body["data"])
    upid = body["data"][0]["upid"]
    log = session.request("GET", f"{url}/{upid}/log", params={"limit": 1}).json()
    assert len(log["data"]) == 1 and log["total"] >= 1
    with pytest.raises(ResourceException):
        proxmox.nodes("pve1").tasks("UPID:pve1:00000000:00000000:00000000:vzstart:1:root@pam:").status.get()


def _error(action: Any) -> str:
    from proxmoxer.core import ResourceException

    with pytest.raises(ResourceException) as caught:
        action()
    return str(caught.value)
