"""Authentication and permissions worded as PVE words them: tickets, CSRF, tokens, roles."""

from __future__ import annotations

from typing import Any

import pytest
import requests
from proxmoxer import ProxmoxAPI
from proxmoxer.core import AuthenticationError, ResourceException

from .helpers import create_ct, ok


def api(simulator: Any, path: str) -> str:
    return f"{simulator.url}/api2/json{path}"


def token_client(simulator: Any, token_id: str, secret: str) -> ProxmoxAPI:
    user, name = token_id.split("!")
    return ProxmoxAPI(
        simulator.host,
        port=simulator.port,
        user=user,
        token_name=name,
        token_value=secret,
        verify_ssl=simulator.ca_path,
    )


def test_no_credentials_means_no_ticket(simulator: Any) -> None:
    answer = requests.get(api(simulator, "/nodes"), verify=simulator.ca_path, timeout=10)
    assert (answer.status_code, answer.reason) == (401, "No ticket")


def test_wrong_password_and_wrong_token(simulator: Any) -> None:
    answer = requests.post(
        api(simulator, "/access/ticket"),
        data={"username": "root@pam", "password": "nope"},
        verify=simulator.ca_path,
        timeout=10,
    )
    assert (answer.status_code, answer.reason) == (401, "authentication failure")
    with pytest.raises(AuthenticationError):
        ProxmoxAPI(
            simulator.host,
            port=simulator.port,
            user="root@pam",
            password="nope",
            verify_ssl=simulator.ca_path,
        )
    with pytest.raises(ResourceException) as caught:
        token_client(simulator, simulator.token_id, "00000000-0000-0000-0000-000000000000").nodes.get()
    assert caught.value.status_code == 401


def test_ticket_cookie_needs_csrf_on_writes_and_renews(simulator: Any) -> None:
    login = requests.post(
        api(simulator, "/access/ticket"),
        data={"username": "root@pam", "password": simulator.root_password},
        verify=simulator.ca_path,
        timeout=10,
    ).json()["data"]
    assert login["ticket"].startswith("PVE:root@pam:") and login["username"] == "root@pam"
    cookies = {"PVEAuthCookie": login["ticket"]}
    read = requests.get(api(simulator, "/version"), cookies=cookies, verify=simulator.ca_path, timeout=10)
    assert read.status_code == 200
    write = requests.post(
        api(simulator, "/pools"),
        data={"poolid": "csrf"},
        cookies=cookies,
        verify=simulator.ca_path,
        timeout=10,
    )
    assert (write.status_code, write.reason) == (401, "Permission denied - invalid csrf token")
    write = requests.post(
        api(simulator, "/pools"),
        data={"poolid": "csrf"},
        cookies=cookies,
        headers={"CSRFPreventionToken": login["CSRFPreventionToken"]},
        verify=simulator.ca_path,
        timeout=10,
    )
    assert write.status_code == 200
    renewed = requests.post(
        api(simulator, "/access/ticket"),
        data={"username": "root@pam", "password": login["ticket"]},
        verify=simulator.ca_path,
        timeout=10,
    )
    assert renewed.status_code == 200 and renewed.json()["data"]["ticket"].startswith("PVE:root@pam:")
    forged = login["ticket"][:-4] + "AAA="
    answer = requests.get(
        api(simulator, "/version"), cookies={"PVEAuthCookie": forged}, verify=simulator.ca_path, timeout=10
    )
    assert answer.status_code == 401
    requests.delete(
        api(simulator, "/pools/csrf"),
        cookies=cookies,
        verify=simulator.ca_path,
        timeout=10,
        headers={"CSRFPreventionToken": login["CSRFPreventionToken"]},
    )


def test_auditor_reads_but_may_not_act(simulator: Any, proxmox: Any, new_vmid: Any) -> None:
    vmid = new_vmid()
    create_ct(proxmox, vmid)
    auditor = token_client(simulator, simulator.auditor_token_id, simulator.auditor_token_secret)
    assert vmid in [r["vmid"] for r in auditor.cluster.resources.get(type="vm")]
    assert auditor.nodes("pve1").lxc(vmid).config.get()["hostname"] == f"ct{vmid}"
    with pytest.raises(ResourceException) as caught:
        auditor.nodes("pve1").lxc(vmid).status.start.post()
    assert caught.value.status_code == 403
    assert caught.value.content == f"Permission check failed (/vms/{vmid}, VM.PowerMgmt)"
    permissions = auditor.access.permissions.get(path=f"/vms/{vmid}")
    assert permissions[f"/vms/{vmid}"]["VM.Audit"] == 1 and "VM.PowerMgmt" not in permissions[f"/vms/{vmid}"]
    ok(proxmox, proxmox.nodes("pve1").lxc(vmid).delete())


def test_privilege_separated_token_gets_only_its_acl(simulator: Any, proxmox: Any, new_vmid: Any) -> None:
    vmid = new_vmid()
    create_ct(proxmox, vmid)
    created = proxmox.access.users("root@pam").token("ops").post(privsep=1, comment="ops bot")
    assert created["full-tokenid"] == "root@pam!ops" and created["info"]["privsep"] == 1
    bot = token_client(simulator, "root@pam!ops", created["value"])
    assert bot.cluster.resources.get(type="vm") == []  # privilege-separated with no ACL: sees nothing
    proxmox.access.acl.put(path=f"/vms/{vmid}", roles="PVEVMUser", tokens="root@pam!ops")
    assert [r["vmid"] for r in bot.cluster.resources.get(type="vm")] == [vmid]
    ok(bot, bot.nodes("pve1").lxc(vmid).status.start.post())
    with pytest.raises(ResourceException) as caught:
        bot.nodes("pve1").lxc(vmid).delete(force=1)
    assert caught.value.content == f"Permission check failed (/vms/{vmid}, VM.Allocate)"
    assert "ops" in [t["tokenid"] for t in proxmox.access.users("root@pam").token.get()]
    proxmox.access.users("root@pam").token("ops").delete()
    with pytest.raises(ResourceException) as caught:
        bot.nodes.get()
    assert caught.value.status_code == 401
    ok(proxmox, proxmox.nodes("pve1").lxc(vmid).delete(force=1))


def test_root_permissions_cover_everything(proxmox: Any) -> None:
    permissions = proxmox.access.permissions.get(path="/")
    assert {"VM.Allocate", "Sys.Audit", "Datastore.Allocate", "Permissions.Modify"} <= set(permissions["/"])
