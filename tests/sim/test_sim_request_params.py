"""How request parameters reach the validator over HTTP: repeated keys, JSON bodies, and the methods that
must be validated from the official schema like every other (ACLs, roles, pools)."""

from __future__ import annotations

from typing import Any

import pytest
import requests

UNKNOWN = "property is not defined in schema and the schema does not allow additional properties"


@pytest.fixture
def api(simulator: Any) -> Any:
    """``call(method, path, **requests_kwargs)`` with the root token, the certificate pinned."""
    session = requests.Session()
    session.headers["Authorization"] = f"PVEAPIToken={simulator.token_id}={simulator.token_secret}"

    def call(method: str, path: str, **kwargs: Any) -> requests.Response:
        return session.request(
            method, f"{simulator.url}/api2/json{path}", verify=simulator.ca_path, timeout=30, **kwargs
        )

    yield call
    session.close()


def test_a_repeated_key_of_a_plain_string_is_an_array_pve_refuses(api: Any) -> None:
    answer = api("GET", "/cluster/resources", params=[("type", "vm"), ("type", "node")])
    assert (answer.status_code, answer.reason) == (400, "Parameter verification failed.")
    assert answer.json()["errors"] == {"type": "type check ('string') failed - got ARRAY"}


def test_a_repeated_key_of_a_list_format_is_joined(api: Any, new_vmid: Any) -> None:
    vmid = new_vmid()  # an ACL path of this test's own
    acl = [
        ("path", f"/vms/{vmid}"),
        ("roles", "PVEAuditor"),
        ("roles", "PVEVMUser"),
        ("users", "auditor@pve"),
    ]
    assert api("PUT", "/access/acl", data=acl).status_code == 200
    granted = {
        row["roleid"]
        for row in api("GET", "/access/acl").json()["data"]
        if row["path"] == f"/vms/{vmid}" and row["ugid"] == "auditor@pve"
    }
    assert granted == {"PVEAuditor", "PVEVMUser"}
    removal = [*acl, ("delete", "1")]
    assert api("PUT", "/access/acl", data=removal).status_code == 200


def test_json_bodies_reach_the_validator_unchanged(api: Any, simulator: Any) -> None:
    answer = api("POST", "/pools", json={"poolid": {"name": "x"}})
    assert answer.status_code == 400
    assert answer.json()["errors"] == {"poolid": "type check ('string') failed - got HASH"}
    answer = api("POST", "/pools", json={"poolid": "json-pool", "comment": ["a", "b"]})
    assert answer.json()["errors"] == {"comment": "type check ('string') failed - got ARRAY"}
    assert api("POST", "/pools", json={"poolid": "json-pool", "comment": "from JSON"}).status_code == 200
    assert simulator.cluster.pools["json-pool"].comment == "from JSON"
    assert api("DELETE", "/pools/json-pool").status_code == 200


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/access/acl"),
        ("PUT", "/access/acl"),
        ("GET", "/access/roles"),
        ("PUT", "/pools/validated"),
        ("DELETE", "/pools/validated"),
    ],
)
def test_acl_roles_and_pool_methods_refuse_unknown_parameters(api: Any, method: str, path: str) -> None:
    where = "params" if method in ("GET", "DELETE") else "data"
    answer = api(method, path, **{where: {"frobnicate": "1"}})
    assert (answer.status_code, answer.reason) == (400, "Parameter verification failed.")
    assert answer.json()["errors"]["frobnicate"] == UNKNOWN
