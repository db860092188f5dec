"""Shell safety: hostile app inputs and catalog fields never change the commands run over SSH.

Apps are deployed through the SDK with values holding quotes, ``;``, ``$()``, backticks, newlines, ``&&``,
globs and unicode (``INJECTIONS``), as env values and as catalog defaults (a catalog ``service`` name that
is no unit name is refused when the catalog loads).
Then, for every command line the simulator's SSH side received (exactly as sent, before any splitting):

- it is in canonical ``shlex`` quoting (every word that is not plainly safe is single-quoted);
- replayed through a real ``bash`` with ``pct`` defined as a function that prints its arguments, it gives
  exactly the argv the simulator ran, and creates no canary file;

inside the containers only the expected programs ran, a hostile value is one whole argument where it is an
argument at all, the files written hold the values literally (the native script's env file sourced by a
real ``bash``, the Compose ``.env`` read by compose-go's rules), and no canary file exists anywhere (on
this machine or in any simulated container).
"""

from __future__ import annotations

import json
import secrets
import shlex
import subprocess
from pathlib import Path
from typing import Any

import anyio
import pytest
import yaml
from pydantic import SecretStr

from proximity import Proximity
from proximity.catalog.loader import load_catalog
from proximity.errors import ValidationError
from proximity.pve.guest import Guest
from proximity.pve.ssh import NodeShell, SshTarget
from tests.sdk.conftest import FAST, add_lab
from tests.sdk.test_sdk_units import _read_compose_dotenv
from tests.security.helpers import (
    INJECTIONS,
    NOTHING_LEFT,
    Figures,
    catalog_with,
    gotify_entry,
    leftovers,
)

pytestmark = pytest.mark.timeout(180)

PROGRAMS_RUN_IN_CTS = {"mkdir", "tee", "chmod", "apt-get", "env", "docker", "bash", "apk", "journalctl"}


@pytest.fixture
def canary() -> str:
    """A path no test creates on purpose; any hostile payload that ran would create it."""
    return f"/tmp/pwned-{secrets.token_hex(6)}"


def _payloads(canary: str) -> list[str]:
    return [template.format(canary=canary) for template in INJECTIONS]


def _inputs(values: list[str], prefix: str) -> dict[str, str]:
    return {f"{prefix}_{index:02d}": value for index, value in enumerate(values)}


def _compose_entry(names: list[str], hostile_default: str) -> dict[str, Any]:
    entry = gotify_entry()
    entry["id"] = "hostile-compose"
    entry["install"] = [m for m in entry["install"] if m["type"] == "compose"]
    service = entry["install"][0]["service"]
    environment = entry["install"][0]["compose"]["services"][service]["environment"]
    for name in [*names, "FROM_CATALOG"]:
        environment[f"SEEN_{name}"] = "${" + name + "}"
    entry["env"] += [{"name": name, "label": name, "type": "text"} for name in names]
    entry["env"].append(
        {"name": "FROM_CATALOG", "label": "hostile default", "type": "text", "default": hostile_default}
    )
    return entry


def _script_entry(names: list[str], service: str) -> dict[str, Any]:
    entry = gotify_entry()
    entry["id"] = "hostile-script"
    script = "#!/bin/bash\nset -e\napt-get install -y gotify\nsystemctl enable --now gotify\n"
    entry["install"] = [
        {"type": "script", "os": "debian", "os_version": "12", "service": service, "script": script}
    ]
    entry["update"] = {"method": "none"}
    entry["env"] += [{"name": name, "label": name, "type": "text"} for name in names]
    return entry


def _replay_in_bash(line: str, workdir: Path) -> list[str]:
    """The words a real node's shell makes of ``line``, with ``pct`` a function printing its arguments."""
    script = 'pct() { printf "%s\\0" pct "$@"; }\n' + line + "\n"
    done = subprocess.run(
        ["bash", "--norc", "--noprofile", "-c", script],
        cwd=workdir,
        env={"PATH": "/usr/bin:/bin", "HOME": str(workdir)},
        capture_output=True,
        timeout=10,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.decode().split("\0")[:-1]


def _source_in_bash(content: str, names: list[str], workdir: Path) -> dict[str, str]:
    """What ``. /etc/proximity/app.env`` gives a real bash: each name's value."""
    env_file = workdir / "app.env"
    env_file.write_text(content)
    show = " ".join(f'"${{{name}}}"' for name in names)
    done = subprocess.run(
        ["bash", "--norc", "--noprofile", "-c", f". ./app.env && printf '%s\\0' {show}"],
        cwd=workdir,
        env={"PATH": "/usr/bin:/bin", "HOME": str(workdir)},
        capture_output=True,
        timeout=10,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return dict(zip(names, done.stdout.decode().split("\0")[:-1], strict=True))


def _check_command_lines(sim: Any, workdir: Path, canary: str) -> int:
    lines = [line for _, line in sim.ssh_command_log()]
    assert lines, "the simulator recorded no SSH command"
    for line in lines:
        words = shlex.split(line)
        assert shlex.join(words) == line, f"not in canonical quoting: {line!r}"
        assert words[0] in ("pct", "true"), line
        if words[0] == "pct":
            assert _replay_in_bash(line, workdir) == words
    assert not Path(canary).exists(), "a payload ran on this machine"
    return len(lines)


def _check_no_canary_in_cts(sim: Any, canary: str) -> None:
    token = canary.rsplit("-", 1)[1]
    with sim.cluster.lock:
        for vmid, ct in sim.cluster.containers.items():
            if ct.inside is None:
                continue
            paths = [*ct.inside.fs.files, *ct.inside.fs.dirs]
            assert not [p for p in paths if token in p], f"CT {vmid} has a canary path"


def _programs_run(sim: Any, vmid: int) -> list[list[str]]:
    return [list(argv) for argv in sim.cluster.containers[vmid].inside.exec_log]


def test_hostile_env_values_reach_compose_literally_and_change_no_command(
    module_sim: Any, tmp_path: Path, canary: str, figures: Figures
) -> None:
    sim = module_sim
    values = _inputs(_payloads(canary), "INJ")
    hostile_default = f"default $(touch {canary}); `touch {canary}`"
    entry = _compose_entry(sorted(values), hostile_default)
    with Proximity(tmp_path / "state", catalog=catalog_with(tmp_path, entry), **FAST) as px:
        add_lab(px, sim)
        app = px.apps.deploy("hostile-compose", name="hostile", env=values)
        inside = sim.cluster.containers[app.vmid].inside
        dotenv = _read_compose_dotenv(inside.fs.read("/opt/proximity/hostile-compose/.env").decode())
        expected = {**values, "FROM_CATALOG": hostile_default}
        assert {k: v for k, v in dotenv.items() if k in expected} == expected
        compose_file = inside.fs.read("/opt/proximity/hostile-compose/compose.yaml").decode()
        assert yaml.safe_load(compose_file) == entry["install"][0]["compose"]
        main = next(c for c in inside.docker.containers.values() if c.service == "gotify")
        seen = {k.removeprefix("SEEN_"): v for k, v in main.environment.items() if k.startswith("SEEN_")}
        assert seen == expected
        for argv in _programs_run(sim, app.vmid):
            assert argv[0] in PROGRAMS_RUN_IN_CTS, argv
            assert not any(value in " ".join(argv) for value in expected.values()), argv
        lines = _check_command_lines(sim, tmp_path, canary)
    _check_no_canary_in_cts(sim, canary)
    figures.add("injection: strings x fields tried (compose env value)", len(values))
    figures.add("injection: strings x fields tried (catalog default)", 1)
    figures.add("injection: SSH command lines replayed through bash", lines)


def test_a_catalog_service_name_that_is_no_unit_name_is_refused_on_load(
    tmp_path: Path, canary: str, figures: Figures
) -> None:
    """``service`` reaches ``systemctl``/``journalctl`` as an argument: the catalog refuses anything that
    is not a unit name, so such an entry never loads (and the rest of the catalog does)."""
    for template in INJECTIONS:
        folder = tmp_path / secrets.token_hex(4)
        folder.mkdir()
        entry = _script_entry([], template.format(canary=canary))
        (folder / "hostile-script.json").write_text(json.dumps(entry))
        catalog = load_catalog([folder], builtin=False)
        assert "hostile-script" not in catalog
        assert [error.location for error in catalog.errors] == ["install.0.script.service"]
        assert "should match pattern" in catalog.errors[0].message
        figures.add("injection: strings x fields tried (catalog service name)", 1)
    assert not Path(canary).exists()


def test_hostile_env_values_in_a_native_script_install(
    module_sim: Any, tmp_path: Path, canary: str, figures: Figures
) -> None:
    sim = module_sim
    values = _inputs(_payloads(canary), "INJ")
    service = "gotify@hostile.service"
    entry = _script_entry(sorted(values), service)
    with Proximity(tmp_path / "state", catalog=catalog_with(tmp_path, entry), **FAST) as px:
        add_lab(px, sim)
        app = px.apps.deploy("hostile-script", name="hostile-native", env=values)
        inside = sim.cluster.containers[app.vmid].inside
        content = inside.fs.read("/etc/proximity/app.env").decode()
        names = [*sorted(values), "PROXIMITY_SERVICE"]
        assert _source_in_bash(content, names, tmp_path) == {**values, "PROXIMITY_SERVICE": service}
        px.apps.logs("hostile-native")  # journalctl -u <service>: the service name as one argument
        runs = _programs_run(sim, app.vmid)
        assert ["journalctl", "-u", service, "-n", "100", "--no-pager"] in runs
        for argv in runs:
            assert argv[0] in PROGRAMS_RUN_IN_CTS, argv
            assert not any(value in " ".join(argv) for value in values.values()), argv
        lines = _check_command_lines(sim, tmp_path, canary)
    _check_no_canary_in_cts(sim, canary)
    figures.add("injection: strings x fields tried (script env value)", len(values))
    figures.add("injection: SSH command lines replayed through bash", lines)


HOSTILE_NAMES = [
    *(template.format(canary="/tmp/x") for template in INJECTIONS),
    "web\n",
    "web-",
    "-web",
    "Web",
    "a" * 64,
    "web.lan",
    "web_1",
    " ",
    "wéb",
]


@pytest.mark.parametrize("name", HOSTILE_NAMES, ids=range(len(HOSTILE_NAMES)))
def test_names_pve_would_refuse_are_refused_at_the_edge(
    module_sim: Any, tmp_path: Path, name: str, figures: Figures
) -> None:
    before = set(module_sim.cluster.containers)
    with Proximity(tmp_path / "state", **FAST) as px:
        add_lab(px, module_sim)
        commands_before = len(module_sim.ssh_command_log())
        with pytest.raises(ValidationError, match="app name"):
            px.apps.deploy("gotify", name=name)
        assert leftovers(px, module_sim, before) == NOTHING_LEFT
    assert len(module_sim.ssh_command_log()) == commands_before  # not one command ran for it
    figures.add("injection: hostile app names refused at the edge", 1)


def test_hostile_arguments_arrive_as_the_same_argv(
    module_sim: Any, tmp_path: Path, canary: str, figures: Figures
) -> None:
    """Below the installers: ``Guest.exec`` (the SDK's ``pct exec`` over SSH) with every payload as an
    argument. The simulator runs exactly that argv, and a real bash makes the same words of the line."""
    sim = module_sim
    with Proximity(tmp_path / "state", **FAST) as px:
        add_lab(px, sim)
        app = px.apps.deploy("gotify", name="argv-target")
        node_ip = sim.cluster.nodes[app.node].ip
    payloads = _payloads(canary)
    commands_before = len(sim.ssh_command_log())

    async def run_all() -> list[str]:
        shell = NodeShell(SshTarget(node_ip, sim.ssh_port, password=SecretStr(sim.root_password)))
        guest = Guest(shell, app.vmid)
        try:
            return [(await guest.exec(["echo", "-n", payload])).stdout for payload in payloads]
        finally:
            await shell.close()

    echoed = anyio.run(run_all)
    assert echoed == payloads
    ran = _programs_run(sim, app.vmid)[-len(payloads) :]
    assert ran == [["echo", "-n", payload] for payload in payloads]
    new_lines = [line for _, line in sim.ssh_command_log()[commands_before:]]
    assert len(new_lines) == len(payloads)
    for line, payload in zip(new_lines, payloads, strict=True):
        assert _replay_in_bash(line, tmp_path) == ["pct", "exec", str(app.vmid), "--", "echo", "-n", payload]
    assert not Path(canary).exists()
    _check_no_canary_in_cts(sim, canary)
    figures.add("injection: strings x fields tried (pct exec argument)", len(payloads))
