"""Recorded SDK<->simulator sessions replayed without any server: the exact sequence and number of API calls
per operation is pinned. An extra call fails (the cassette has no answer for it); a missing one fails
(``all_played``). Re-record with ``python -m tests.sdk.cassettes.record`` when a change is intended."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import vcr
from pydantic import SecretStr

from proximity import Proximity
from proximity.models import App, AppStatus, Host
from tests.sdk.conftest import FAST

HERE = Path(__file__).resolve().parent / "cassettes"
META = json.loads((HERE / "meta.json").read_text())


@pytest.fixture
def replay_px(tmp_path: Path) -> Any:
    px = Proximity(tmp_path / "state", **FAST)
    px.store.add_host(
        Host(name="lab", url=META["url"], auth="token", principal=META["token_id"], verify_tls=False)
    )
    px.store.secrets.put_host("lab", {"token_secret": SecretStr("replayed-no-secret-needed")})
    px.store.insert_app(App.model_validate(META["app"]))
    yield px
    px.close()


def _replay(name: str) -> Any:
    player = vcr.VCR(cassette_library_dir=str(HERE), record_mode="none", match_on=["method", "path", "query"])
    return player.use_cassette(f"{name}.yaml", allow_playback_repeats=False)


def _calls(cassette: Any) -> list[str]:
    return [f"{r.method} {r.path}" for r in cassette.requests]


def test_listing_is_one_call_per_host(replay_px: Any) -> None:
    with _replay("list") as cassette:
        apps = replay_px.apps.list()
    assert cassette.all_played and cassette.play_count == 1
    assert _calls(cassette) == ["GET /api2/json/cluster/resources"]
    assert [a.name for a in apps] == ["movies"] and apps[0].status == AppStatus.RUNNING


@pytest.mark.parametrize(
    ("name", "expected_status"), [("stop", AppStatus.STOPPED), ("start", AppStatus.RUNNING)]
)
def test_power_verbs_make_exactly_the_recorded_calls(
    replay_px: Any, name: str, expected_status: AppStatus
) -> None:
    with _replay(name) as cassette:
        app = getattr(replay_px.apps, name)("movies")
    assert cassette.all_played and cassette.play_count == len(cassette)
    calls = _calls(cassette)
    assert calls[0].startswith("POST ") and calls[0].endswith(f"/status/{name}")
    polls = [c for c in calls if c.endswith("/status") and "/tasks/" in c]
    assert len(calls) == 1 + len(polls) + (2 if name == "start" else 1)  # + state (+ address when running)
    assert app.status == expected_status
    assert replay_px.api_calls() == len(cassette)


def test_backup_reads_the_file_name_from_the_task_log(replay_px: Any) -> None:
    with _replay("backup") as cassette:
        backup = replay_px.backups.create("movies")
    assert cassette.all_played and cassette.play_count == len(cassette)
    assert backup.volid == META["backup"]
    calls = _calls(cassette)
    assert calls[0].endswith("/storage") and calls[1].endswith("/vzdump")
    assert sum(c.endswith("/log") for c in calls) == 1


class _Healthy(BaseHTTPRequestHandler):
    """Stands in for the app inside the recorded container: its health path answers 200."""

    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, format: str, *args: Any) -> None:
        pass


def test_deploy_from_a_cold_client_makes_exactly_the_recorded_calls(tmp_path: Path) -> None:
    deployed = META["deployed"]
    port = int(deployed["url"].rsplit(":", 1)[1].strip("/"))
    try:
        app_server = ThreadingHTTPServer((deployed["ip"], port), _Healthy)
    except OSError as error:
        pytest.skip(f"cannot stand in for the app at {deployed['ip']}:{port}: {error}")
    threading.Thread(target=app_server.serve_forever, daemon=True).start()
    try:
        with Proximity(tmp_path / "state", **FAST) as px:
            px.store.add_host(
                Host(name="lab", url=META["url"], auth="token", principal=META["token_id"], verify_tls=False)
            )
            px.store.secrets.put_host("lab", {"token_secret": SecretStr("replayed-no-secret-needed")})
            with _replay("deploy") as cassette:
                app = px.apps.deploy(deployed["catalog_id"], name=deployed["name"], method="oci")
            assert cassette.all_played and cassette.play_count == len(cassette)
            assert px.api_calls() == len(cassette)
            assert (app.vmid, app.ip, app.url) == (deployed["vmid"], deployed["ip"], deployed["url"])
            calls = _calls(cassette)
            assert calls[:3] == [
                "GET /api2/json/version",
                "GET /api2/json/cluster/resources",
                "GET /api2/json/cluster/status",
            ]
            assert sum(c.startswith("POST") for c in calls) == 2  # create, start: nothing else writes
    finally:
        app_server.shutdown()
        app_server.server_close()
