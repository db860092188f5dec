"""Conformance with the official PVE API schema (issue 2, "Must show").

(a) Every route the simulator serves exists in the generated schema, and, where ``../shared`` holds the
    official file, with exactly the upstream parameters and return description.
(b) Every served GET answers, on a live simulator with containers, snapshots and a backup, with ``data``
    that satisfies the method's ``returns`` schema (as PVE's own validator reads it); so do the writes
    made to build that state.
(c) Bad requests are refused over HTTP with PVE's 400 and per-parameter wording, also through proxmoxer.

The routes come from ``proximity.sim.routes.ROUTES``; until that module exists these tests skip.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

import jsonschema
import pytest
import requests

from proximity.sim.schema import PveSchema

TASK_TIMEOUT_S = 60.0

# PVE refuses these for a stopped container ("CT 100 not running"), so only the running one is asked.
RUNNING_ONLY = {"/nodes/{node}/lxc/{vmid}/interfaces"}
# Mismatches found by this test and reported to the simulator's handler owner (route -> what is wrong).
# Each entry is checked both ways: other mismatches fail the test, and so does a listed one that is gone
# (delete its line once the handler is fixed).
KNOWN_MISMATCHES: dict[str, str] = {}
# Values for required query parameters of GET methods that are not path parameters and have no enum.
SAMPLE_QUERY_VALUES = {"reference": "docker.io/library/nginx"}


@pytest.fixture(scope="module")
def schema() -> PveSchema:
    return PveSchema.load()


@pytest.fixture(scope="module")
def routes() -> list[Any]:
    from proximity.sim.routes import ROUTES

    return list(ROUTES)


@pytest.fixture(scope="module")
def upstream(shared_dir: Path) -> dict[str, dict[str, Any]]:
    apidata = shared_dir / "pve-api" / "apidata.json"
    if not apidata.is_file():
        pytest.skip(f"official schema not present at {apidata}")

    def walk(nodes: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
        for node in nodes:
            yield node
            yield from walk(node.get("children") or [])

    return {node["path"]: node.get("info") or {} for node in walk(json.loads(apidata.read_bytes()))}


# --- (a) the served methods exist in the official schema with the same parameters --------------------------
def test_every_route_is_in_the_generated_schema(routes: list[Any], schema: PveSchema) -> None:
    missing = [f"{r.method} {r.template}" for r in routes if not schema.has(r.method, r.template)]
    assert missing == [], "served but not in pve-schema.json: add them to tools/gen_pve_schema.py SERVED"


@pytest.mark.shared
def test_every_route_matches_upstream_exactly(
    routes: list[Any], schema: PveSchema, upstream: dict[str, dict[str, Any]]
) -> None:
    mismatched = []
    for route in routes:
        info = upstream.get(route.template, {}).get(route.method)
        if info is None:
            mismatched.append(f"{route.method} {route.template}: not in the official schema")
            continue
        endpoint = schema.endpoint(route.method, route.template)
        if endpoint.parameters != info.get("parameters") or endpoint.returns != info.get("returns"):
            mismatched.append(f"{route.method} {route.template}: parameters or returns differ from upstream")
    assert mismatched == []


# --- (b) live responses satisfy `returns` ------------------------------------------------------------------
@dataclass
class LiveApi:
    base: str  # https://127.0.0.1:<port>/api2/json
    token_id: str  # user@realm!name
    token_secret: str = field(repr=False)
    ca_path: str  # the simulator's self-signed certificate, pinned
    session: requests.Session = field(default_factory=requests.Session)

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"PVEAPIToken={self.token_id}={self.token_secret}"}

    def call(self, method: str, path: str, **params: Any) -> requests.Response:
        url = self.base + quote(path, safe="/:@!=,")
        send = {"params": params} if method in ("GET", "DELETE") else {"data": params}
        return self.session.request(
            method, url, headers=self.headers, verify=self.ca_path, timeout=30, **send
        )

    def data(self, method: str, path: str, **params: Any) -> Any:
        response = self.call(method, path, **params)
        assert response.status_code == 200, f"{method} {path}: {response.status_code} {response.reason}"
        return response.json()["data"]

    def wait(self, node: str, upid: str) -> None:
        deadline = time.monotonic() + TASK_TIMEOUT_S
        while time.monotonic() < deadline:
            status = self.data("GET", f"/nodes/{node}/tasks/{upid}/status")
            if status["status"] == "stopped":
                assert status["exitstatus"] == "OK", f"task {upid} ended with {status['exitstatus']}"
                return
            time.sleep(0.02)
        raise AssertionError(f"task {upid} still running after {TASK_TIMEOUT_S}s")


@dataclass
class LiveState:
    """Identifiers of real objects, to fill path templates."""

    values: dict[str, str]  # "vmid" is a running container, with snapshot "before" and a backup
    served: set[tuple[str, str]]
    stopped_vmid: str  # a second container, never started
    writes: list[tuple[str, str, Any]]  # (method, template, data) of each write made to build this

    def fillings(self, names: list[str], template: str) -> list[dict[str, str]]:
        """Path values to try: the running CT, and the stopped one where PVE answers for stopped CTs."""
        running = {name: self.values[name] for name in names}
        if "vmid" not in names or "snapname" in names or template in RUNNING_ONLY:
            return [running]
        return [running, {**running, "vmid": self.stopped_vmid}]


def _served(routes: list[Any]) -> set[tuple[str, str]]:
    return {(route.method, route.template) for route in routes}


def _build_state(api: LiveApi, served: set[tuple[str, str]], vmids: tuple[int, int]) -> LiveState:
    node = sorted(entry["node"] for entry in api.data("GET", "/nodes") if entry.get("status") == "online")[0]
    userid, tokenid = api.token_id.split("!")
    values = {"node": node, "storage": "local", "userid": userid, "tokenid": tokenid}
    upids: list[str] = []
    writes: list[tuple[str, str, Any]] = []

    def run(method: str, template: str, path: str, **params: Any) -> None:
        """Call a served write method, wait for its task, and keep its answer for the returns check."""
        if (method, template) not in served:
            return
        data = api.data(method, path, **params)
        writes.append((method, template, data))
        if isinstance(data, str) and data.startswith("UPID:"):
            api.wait(node, data)
            upids.append(data)

    templates = api.data("GET", f"/nodes/{node}/storage/local/content", content="vztmpl")
    if not templates:
        appliances = api.data("GET", f"/nodes/{node}/aplinfo")
        appliance = next(item for item in appliances if item.get("type") == "lxc")
        run(
            "POST",
            "/nodes/{node}/aplinfo",
            f"/nodes/{node}/aplinfo",
            storage="local",
            template=appliance["template"],
        )
        templates = api.data("GET", f"/nodes/{node}/storage/local/content", content="vztmpl")
    ostemplate = templates[0]["volid"]

    for vmid, name in zip(vmids, ("conformance-a", "conformance-b"), strict=True):
        run(
            "POST",
            "/nodes/{node}/lxc",
            f"/nodes/{node}/lxc",
            vmid=vmid,
            ostemplate=ostemplate,
            hostname=name,
            rootfs="local-lvm:1",
            net0="name=eth0,bridge=vmbr0,ip=dhcp",
            memory=256,
        )
    stopped, running = (str(vmid) for vmid in vmids)
    values["vmid"] = running
    run("POST", "/nodes/{node}/lxc/{vmid}/status/start", f"/nodes/{node}/lxc/{running}/status/start")
    run(
        "POST",
        "/nodes/{node}/lxc/{vmid}/snapshot",
        f"/nodes/{node}/lxc/{running}/snapshot",
        snapname="before",
        description="conformance",
    )
    values["snapname"] = "before"
    run(
        "POST",
        "/nodes/{node}/vzdump",
        f"/nodes/{node}/vzdump",
        vmid=running,
        storage="local",
        mode="snapshot",
    )
    backups = api.data("GET", f"/nodes/{node}/storage/local/content", content="backup", vmid=running)
    values["volume"] = (backups or templates)[0]["volid"]
    if ("POST", "/pools") in served:
        run("POST", "/pools", "/pools", poolid="conformance", comment="conformance test")
        values["poolid"] = "conformance"
    run("POST", "/cluster/backup", "/cluster/backup", schedule="sat 02:00", storage="local", vmid=running)
    if ("GET", "/cluster/backup") in served:
        jobs = api.data("GET", "/cluster/backup")
        if jobs:
            values["id"] = jobs[0]["id"]
    if upids:
        values["upid"] = upids[-1]
    return LiveState(values, served, stopped_vmid=stopped, writes=writes)


@pytest.fixture(scope="module")
def live(routes: list[Any], simulator: Any, new_vmid: Callable[[], int]) -> tuple[LiveApi, LiveState]:
    """The session simulator (tests/conftest.py), with two containers of this module's own."""
    api = LiveApi(
        f"{simulator.url}/api2/json", simulator.token_id, simulator.token_secret, str(simulator.ca_path)
    )
    return api, _build_state(api, _served(routes), (new_vmid(), new_vmid()))


def _query_for(schema: PveSchema, method: str, template: str) -> dict[str, str]:
    endpoint = schema.endpoint(method, template)
    query = {}
    for key, prop in (endpoint.parameters.get("properties") or {}).items():
        if prop.get("optional") or key in endpoint.path_parameters:
            continue
        query[key] = str(prop["enum"][0]) if prop.get("enum") else SAMPLE_QUERY_VALUES[key]
    return query


def _get_routes(routes: list[Any], schema: PveSchema) -> list[Any]:
    """Served GET routes the schema describes (test_every_route_is_in_the_generated_schema has the rest)."""
    served = (route for route in routes if route.method == "GET" and schema.has("GET", route.template))
    return sorted(served, key=lambda route: route.template)


def test_every_served_get_answers_as_its_returns_schema_says(
    routes: list[Any], schema: PveSchema, live: tuple[LiveApi, LiveState]
) -> None:
    api, state = live
    failures: dict[str, list[str]] = {}
    for route in _get_routes(routes, schema):
        names = schema.endpoint("GET", route.template).path_parameters
        if any(name not in state.values for name in names):
            continue  # reported by test_every_served_get_was_reached
        validator = jsonschema.Draft202012Validator(schema.returns_schema("GET", route.template))
        for filling in state.fillings(names, route.template):
            path = route.template.format(**filling)
            response = api.call("GET", path, **_query_for(schema, "GET", route.template))
            found = failures.setdefault(route.template, [])
            if response.status_code != 200:
                found.append(f"GET {path}: HTTP {response.status_code} {response.reason}")
                continue
            for error in validator.iter_errors(response.json().get("data")):
                found.append(f"GET {path}: {error.json_path}: {error.message[:300]}")
    unexpected = [
        line for template, lines in failures.items() if template not in KNOWN_MISMATCHES for line in lines
    ]
    fixed = [template for template in KNOWN_MISMATCHES if template in failures and not failures[template]]
    assert unexpected == [], "\n".join(unexpected)
    assert fixed == [], f"fixed, remove from KNOWN_MISMATCHES: {fixed}"


def test_write_answers_satisfy_their_returns_schema(
    schema: PveSchema, live: tuple[LiveApi, LiveState]
) -> None:
    _api, state = live
    assert state.writes, "building the live state made no write calls"
    failures = []
    for method, template, data in state.writes:
        validator = jsonschema.Draft202012Validator(schema.returns_schema(method, template))
        failures += [
            f"{method} {template}: {error.json_path}: {error.message[:300]}"
            for error in validator.iter_errors(data)
        ]
    assert failures == []


def test_every_served_get_was_reached(
    routes: list[Any], schema: PveSchema, live: tuple[LiveApi, LiveState]
) -> None:
    _api, state = live
    unreached = [
        f"GET {route.template} (no live value for {missing})"
        for route in _get_routes(routes, schema)
        if (
            missing := [
                name
                for name in schema.endpoint("GET", route.template).path_parameters
                if name not in state.values
            ]
        )
    ]
    assert unreached == []


# --- requests are validated from the schema, over HTTP, with PVE's wording --------------------------------
def test_invalid_requests_answer_400_with_pve_errors(live: tuple[LiveApi, LiveState]) -> None:
    api, state = live
    node = state.values["node"]
    response = api.call(
        "POST",
        f"/nodes/{node}/lxc",
        vmid="100",
        ostemplate="local:vztmpl/x.tar.zst",
        start="True",
        net0="bridge=vmbr0",
        bogus="1",
    )
    assert (response.status_code, response.reason) == (400, "Parameter verification failed.")
    assert response.json()["errors"] == {
        "start": "type check ('boolean') failed - got 'True'",
        "net0": "invalid format - format error\nnet0.name: property is missing and it is not optional\n",
        "bogus": "property is not defined in schema and the schema does not allow additional properties",
    }
    response = api.call("GET", f"/nodes/{node}/lxc/abc/status/current")
    assert response.status_code == 400
    assert response.json()["errors"] == {"vmid": "type check ('integer') failed - got 'abc'"}


def test_proxmoxer_python_booleans_are_refused_as_pve_refuses_them(
    live: tuple[LiveApi, LiveState], proxmox: Any
) -> None:
    from proxmoxer import ResourceException

    _api, state = live
    container = proxmox.nodes(state.values["node"]).lxc(state.stopped_vmid)
    with pytest.raises(ResourceException) as caught:
        container.status.start.post(skiplock=True)  # proxmoxer sends Python's True as "True"
    assert container.status.current.get()["status"] == "stopped"
    assert caught.value.status_code == 400
    assert caught.value.errors == {"skiplock": "type check ('boolean') failed - got 'True'"}
