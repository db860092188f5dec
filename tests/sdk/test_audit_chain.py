"""The audit log's hash chain: an entry edited, removed or inserted around the store (triggers dropped, the
file's bytes changed) is found at the right entry; what a chain cannot see alone (a cut tail, a chain
recomputed end to end) an anchor kept elsewhere catches; the migration chains old entries; two processes
appending at once never fork the chain; ``proximity audit verify|list``."""

from __future__ import annotations

import itertools
import json
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from proximity.cli import main
from proximity.errors import ValidationError
from proximity.settings import DB_FILE
from proximity.store import Store
from proximity.store.audit_chain import GENESIS, HASHED_FIELDS, ChainAnchor, entry_hash
from proximity.store.migrations import MIGRATIONS

ENTRIES = 12


def _fill(home: Path, count: int = ENTRIES) -> Store:
    store = Store(home)
    for index in range(1, count + 1):
        store.audit(
            who="ann",
            front_end="cli",
            action="apps.stop",
            target=f"app-{index:04d}",
            outcome=f"ok-{index:04d}",
        )
    return store


def _raw(home: Path) -> sqlite3.Connection:
    """A connection that goes around the store, as someone editing the file by hand would."""
    return sqlite3.connect(home / DB_FILE, isolation_level=None)


def test_a_fresh_log_verifies_and_every_entry_links_to_the_one_before(tmp_path: Path) -> None:
    store = _fill(tmp_path)
    report = store.verify_audit()
    assert report.intact and report.entries == ENTRIES and report.describe() == "12 entries, chain intact"
    entries = list(reversed(store.audit_entries(ENTRIES)))
    assert entries[0].prev_hash == GENESIS
    assert all(later.prev_hash == earlier.hash for earlier, later in itertools.pairwise(entries))
    assert report.head_hash == entries[-1].hash
    assert Store(tmp_path / "empty").verify_audit().describe() == "0 entries, chain intact"


def test_an_entry_edited_with_the_trigger_dropped_is_found(tmp_path: Path) -> None:
    _fill(tmp_path).close()
    with _raw(tmp_path) as conn:
        conn.execute("DROP TRIGGER audit_no_update")
        conn.execute("UPDATE audit SET outcome = 'denied' WHERE id = 7")
    report = Store(tmp_path).verify_audit()
    assert not report.intact and report.broken_id == 7 and "edited" in report.reason
    assert report.entries == 6


def test_an_entry_removed_from_the_middle_is_found_at_the_next_one(tmp_path: Path) -> None:
    _fill(tmp_path).close()
    with _raw(tmp_path) as conn:
        conn.execute("DROP TRIGGER audit_no_delete")
        conn.execute("DELETE FROM audit WHERE id = 5")
    report = Store(tmp_path).verify_audit()
    assert not report.intact and report.broken_id == 6 and "does not link" in report.reason


def test_an_entry_inserted_around_the_store_is_found(tmp_path: Path) -> None:
    _fill(tmp_path, 3).close()
    with _raw(tmp_path) as conn:
        with pytest.raises(sqlite3.DatabaseError, match="extend the hash chain"):  # the trigger refuses it
            conn.execute(
                "INSERT INTO audit (time, who, front_end, action, target, outcome) "
                "VALUES ('2030-01-01', 'eve', 'cli', 'apps.delete', 'x', 'ok')"
            )
        conn.execute("DROP TRIGGER audit_extends_chain")
        conn.execute(
            "INSERT INTO audit (time, who, front_end, action, target, outcome) "
            "VALUES ('2030-01-01', 'eve', 'cli', 'apps.delete', 'x', 'ok')"
        )
    report = Store(tmp_path).verify_audit()
    assert not report.intact and report.broken_id == 4 and "no chain link" in report.reason


def test_bytes_changed_in_the_database_file_are_found_at_that_entry(tmp_path: Path) -> None:
    _fill(tmp_path).close()  # closing checkpoints the WAL into the main file
    path = tmp_path / DB_FILE
    data = path.read_bytes()
    assert data.count(b"ok-0009") == 1
    path.write_bytes(data.replace(b"ok-0009", b"no-0009"))  # same length: SQLite still reads the page
    report = Store(tmp_path).verify_audit()
    assert not report.intact and report.broken_id == 9


def test_a_cut_tail_needs_an_anchor_kept_elsewhere(tmp_path: Path) -> None:
    store = _fill(tmp_path)
    anchor = store.verify_audit().anchor
    assert anchor is not None and anchor.count == ENTRIES
    store.close()
    with _raw(tmp_path) as conn:
        conn.execute("DROP TRIGGER audit_no_delete")
        conn.execute("DELETE FROM audit WHERE id > 10")
    store = Store(tmp_path)
    # the limit of a chain alone: what is left is still a valid chain
    assert store.verify_audit().intact
    cut = store.verify_audit(anchor)
    assert not cut.intact and "tail cut" in cut.reason and cut.entries == 10


def test_a_chain_recomputed_end_to_end_is_caught_by_the_anchor(tmp_path: Path) -> None:
    store = _fill(tmp_path)
    anchor = store.verify_audit().anchor
    assert anchor is not None
    store.close()
    with _raw(tmp_path) as conn:  # a forger who knows the format rewrites entry 3 and re-chains
        conn.execute("DROP TRIGGER audit_no_update")
        conn.execute("UPDATE audit SET who = 'bob' WHERE id = 3")
        prev = GENESIS
        for row in conn.execute(f"SELECT {', '.join(HASHED_FIELDS)} FROM audit ORDER BY id").fetchall():
            digest = entry_hash(row, prev)
            conn.execute("UPDATE audit SET prev_hash = ?, hash = ? WHERE id = ?", [prev, digest, row[0]])
            prev = digest
    store = Store(tmp_path)
    assert store.verify_audit().intact  # undetectable without something kept outside the file
    forged = store.verify_audit(ChainAnchor.parse(str(anchor)))
    assert not forged.intact and forged.broken_id == ENTRIES and "anchor" in forged.reason


def test_more_entries_after_the_anchor_still_verify(tmp_path: Path) -> None:
    store = _fill(tmp_path, 3)
    anchor = store.verify_audit().anchor
    store.audit(who="ann", front_end="cli", action="apps.start", target="x", outcome="ok")
    report = store.verify_audit(anchor)
    assert report.intact and report.entries == 4


def test_anchor_text_is_validated() -> None:
    for text in ("", "12", "0:" + "a" * 64, "3:" + "g" * 64, "3:" + "a" * 63):
        with pytest.raises(ValidationError):
            ChainAnchor.parse(text)
    assert str(ChainAnchor.parse(" 3:" + "A" * 64)) == "3:" + "a" * 64


def test_the_migration_chains_entries_written_before_it(tmp_path: Path) -> None:
    conn = _raw(tmp_path)
    conn.execute("CREATE TABLE schema_version (version INTEGER PRIMARY KEY, applied_at TEXT)")
    for version, migration in enumerate(MIGRATIONS[:2], start=1):  # a database from before the chain
        migration(conn)
        conn.execute("INSERT INTO schema_version VALUES (?, 'then')", [version])
    for index in range(5):
        conn.execute(
            "INSERT INTO audit (time, who, front_end, action, target, outcome) VALUES (?, ?, ?, ?, ?, ?)",
            [f"2025-01-0{index + 1}T00:00:00+00:00", "old", "cli", "apps.deploy", f"a{index}", "ok"],
        )
    conn.close()
    store = Store(tmp_path)
    report = store.verify_audit()
    assert report.intact and report.entries == 5
    store.audit(who="new", front_end="cli", action="apps.stop", target="a0", outcome="ok")
    assert store.verify_audit().entries == 6
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        store.db.execute("UPDATE audit SET outcome = 'forged' WHERE id = 1")  # the trigger is back


APPENDER = """
import sys
import time
from pathlib import Path
from proximity.store import Store
store = Store(Path(sys.argv[1]))
print("ready", flush=True)
sys.stdin.readline()
for index in range(int(sys.argv[3])):
    store.audit(who=sys.argv[2], front_end="cli", action="apps.stop", target=str(index), outcome="ok")
    time.sleep(0.002)  # real writers do other work between entries; it lets the other one in
store.close()
"""


@pytest.mark.timeout(120)
def test_two_processes_appending_at_once_do_not_fork_the_chain(tmp_path: Path) -> None:
    Store(tmp_path).close()  # migrated once, so both writers start on the same schema
    per_process = 150
    writers = [
        subprocess.Popen(
            [sys.executable, "-c", APPENDER, str(tmp_path), who, str(per_process)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        for who in ("p1", "p2")
    ]
    for writer in writers:  # both are imported and connected; then released together
        assert writer.stdout is not None and writer.stdout.readline().strip() == "ready"
    for writer in writers:
        assert writer.stdin is not None
        writer.stdin.write("go\n")
        writer.stdin.flush()
    for writer in writers:
        assert writer.wait(timeout=100) == 0
    store = Store(tmp_path)
    report = store.verify_audit()
    assert report.intact and report.entries == 2 * per_process
    whos = [e.who for e in reversed(store.audit_entries(2 * per_process))]
    switches = sum(1 for a, b in itertools.pairwise(whos) if a != b)
    assert switches > 1, "the writers never interleaved: the test did not exercise concurrency"


def test_cli_verify_and_list(tmp_path: Path) -> None:
    _fill(tmp_path, 4).close()
    runner = CliRunner()
    ok = runner.invoke(main, ["audit", "verify", "--db", str(tmp_path)])
    assert ok.exit_code == 0 and "4 entries, chain intact" in ok.output
    anchor = ok.output.split("anchor: ")[1].split()[0]
    again = runner.invoke(main, ["audit", "verify", "--db", str(tmp_path), "--anchor", anchor])
    assert again.exit_code == 0

    listed = runner.invoke(main, ["audit", "list", "--db", str(tmp_path), "--json", "--limit", "2"])
    rows = json.loads(listed.output)
    assert [row["id"] for row in rows] == [4, 3] and rows[0]["prev_hash"] == rows[1]["hash"]
    table = runner.invoke(main, ["audit", "list", "--db", str(tmp_path)])
    assert table.exit_code == 0 and "app-0004" in table.output

    with _raw(tmp_path) as conn:
        conn.execute("DROP TRIGGER audit_no_update")
        conn.execute("UPDATE audit SET target = 'app-9999' WHERE id = 2")
    broken = runner.invoke(main, ["audit", "verify", "--db", str(tmp_path)])
    assert broken.exit_code == 1 and "chain broken at entry 2" in broken.output
    bad_anchor = runner.invoke(main, ["audit", "verify", "--db", str(tmp_path), "--anchor", "nonsense"])
    assert bad_anchor.exit_code == 1 and "anchor reads" in bad_anchor.output
