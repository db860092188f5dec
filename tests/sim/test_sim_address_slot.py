"""Simulators running side by side (two test processes, a demo beside the tests) hand out container
addresses from different ranges, so their apps never fight over one address and port."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from proximity.sim import Simulator
from proximity.sim.address_slot import claim_slot

HOLD_SLOT = """
import pathlib, sys
from proximity.sim.address_slot import claim_slot
slot = claim_slot(pathlib.Path({folder!r}))
print(slot.index, flush=True)
sys.stdin.read()
"""


def test_two_slots_in_one_directory_differ_and_free_on_release(tmp_path: Path) -> None:
    first, second = claim_slot(tmp_path), claim_slot(tmp_path)
    assert (first.index, second.index) == (0, 1) and first.net != second.net
    first.release()
    again = claim_slot(tmp_path)
    assert again.index == 0
    again.release()
    second.release()


def test_a_slot_held_by_another_process_is_skipped(tmp_path: Path) -> None:
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            HOLD_SLOT.format(folder=str(tmp_path)),
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "0"
        mine = claim_slot(tmp_path)
        assert mine.index == 1
        mine.release()
    finally:
        holder.kill()
        holder.wait()
    freed = claim_slot(tmp_path)  # the killed holder's lock died with it
    assert freed.index == 0
    freed.release()


def test_same_vmid_in_two_simulators_gets_two_addresses() -> None:
    with Simulator(nodes=1, time_scale=0.01) as one, Simulator(nodes=1, time_scale=0.01) as two:
        assert one.cluster.ct_net != two.cluster.ct_net
        ips = []
        for sim in (one, two):
            from proxmoxer import ProxmoxAPI

            user, token = sim.token_id.split("!")
            api = ProxmoxAPI(
                sim.host,
                port=sim.port,
                user=user,
                token_name=token,
                token_value=sim.token_secret,
                verify_ssl=sim.ca_path,
            )
            node = api.nodes("pve1")
            sim.wait_task(
                node.lxc.post(
                    vmid=4242,
                    ostemplate="local:vztmpl/alpine-3.22-default_20250617_amd64.tar.xz",
                    rootfs="local-lvm:1",
                    net0="name=eth0,bridge=vmbr0,ip=dhcp",
                )
            )
            sim.wait_task(node.lxc(4242).status.start.post())
            ips.append(sim.cluster.containers[4242].ip)
        assert ips[0] != ips[1] and ips[0].endswith(".16.146") and ips[1].endswith(".16.146")
