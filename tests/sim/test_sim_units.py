"""Small pieces of the simulator: UPIDs, routing, property strings, the appliance index generator."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from proxmoxer.tools import Tasks

from proximity.sim import aplinfo
from proximity.sim.aplinfo import parse_index
from proximity.sim.propstr import format_size, parse_propstr, parse_size
from proximity.sim.router import Router
from proximity.sim.routes import ROUTES
from proximity.sim.tasks import format_upid

ROOT = Path(__file__).resolve().parents[2]


def test_upid_has_pve_shape_and_decodes() -> None:
    upid = format_upid("pve1", 0xABCD, 0x1E240, 0x6554A1B2, "vzcreate", "100", "root@pam")
    assert upid == "UPID:pve1:0000ABCD:0001E240:6554A1B2:vzcreate:100:root@pam:"
    decoded = Tasks.decode_upid(upid)
    assert (decoded["pid"], decoded["starttime"], decoded["id"]) == (0xABCD, 0x6554A1B2, "100")
    assert (
        Tasks.decode_upid(format_upid("pve1", 1, 2, 3, "imgdel", "local:iso/x", "root@pam"))["id"]
        == "local\\x3aiso/x"
    )


def test_router_matches_templates_and_greedy_volumes() -> None:
    router = Router(ROUTES)
    route, params = router.match("GET", "/nodes/pve1/lxc/100/status/current")  # type: ignore[misc]
    assert route.template == "/nodes/{node}/lxc/{vmid}/status/current" and params == {
        "node": "pve1",
        "vmid": "100",
    }
    route, params = router.match("GET", "/nodes/pve1/storage/local/content/local:vztmpl/a.tar.zst")  # type: ignore[misc]
    assert params["volume"] == "local:vztmpl/a.tar.zst"
    assert router.match("GET", "/nodes/pve1/nothing-here") is None
    assert router.match("PATCH", "/version") is None


def test_routes_are_unique_and_cover_the_issue() -> None:
    served = {(r.method, r.template) for r in ROUTES}
    assert len(served) == len(ROUTES)
    for needed in [
        ("GET", "/cluster/resources"),
        ("POST", "/nodes/{node}/lxc/{vmid}/migrate"),
        ("POST", "/nodes/{node}/storage/{storage}/oci-registry-pull"),
        ("GET", "/nodes/{node}/query-oci-repo-tags"),
        ("POST", "/nodes/{node}/vzdump"),
        ("POST", "/access/ticket"),
        ("GET", "/access/permissions"),
    ]:
        assert needed in served


def test_property_strings_and_sizes() -> None:
    assert parse_propstr("local-lvm:8,mountoptions=noatime", "volume") == {
        "volume": "local-lvm:8",
        "mountoptions": "noatime",
    }
    assert parse_size("8G") == 8 * 1024**3 and parse_size("8", "G") == 8 * 1024**3
    assert format_size(512 * 1024**2) == "512M" and format_size(4 * 1024**3) == "4G"
    with pytest.raises(ValueError):
        parse_size("eight")


def test_aplinfo_parses_the_real_index_like_the_committed_copy(shared_dir: Path) -> None:
    appliances = parse_index((shared_dir / "pve-api" / "aplinfo-pve-9.dat").read_text())
    committed = json.loads((ROOT / "proximity" / "sim" / "data" / "aplinfo.json").read_text())
    assert appliances == committed  # the committed copy is what tools/gen_aplinfo.py makes of the index
    assert all(a["type"] == "lxc" for a in appliances)
    debian = next(a for a in appliances if a["package"] == "debian-12-standard")
    assert debian["template"] == "debian-12-standard_12.12-1_amd64.tar.zst"
    assert debian["headline"].startswith("Debian 12")


def test_aplinfo_without_shared_uses_the_committed_copy(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(aplinfo, "SHARED_INDEX", tmp_path / "absent.dat")
    assert aplinfo.load_appliances() == json.loads(aplinfo.PARSED_COPY.read_text())


def test_resources_answer_every_type(proxmox: Any) -> None:
    types = {row["type"] for row in proxmox.cluster.resources.get()}
    assert {"node", "storage", "sdn"} <= types
    assert {row["type"] for row in proxmox.cluster.resources.get(type="storage")} == {"storage"}
    sdn = proxmox.cluster.resources.get(type="sdn")
    assert [row["id"] for row in sdn] == [
        "sdn/pve1/localnetwork",
        "sdn/pve2/localnetwork",
        "sdn/pve3/localnetwork",
    ]
