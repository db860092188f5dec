"""SDK and CLI inputs, fuzzed with hypothesis against the simulator: only typed errors (``ProximityError``
subclasses; pydantic errors wrapped at the edge), never a traceback from deep inside, and never partial
state after a refusal (no app or port row, no app secret, no job left running, no container).

- app and node names: whatever Proximity accepts, PVE accepts too (checked against the simulator's copy
  of PVE's formats), so a name PVE would refuse never gets as far as a create;
- deploy inputs (catalog id, name, node, sizes, env values of any type, method) on a live cluster;
- typed inputs against every entry of the real catalog (``resolve_inputs``);
- hosts.add (names, URLs on loopback, token ids, secrets, fingerprints, SSH ports);
- resize values and backup options on a deployed app (afterwards the record agrees with PVE);
- CLI arguments through click's CliRunner.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from typing import Any

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from proximity import Proximity
from proximity.catalog.loader import load_catalog
from proximity.cli import main as cli
from proximity.collections.common import check_name, check_node_name
from proximity.collections.install import resolve_inputs
from proximity.errors import ProximityError, ValidationError
from proximity.sim.schema_formats import FormatError, verify_dns_name, verify_node
from tests.sdk.conftest import FAST, add_lab
from tests.security.helpers import INJECTIONS, Figures, leftovers

pytestmark = pytest.mark.timeout(300)


def fuzz(examples: int) -> Any:
    return settings(
        max_examples=examples,
        deadline=None,  # each example is bounded by the client's timeouts; the machine is shared
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
        derandomize=True,  # the same examples every run: the published figures reproduce exactly
    )


hostile_text = st.one_of(
    st.text(max_size=30),
    st.sampled_from([t.format(canary="/tmp/x") for t in INJECTIONS]),
    st.sampled_from(
        ["", " ", "\x00", "web\n", "a" * 64, "a" * 300, "pve1/../../access", "pve1?x=1", "..", "%2e"]
    ),
    st.from_regex(r"[a-z][a-z0-9-]{0,8}", fullmatch=True),
)
any_value = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**63), 2**63),
    st.floats(allow_nan=True, allow_infinity=True),
    hostile_text,
    st.lists(st.integers(), max_size=2),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
)


def _pve_accepts(verify: Any, value: str) -> bool:
    try:
        verify(value)
    except FormatError:
        return False
    return True


# ------------------------------------------------------------------ names (pure)


@fuzz(1500)
@given(name=st.one_of(hostile_text, st.text(alphabet="abcz09-_.\n A", max_size=70)))
def test_an_app_name_proximity_accepts_is_a_hostname_pve_accepts(name: str, figures: Figures) -> None:
    try:
        check_name(name)
    except ValidationError as error:
        assert "app name" in str(error)
    else:
        assert _pve_accepts(verify_dns_name, name) and len(name) <= 63 and "\n" not in name
    figures.add("fuzz: app names checked against PVE's hostname format", 1)


@fuzz(1000)
@given(node=st.one_of(hostile_text, st.text(alphabet="pve19-/.?\n", max_size=20)))
def test_a_node_name_proximity_accepts_is_one_pve_accepts(node: str, figures: Figures) -> None:
    try:
        check_node_name(node)
    except ValidationError as error:
        assert "node name" in str(error)
    else:
        assert _pve_accepts(verify_node, node) and "/" not in node and "\n" not in node
    figures.add("fuzz: node names checked against PVE's node format", 1)


# ------------------------------------------------------------------ typed inputs (pure)

CATALOG = load_catalog()
ENTRIES_WITH_INPUTS = [entry for entry in CATALOG if entry.env]


@st.composite
def entry_and_inputs(draw: st.DrawFn) -> tuple[Any, dict[str, Any]]:
    entry = draw(st.sampled_from(ENTRIES_WITH_INPUTS))
    names = [spec.name for spec in entry.env]
    keys = (
        st.one_of(st.sampled_from(names), st.text(max_size=8))
        if draw(st.booleans())
        else st.sampled_from(names)
    )
    return entry, draw(st.dictionaries(keys, any_value, max_size=len(names) + 1))


@fuzz(1500)
@given(case=entry_and_inputs())
def test_typed_inputs_of_every_entry_give_text_or_a_validation_error(
    case: tuple[Any, dict[str, Any]], figures: Figures
) -> None:
    entry, given_values = case
    try:
        public, hidden = resolve_inputs(entry, given_values)
    except ValidationError:
        pass
    else:
        assert set(public) | set(hidden) == {spec.name for spec in entry.env}
        for value in [*public.values(), *hidden.values()]:
            assert isinstance(value, str) and "\x00" not in value
        numbers = [spec.name for spec in entry.env if spec.type == "number"]
        for name in numbers:
            text = {**public, **hidden}[name]
            assert text == "" or math.isfinite(float(text))
    figures.add("fuzz: typed deploy inputs (every catalog entry with inputs)", 1)


# ------------------------------------------------------------------ against the simulator


@pytest.fixture(scope="module")
def lab(module_sim: Any, tmp_path_factory: Any) -> Iterator[tuple[Any, Any, Any]]:
    """A client with the simulated cluster added and one deployed app, for the whole module."""
    home = tmp_path_factory.mktemp("fuzz-sdk")
    with Proximity(home / "state", **FAST) as px:
        add_lab(px, module_sim)
        px.update_settings(health_timeout_s=20, task_timeout_s=30)
        app = px.apps.deploy("gotify", name="base")
        yield module_sim, px, app


def _baseline(px: Any, sim: Any) -> tuple[set[int], dict[str, Any]]:
    with sim.cluster.lock:
        before = set(sim.cluster.containers)
    return before, leftovers(px, sim, before)


HOSTILE_DEPLOY_VALUES: dict[str, st.SearchStrategy[Any]] = {
    "catalog_id": st.one_of(st.sampled_from(["nope", "GOTIFY", "../gotify"]), hostile_text),
    "name": hostile_text,
    "node": st.one_of(st.sampled_from(["pve9", "pve1/../..", "PVE1", "pve1\n", "pve1?x=1"]), hostile_text),
    "cores": st.one_of(st.integers(-5, 0), st.sampled_from([8193, 10**6, 2**63])),
    "memory": st.one_of(st.integers(-5, 63), st.sampled_from([10**7, 2**40])),
    "disk": st.one_of(st.integers(-5, 0), st.sampled_from([10**5, 10**7, 2**40])),
    "env": st.dictionaries(
        st.sampled_from(["TZ", "ADMIN_USER", "ADMIN_PASSWORD", "NOPE", "", "tz"]),
        any_value,
        min_size=1,
        max_size=3,
    ),
    "method": st.sampled_from(["script", "docker", "", "OCI"]),
}


@st.composite
def deploy_parameters(draw: st.DrawFn) -> dict[str, Any]:
    """A valid deploy with one or two parameters made hostile, so each refusal comes from as deep as that
    value gets (the edge, the placement, PVE's create, the install)."""
    valid: dict[str, Any] = {
        "catalog_id": "gotify",
        "name": draw(st.from_regex(r"fz-[a-z0-9]{6}", fullmatch=True)),
        "node": draw(st.sampled_from([None, "pve1", "pve2"])),
        "cores": None,
        "memory": None,
        "disk": None,
        "env": {},
        "method": draw(st.sampled_from([None, "compose", "oci"])),
    }
    hostile = draw(
        st.lists(st.sampled_from(sorted(HOSTILE_DEPLOY_VALUES)), min_size=1, max_size=2, unique=True)
    )
    return {**valid, **{key: draw(HOSTILE_DEPLOY_VALUES[key]) for key in hostile}}


@fuzz(40)
@given(parameters=deploy_parameters())
def test_deploy_with_hostile_parameters_refuses_cleanly_or_deploys(
    lab: tuple[Any, Any, Any], figures: Figures, parameters: dict[str, Any]
) -> None:
    sim, px, _ = lab
    before, baseline = _baseline(px, sim)
    try:
        app = px.apps.deploy(parameters.pop("catalog_id"), **parameters)
    except ProximityError as error:
        assert str(error)
        assert leftovers(px, sim, before) == baseline, f"partial state after {type(error).__name__}: {error}"
        figures.add(
            f"fuzz: deploys refused with a typed error and no partial state ({type(error).__name__})", 1
        )
    else:
        px.apps.delete(app.name, purge=True, confirm=True)
        assert leftovers(px, sim, before) == baseline
        figures.add("fuzz: deploys that went through (then deleted)", 1)
    figures.add("fuzz: deploy parameter sets tried", 1)


HOSTILE_HOST_VALUES: dict[str, st.SearchStrategy[Any]] = {
    "name": st.one_of(st.sampled_from(["Lab", "a" * 80, "x y", "../x", "lab\n", "-lab"]), hostile_text),
    "url": st.one_of(
        st.sampled_from(
            [
                "http://127.0.0.1:{port}",
                "ftp://127.0.0.1:{port}",
                "https://127.0.0.1:1",
                "https://127.0.0.1:70000",
                "https://[::1]:{port}",
                "https://:{port}",
                "https://127.0.0.1:{port}/#x",
                "https://root:s3cr3t@127.0.0.1:{port}",
                "javascript:alert(1)",
                "https://127.0.0.1:{port}\n",
                "",
                "https://127.0.0.1:-1",
            ]
        ),
        hostile_text.map(lambda text: "https://127.0.0.1:{port}/" + text),
    ),
    "token_id": st.one_of(
        st.sampled_from(["root@pam", "!x", "a@b!c d", "root@pam!nope", "Root@pam!proximity"]), hostile_text
    ),
    "token_secret": st.one_of(st.sampled_from(["wrong", "", " "]), hostile_text),
    "fingerprint": st.one_of(
        st.sampled_from(["AB:CD", "zz" * 32, "ab" * 32, "sha256=" + "cd" * 32]), hostile_text
    ),
    "ssh_port": st.sampled_from([0, -1, 65536, 1, 2**31]),
    "ssh_password": st.one_of(st.sampled_from(["wrong", ""]), hostile_text),
}


@st.composite
def host_parameters(draw: st.DrawFn) -> dict[str, Any]:
    """The simulator's real connection details with one or two of them made hostile."""
    hostile = draw(
        st.lists(st.sampled_from(sorted(HOSTILE_HOST_VALUES)), min_size=1, max_size=2, unique=True)
    )
    return {key: draw(HOSTILE_HOST_VALUES[key]) for key in hostile}


@fuzz(40)
@given(parameters=host_parameters())
def test_hosts_add_with_hostile_values_refuses_cleanly(
    lab: tuple[Any, Any, Any], figures: Figures, parameters: dict[str, Any]
) -> None:
    sim, px, _ = lab
    values = {
        "name": "lab2",
        "url": sim.url,
        "token_id": sim.token_id,
        "token_secret": sim.token_secret,
        "fingerprint": sim.fingerprint,
        "ssh_port": sim.ssh_port,
        "ssh_password": sim.root_password,
        **parameters,
    }
    values["url"] = values["url"].replace("{port}", str(sim.port))
    hosts_before = {h.name for h in px.hosts.list()}
    secrets_before = json.loads(px.store.secrets.path.read_text())["hosts"]
    try:
        added = px.hosts.add(values.pop("name"), values.pop("url"), **values)
    except ProximityError as error:
        assert str(error)
        shown = str(error)
        assert sim.token_secret not in shown and sim.root_password not in shown and "s3cr3t" not in shown
        assert {h.name for h in px.hosts.list()} == hosts_before
        assert json.loads(px.store.secrets.path.read_text())["hosts"] == secrets_before
        figures.add(
            f"fuzz: hosts.add refused with a typed error and nothing left ({type(error).__name__})", 1
        )
    else:
        px.hosts.remove(added.name, confirm=True)
        figures.add("fuzz: hosts.add that went through (then removed)", 1)
    figures.add("fuzz: hosts.add value sets tried", 1)


@fuzz(25)
@given(
    cores=st.one_of(st.none(), st.integers(-3, 200)),
    memory_mb=st.one_of(st.none(), st.integers(-100, 2**20), st.sampled_from([63, 64, 10**9])),
    disk_gb=st.one_of(st.none(), st.integers(-1, 20), st.sampled_from([10**5, 10**7])),
)
def test_resize_with_any_values_keeps_record_and_pve_in_agreement(
    lab: tuple[Any, Any, Any], figures: Figures, cores: int | None, memory_mb: int | None, disk_gb: int | None
) -> None:
    sim, px, app = lab
    try:
        px.apps.resize(app.name, cores=cores, memory_mb=memory_mb, disk_gb=disk_gb)
    except ProximityError as error:
        assert str(error)
        figures.add("fuzz: resizes refused with a typed error", 1)
    record = px.apps.get(app.name, live=False)
    with sim.cluster.lock:
        config = dict(sim.cluster.containers[app.vmid].config)
    assert (int(config["cores"]), int(config["memory"])) == (record.cores, record.memory_mb)
    assert f"size={record.disk_gb}G" in str(config["rootfs"])
    assert px.store.db.execute("SELECT COUNT(*) FROM jobs WHERE state = 'running'").fetchone()[0] == 0
    figures.add("fuzz: resize value sets tried", 1)


def _all_volids(sim: Any) -> set[str]:
    with sim.cluster.lock:
        return {volid for by_volid in sim.cluster.volumes.values() for volid in by_volid}


@fuzz(15)
@given(
    storage=st.one_of(st.none(), st.sampled_from(["local", "local-lvm", "nfs"]), hostile_text),
    protected=st.booleans(),
)
def test_backup_options_give_a_backup_or_a_typed_error_and_no_stray_archive(
    lab: tuple[Any, Any, Any], figures: Figures, storage: str | None, protected: bool
) -> None:
    sim, px, app = lab
    indexed_before = {b.volid for b in px.backups.list(app.name)}
    volumes_before = _all_volids(sim)
    try:
        backup = px.backups.create(app.name, storage=storage, protected=protected)
    except ProximityError as error:
        assert str(error)
        assert {b.volid for b in px.backups.list(app.name)} == indexed_before
        assert _all_volids(sim) == volumes_before
        figures.add("fuzz: backups refused with a typed error", 1)
    else:
        assert backup.protected == protected
        px.backups.delete(backup.volid, confirm=True, force=True)
    figures.add("fuzz: backup option sets tried", 1)


CLI_VERBS = [
    ["apps", "deploy"],
    ["apps", "show"],
    ["apps", "logs"],
    ["apps", "resize"],
    ["apps", "stop"],
    ["apps", "clone"],
    ["apps", "migrate"],
    ["backups", "create"],
    ["backups", "list"],
    ["backups", "restore"],
    ["jobs", "show"],
    ["hosts", "show"],
    ["hosts", "add"],
]
cli_tokens = st.one_of(
    hostile_text,
    st.sampled_from(
        [
            "gotify",
            "base",
            "--name",
            "--cores",
            "--memory",
            "--disk",
            "--env",
            "A=b",
            "TZ=$(id)",
            "--node",
            "--method",
            "oci",
            "--as",
            "--json",
            "--url",
            "https://127.0.0.1:1",
            "--token-id",
            "--insecure",
            "--lines",
            "-1",
            "99999999999999999999",
            "--",
            "-x",
            "--env-file",
            "/nonexistent",
            "--ssh-port",
            "--token-secret-file",
            "--password-file",
            "--ssh-key-file",
        ]
    ),
)


@fuzz(80)
@given(verb=st.sampled_from(CLI_VERBS), arguments=st.lists(cli_tokens, max_size=6))
def test_cli_arguments_end_in_a_message_not_a_traceback(
    lab: tuple[Any, Any, Any], figures: Figures, verb: list[str], arguments: list[str]
) -> None:
    sim, px, _ = lab
    _, baseline = _baseline(px, sim)
    args = [*verb, *arguments, "--db", str(px.home)]
    result = CliRunner().invoke(cli, args, input="")
    output = result.output + (result.stderr if result.stderr_bytes is not None else "")
    assert "Traceback" not in output, output
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert result.exit_code in (0, 1, 2), (args, result.exit_code, output)
    if result.exit_code != 0:
        assert output.strip(), "a failure must say why"
    apps_now = {a.name for a in px.apps.list(live=False)}
    for name in apps_now - set(baseline["apps"]):
        px.apps.delete(name, purge=True, confirm=True)  # a fuzzed deploy that was valid
    figures.add("fuzz: CLI invocations", 1)


DEEP_REFUSALS = [
    {"node": "pve9"},  # no such node: PVE refuses the template lookup
    {"cores": 8193},  # over PVE's maximum: refused by PVE's parameter check at create
    {"memory": 10**7},  # no node has that much memory free: refused at placement
    {"env": {"TZ": "a\x00b"}},  # NUL cannot travel in an env file
]


@pytest.mark.parametrize("hostile", DEEP_REFUSALS, ids=[str(sorted(h)) for h in DEEP_REFUSALS])
def test_values_refused_deep_inside_roll_back_completely(
    lab: tuple[Any, Any, Any], figures: Figures, hostile: dict[str, Any]
) -> None:
    sim, px, _ = lab
    before, baseline = _baseline(px, sim)
    try:
        with pytest.raises(ProximityError) as refused:
            px.apps.deploy("gotify", name="deep-refusal", **hostile)
    finally:
        if px.store.find_app("deep-refusal") is not None:
            px.apps.delete("deep-refusal", purge=True, confirm=True)
    assert str(refused.value)
    assert leftovers(px, sim, before) == baseline
    figures.add("fuzz: deploys refused deep inside, rolled back completely", 1)


RESTORE_NAMES = ["Web", "web-", "x y", "web\n", "a" * 64, "$(id)", "../x", "wéb"]


def test_restore_as_a_new_app_refuses_names_pve_would_refuse(
    lab: tuple[Any, Any, Any], figures: Figures
) -> None:
    """``backups.restore(as_name=...)`` names a new app (and its container's hostname), like deploy and
    clone: the same check, before anything runs ("Web" used to be restored and recorded)."""
    sim, px, app = lab
    backup = px.backups.create(app.name)
    try:
        for name in RESTORE_NAMES:
            before, baseline = _baseline(px, sim)
            with pytest.raises(ValidationError, match="app name"):
                px.backups.restore(backup.volid, as_name=name)
            assert leftovers(px, sim, before) == baseline
            figures.add("fuzz: restore-as names PVE would refuse, refused with nothing left", 1)
    finally:
        px.backups.delete(backup.volid, confirm=True, force=True)
