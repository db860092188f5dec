"""The doc-examples harness itself: fences are read with their line numbers, each kind is treated as the
convention says, and a failure names the page, the block and the failing line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from tests.docs.doc_blocks import blocks, cli_commands
from tests.docs.doc_runner import DocExampleFailed, run_page

PAGE = """\
# A page

```python
x = 1
```

Some text.

- a list item:

   ```python
   y = x + 1
   ```

```python no-run
px.hosts.add("lab", "https://pve.example.lan:8006")
```

```console
$ proximity does-not-exist
```

````markdown
```python
not python at all
```
````
"""


def write(tmp_path: Path, text: str) -> Path:
    page = tmp_path / "page.md"
    page.write_text(text, encoding="utf-8")
    return page


def test_blocks_kinds_and_lines() -> None:
    found = blocks(PAGE)
    assert [(b.info, b.line, b.kind) for b in found] == [
        ("python", 4, "run"),
        ("python", 12, "run"),
        ("python no-run", 16, "compile"),
        ("console", 20, "show"),
        ("markdown", 24, "show"),
    ]
    assert found[1].code == "y = x + 1\n"  # the list item's indentation removed
    assert "not python at all" in found[4].code  # a longer fence holds a shorter one


def test_a_page_runs_in_one_namespace(tmp_path: Path) -> None:
    run_page(write(tmp_path, PAGE + "\n```python\nassert y == 2\n```\n"), tmp_path)


def test_a_failure_names_page_block_and_line(tmp_path: Path) -> None:
    page = write(tmp_path, "# T\n\n```python\na = 1\nb = {}\nprint(b['missing'])\n```\n")
    with pytest.raises(DocExampleFailed) as failure:
        run_page(page, tmp_path)
    message = str(failure.value)
    assert "page.md: block at line 4 (python) failed at line 6: print(b['missing'])" in message
    assert "KeyError: 'missing'" in message


def test_no_run_blocks_must_still_compile(tmp_path: Path) -> None:
    page = write(tmp_path, "```python no-run\ndef broken(:\n```\n")
    with pytest.raises(
        DocExampleFailed, match=r"page\.md: block at line 2 \(python no-run\) failed at line 2"
    ):
        run_page(page, tmp_path)


def test_top_level_await_runs_in_its_own_loop(tmp_path: Path) -> None:
    page = write(
        tmp_path,
        "```python\nimport anyio\nawait anyio.sleep(0)\ndone = True\n```\n```python\nassert done\n```\n",
    )
    run_page(page, tmp_path)


def test_console_test_lines_run_through_the_cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PROXIMITY_HOME", str(tmp_path / "state"))
    good = "```console test\n$ proximity catalog search notifications   # a comment\ngotify  ...\n```\n"
    assert cli_commands(blocks(good)[0]) == [(2, "catalog search notifications   # a comment")]
    run_page(write(tmp_path, good), tmp_path)
    bad = "```console test\n$ proximity catalog show no-such-app\n```\n"
    with pytest.raises(
        DocExampleFailed, match=r"page\.md:2: `\$ proximity catalog show no-such-app` exited 1"
    ):
        run_page(write(tmp_path, bad), tmp_path)
    piped = "```console test\n$ proximity catalog list | head\n```\n"
    with pytest.raises(DocExampleFailed, match="uses shell syntax"):
        run_page(write(tmp_path, piped), tmp_path)


def test_yaml_catalog_blocks_are_validated(tmp_path: Path) -> None:
    shipped = json.loads(
        (Path(__file__).resolve().parents[2] / "catalog" / "apps" / "gotify.json").read_text()
    )
    entry = yaml.safe_dump(shipped, sort_keys=False)  # docs write entries in YAML
    run_page(write(tmp_path, f"```yaml catalog\n{entry}```\n"), tmp_path)
    broken = entry.replace("id: gotify", "id: Not A Valid Id", 1)
    with pytest.raises(DocExampleFailed, match="catalog entry at line 2 does not pass the lint"):
        run_page(write(tmp_path, f"```yaml catalog\n{broken}```\n"), tmp_path)


def test_leftover_simulators_and_clients_are_closed(tmp_path: Path) -> None:
    page = write(
        tmp_path,
        "```python\nfrom proximity import Proximity\nfrom proximity.sim import Simulator\n"
        f"sim = Simulator(nodes=1, time_scale=0.01, ssh=False).start()\npx = Proximity({str(tmp_path / 's')!r})\n"
        "import builtins\nbuiltins._doc_harness_left = (sim, px)\n```\n",
    )
    import builtins

    try:
        run_page(page, tmp_path)
        sim, px = builtins._doc_harness_left  # type: ignore[attr-defined]
        assert sim._server is None  # stopped
        assert not px._finalizer.alive  # closed
    finally:
        vars(builtins).pop("_doc_harness_left", None)


@pytest.mark.timeout(2)
def test_a_page_over_its_time_names_the_block(tmp_path: Path) -> None:
    page = write(tmp_path, "# T\n\n```python\nimport time\ntime.sleep(30)\n```\n")
    with pytest.raises(
        DocExampleFailed, match=r"(?s)block at line 4 \(python\) failed at line 5: time\.sleep.*Timeout"
    ):
        run_page(page, tmp_path)
