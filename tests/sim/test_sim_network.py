"""Node network and a container's interfaces, shaped as PVE 9 answers them."""

from __future__ import annotations

from typing import Any

from proximity.sim.endpoints.lxc import link_local_address

from .helpers import create_ct, ok


def test_node_network_leaves_the_loopback_device_out(proxmox: Any) -> None:
    interfaces = proxmox.nodes("pve1").network.get()
    assert [i["iface"] for i in interfaces] == ["eno1", "vmbr0"]
    assert [i["iface"] for i in proxmox.nodes("pve1").network.get(type="bridge")] == ["vmbr0"]
    assert [i["iface"] for i in proxmox.nodes("pve1").network.get(type="eth")] == ["eno1"]


def test_link_local_address_is_the_kernels_eui64() -> None:
    assert link_local_address("bc:24:11:4a:5b:6c") == "fe80::be24:11ff:fe4a:5b6c"
    assert link_local_address("02:00:00:00:00:01") == "fe80::ff:fe00:1"


def test_interfaces_carry_pve9_hardware_address_and_ip_addresses(
    proxmox: Any, new_vmid: Any, simulator: Any
) -> None:
    vmid = new_vmid()
    create_ct(proxmox, vmid, net1="name=eth1,bridge=vmbr0,ip=10.20.0.5/24,ip6=fd00::5/64")
    ok(proxmox, proxmox.nodes("pve1").lxc(vmid).status.start.post())
    try:
        rows = {row["name"]: row for row in proxmox.nodes("pve1").lxc(vmid).interfaces.get()}
        assert list(rows) == ["lo", "eth0", "eth1"]
        assert rows["lo"] == {
            "name": "lo",
            "hwaddr": "00:00:00:00:00:00",
            "hardware-address": "00:00:00:00:00:00",
            "inet": "127.0.0.1/8",
            "inet6": "::1/128",
            "ip-addresses": [
                {"ip-address": "127.0.0.1", "ip-address-type": "inet", "prefix": 8},
                {"ip-address": "::1", "ip-address-type": "inet6", "prefix": 128},
            ],
        }
        config = proxmox.nodes("pve1").lxc(vmid).config.get()
        for name, key in (("eth0", "net0"), ("eth1", "net1")):
            mac = dict(part.split("=", 1) for part in config[key].split(","))["hwaddr"].lower()
            assert rows[name]["hwaddr"] == rows[name]["hardware-address"] == mac
            assert rows[name]["ip-addresses"][-1] == {
                "ip-address": link_local_address(mac),
                "ip-address-type": "inet6",
                "prefix": 64,
            }
        eth0 = rows["eth0"]
        lease = eth0["ip-addresses"][0]
        assert (
            lease["ip-address"].startswith(simulator.cluster.ct_net + ".")
            and lease["ip-address-type"] == "inet"
        )
        assert eth0["inet"] == f"{lease['ip-address']}/16" and lease["prefix"] == 16
        eth1 = rows["eth1"]
        assert eth1["inet"] == "10.20.0.5/24"
        assert eth1["ip-addresses"][:2] == [
            {"ip-address": "10.20.0.5", "ip-address-type": "inet", "prefix": 24},
            {"ip-address": "fd00::5", "ip-address-type": "inet6", "prefix": 64},
        ]
        assert eth1["inet6"].startswith("fe80::")  # the last inet6 address, as PVE keeps it
    finally:
        ok(proxmox, proxmox.nodes("pve1").lxc(vmid).status.stop.post())
        ok(proxmox, proxmox.nodes("pve1").lxc(vmid).delete())
