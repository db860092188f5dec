"""Storages: status, content, upload, download-url, appliances, OCI pulls, space accounting."""

from __future__ import annotations

import io
from typing import Any

import pytest
from proxmoxer.core import ResourceException

from proximity.sim.endpoints.storage import oci_file_name
from proximity.sim.propstr import GIB

from .helpers import DEBIAN, create_ct, log_lines, ok, wait


def test_storages_and_capacity(proxmox: Any) -> None:
    storages = {s["storage"]: s for s in proxmox.nodes("pve1").storage.get()}
    assert storages["local"]["type"] == "dir" and storages["local"]["total"] == 100 * GIB
    assert set(storages["local"]["content"].split(",")) >= {"vztmpl", "backup", "iso"}
    assert storages["local-lvm"]["type"] == "lvmthin" and storages["local-lvm"]["content"] == "images,rootdir"
    assert [s["storage"] for s in proxmox.nodes("pve1").storage.get(content="backup")] == ["local"]
    config = {s["storage"]: s for s in proxmox.storage.get()}
    assert config["local-lvm"]["thinpool"] == "data" and config["local"]["path"] == "/var/lib/vz"


def test_usage_grows_with_disks_and_backups(proxmox: Any, new_vmid: Any) -> None:
    def used(storage: str) -> int:
        return proxmox.nodes("pve1").storage(storage).status.get()["used"]

    lvm_before, local_before = used("local-lvm"), used("local")
    vmid = new_vmid()
    create_ct(proxmox, vmid, template=DEBIAN, rootfs="local-lvm:8")
    assert used("local-lvm") > lvm_before + 400 * 1024**2  # the unpacked template
    ok(proxmox, proxmox.nodes("pve1").vzdump.post(vmid=vmid, storage="local", compress="zstd"))
    assert used("local") > local_before + 150 * 1024**2  # the archive
    ok(proxmox, proxmox.nodes("pve1").lxc(vmid).delete())
    for backup in proxmox.nodes("pve1").storage("local").content.get(content="backup", vmid=vmid):
        ok(proxmox, proxmox.nodes("pve1").storage("local").content(backup["volid"]).delete())
    assert used("local-lvm") == lvm_before and used("local") == local_before


def test_out_of_space_fails_the_task(proxmox: Any, simulator: Any, new_vmid: Any) -> None:
    vmid = new_vmid()
    thin = simulator.cluster.storages["local-lvm"]
    original = thin.total
    thin.total = simulator.cluster.storage_used("pve1", "local-lvm") + 100 * 1024**2
    try:
        status = wait(
            proxmox, proxmox.nodes("pve1").lxc.post(vmid=vmid, ostemplate=DEBIAN, rootfs="local-lvm:8")
        )
    finally:
        thin.total = original
    assert status["exitstatus"].startswith(f"unable to create CT {vmid} - command ")
    assert status["exitstatus"].endswith("failed: exit code 2")
    assert any("No space left on device" in line for line in log_lines(proxmox, status["upid"]))


def test_content_notes_protection_and_delete(proxmox: Any, new_vmid: Any) -> None:
    vmid = new_vmid()
    create_ct(proxmox, vmid)
    ok(proxmox, proxmox.nodes("pve1").vzdump.post(vmid=vmid, storage="local", compress="zstd"))
    (backup,) = proxmox.nodes("pve1").storage("local").content.get(content="backup", vmid=vmid)
    volume = proxmox.nodes("pve1").storage("local").content(backup["volid"])
    volume.put(notes="before upgrade", protected=1)
    details = volume.get()
    assert details["notes"] == "before upgrade" and details["protected"] == 1
    assert details["path"].startswith("/var/lib/vz/dump/vzdump-lxc-")
    with pytest.raises(ResourceException) as caught:
        volume.delete()
    assert "protected" in caught.value.content
    volume.put(protected=0)
    ok(proxmox, volume.delete())
    rootfs = f"local-lvm:vm-{vmid}-disk-0"
    with pytest.raises(ResourceException) as caught:
        proxmox.nodes("pve1").storage("local-lvm").content(rootfs).delete()
    assert f"in use by CT {vmid}" in caught.value.content
    ok(proxmox, proxmox.nodes("pve1").lxc(vmid).delete())


def test_upload_and_download_url(proxmox: Any) -> None:
    payload = io.BytesIO(b"\x28\xb5\x2f\xfd" + b"\0" * 4096)
    payload.name = "custom-template_1.0_amd64.tar.zst"
    ok(proxmox, proxmox.nodes("pve2").storage("local").upload.post(content="vztmpl", filename=payload))
    uploaded = [
        c
        for c in proxmox.nodes("pve2").storage("local").content.get(content="vztmpl")
        if c["volid"] == "local:vztmpl/custom-template_1.0_amd64.tar.zst"
    ]
    assert uploaded[0]["size"] == 4100 and uploaded[0]["format"] == "tzst"

    bad = io.BytesIO(b"x")
    bad.name = "notes.txt"
    with pytest.raises(ResourceException) as caught:
        proxmox.nodes("pve2").storage("local").upload.post(content="vztmpl", filename=bad)
    assert caught.value.status_code == 400

    source = "http://download.proxmox.com/images/system/debian-13-standard_13.6-1_amd64.tar.zst"
    ok(
        proxmox,
        proxmox.nodes("pve2")
        .storage("local")
        .post(
            "download-url", url=source, filename="debian-13-standard_13.6-1_amd64.tar.zst", content="vztmpl"
        ),
    )
    unknown = wait(
        proxmox,
        proxmox.nodes("pve2")
        .storage("local")
        .post(
            "download-url",
            url="https://example.org/x.iso",
            filename="x.iso",
            content="iso",
            checksum="ab" * 32,
            **{"checksum-algorithm": "sha256"},
        ),
    )
    assert unknown["exitstatus"] == "WARNINGS: 1"  # the simulator cannot verify what it never fetched


def test_aplinfo_lists_the_real_index_and_downloads(proxmox: Any) -> None:
    appliances = proxmox.nodes("pve3").aplinfo.get()
    names = {a["template"] for a in appliances}
    assert "debian-13-standard_13.6-1_amd64.tar.zst" in names and len(appliances) >= 20
    sample = next(a for a in appliances if a["package"] == "alpine-3.23-default")
    assert (
        sample["source"].startswith("http://download.proxmox.com/images/system/") and sample["type"] == "lxc"
    )
    upid = proxmox.nodes("pve3").aplinfo.post(
        storage="local", template="alpine-3.23-default_20260116_amd64.tar.xz"
    )
    ok(proxmox, upid)
    assert log_lines(proxmox, upid)[0].startswith(
        "starting template download from: http://download.proxmox.com"
    )
    volids = [c["volid"] for c in proxmox.nodes("pve3").storage("local").content.get(content="vztmpl")]
    assert "local:vztmpl/alpine-3.23-default_20260116_amd64.tar.xz" in volids


@pytest.mark.parametrize(
    ("reference", "filename", "expected"),
    [
        ("docker.io/library/nginx:latest", None, "nginx_latest.tar"),
        ("ghcr.io/home-assistant/home-assistant:2025.11", None, "home-assistant_2025.11.tar"),
        ("docker.io/library/nginx:latest", "ntfy_v2.28.0", "ntfy_v2.28.0.tar"),
        ("docker.io/library/nginx:latest", "my image", "my_image.tar"),
    ],
)
def test_oci_file_names(reference: str, filename: str | None, expected: str) -> None:
    assert oci_file_name(reference, filename) == expected


def test_oci_pull_then_create(proxmox: Any, simulator: Any, new_vmid: Any) -> None:
    upid = (
        proxmox.nodes("pve1")
        .storage("local")
        .post("oci-registry-pull", reference="docker.io/library/nginx:latest")
    )
    ok(proxmox, upid)
    volids = [c["volid"] for c in proxmox.nodes("pve1").storage("local").content.get(content="vztmpl")]
    assert "local:vztmpl/nginx_latest.tar" in volids
    vmid = new_vmid()
    create_ct(proxmox, vmid, template="local:vztmpl/nginx_latest.tar")
    assert proxmox.nodes("pve1").lxc(vmid).config.get()["ostype"] == "unmanaged"
    tags = proxmox.nodes("pve1").get("query-oci-repo-tags", reference="docker.io/library/nginx")
    assert isinstance(tags, list)
    ok(proxmox, proxmox.nodes("pve1").lxc(vmid).delete())


def test_references_docker_refuses_answer_400_on_reference(proxmox: Any) -> None:
    """An upper-case registry host passes the schema's pattern but not Docker's reference grammar."""
    storage = proxmox.nodes("pve1").storage("local")
    for action in (
        lambda: storage.post("oci-registry-pull", reference="Registry.Example.com/team/app:1.0"),
        lambda: proxmox.nodes("pve1").get("query-oci-repo-tags", reference="Registry.Example.com/team/app"),
    ):
        with pytest.raises(ResourceException) as caught:
            action()
        assert caught.value.status_code == 400
        assert caught.value.content == "Parameter verification failed."
        assert set(caught.value.errors) == {"reference"}
        assert "invalid reference format" in caught.value.errors["reference"]
