"""The notebook widgets against a real simulated cluster (HTTPS + SSH, no mocks of Proximity's code):
the deploy form generated from typed inputs, the catalog browser, the progress bar bound to job events,
the rack and the fleet table with measured resources, the load chart and the page checks."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("ipywidgets")

from proximity.catalog.schema import EnvInput
from proximity.errors import ValidationError
from proximity.models import Node
from proximity.widgets import (
    AppUsage,
    CatalogBrowser,
    DeployForm,
    Fleet,
    FleetTable,
    HostView,
    JobProgress,
    LoadChart,
    LoadPoint,
    NodeView,
    RackView,
    answers,
    collect_fleet,
    fetch_page,
    input_widget,
    node_load,
    render_rack_html,
    sparkline,
    wait_for_page,
)


def served_by(url: str, ct_name: str) -> bool:
    """True when the simulated app in container ``ct_name`` answers 2xx at the URL. Checked by name because
    simulators in other processes on this machine may serve the same loopback address."""
    try:
        page = fetch_page(url, timeout_s=2.0)
    except OSError:
        return False
    return 200 <= page.status < 300 and f"Container: {ct_name} (" in page.body


@pytest.fixture(scope="module")
def cluster() -> Iterator[Any]:
    from proximity.sim import Simulator

    with Simulator(nodes=2, time_scale=0.01, seed=7) as sim:
        yield sim


@pytest.fixture(scope="module")
def px(cluster: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    from proximity import Proximity

    client = Proximity(tmp_path_factory.mktemp("widgets") / "state", front_end="test")
    client.hosts.add("lab", **cluster.host_options())
    client.update_settings(health_timeout_s=20)
    try:
        yield client
    finally:
        client.close()


def test_input_widgets_follow_the_declared_types() -> None:
    import ipywidgets as widgets

    cases = [
        (
            EnvInput(name="ADMIN_PASSWORD", label="Password", type="password", generate="password"),
            widgets.Password,
        ),
        (EnvInput(name="API_KEY", label="Key", type="text", secret=True), widgets.Password),
        (EnvInput(name="EULA", label="Accept", type="boolean", default=True), widgets.Checkbox),
        (
            EnvInput(name="MODE", label="Mode", type="choice", choices=["a", "b"], default="b"),
            widgets.Dropdown,
        ),
        (EnvInput(name="WORKERS", label="Workers", type="number", default=4), widgets.IntText),
        (EnvInput(name="RATIO", label="Ratio", type="number", default=0.5), widgets.FloatText),
        (EnvInput(name="LIMIT", label="Limit", type="number"), widgets.Text),
        (EnvInput(name="TZ", label="Time zone", default="UTC"), widgets.Text),
    ]
    for spec, expected in cases:
        widget = input_widget(spec)
        assert type(widget) is expected, spec.name
    assert input_widget(cases[0][0]).value == "" and "generate" in input_widget(cases[0][0]).placeholder
    assert input_widget(cases[2][0]).value is True
    mode = input_widget(cases[3][0])
    assert list(mode.options) == ["a", "b"] and mode.value == "b"
    assert input_widget(cases[4][0]).value == 4
    assert input_widget(cases[7][0]).value == "UTC"
    required = EnvInput(name="URL", label="Server URL", required=True)
    assert input_widget(required).description.endswith("*")


def test_catalog_browser_searches_filters_and_picks(px: Any) -> None:
    browser = CatalogBrowser(px)
    assert len(browser.results()) == len(px.catalog)
    found = [entry.id for entry in browser.search("push notifications")]
    assert found[:2] == ["gotify", "ntfy"]
    monitoring = browser.search("", category="monitoring")
    assert monitoring and all("monitoring" in entry.categories for entry in monitoring)
    assert browser.search("xyzzyplugh") == [] and browser.count.value.startswith("0 app")
    picked: list[str] = []
    browser.on_pick(lambda entry: picked.append(entry.id))
    entry = browser.pick("vaultwarden")
    assert entry.id == "vaultwarden" and browser.selected is not None and browser.selected.id == "vaultwarden"
    assert picked[-1] == "vaultwarden" and "Vaultwarden" in browser.card.value
    assert "<script" not in browser.card.value


def test_deploy_form_shows_the_sdk_error_then_deploys_with_a_live_bar(px: Any, cluster: Any) -> None:
    entry = px.catalog.get("headscale")  # SERVER_URL and BASE_DOMAIN are required, without defaults
    form = DeployForm(px, entry)
    assert set(form.inputs) == {spec.name for spec in entry.env}
    assert list(form.node.options) == ["(automatic)", "pve1", "pve2"]
    form.name.value = "mesh"
    before = set(cluster.cluster.containers)
    with pytest.raises(ValidationError, match="SERVER_URL"):
        form.deploy()  # the SDK refuses, the form shows why, nothing is created
    assert "SERVER_URL" in form.message.value and set(cluster.cluster.containers) == before
    form.inputs["SERVER_URL"].value = "https://mesh.lan"
    form.inputs["BASE_DOMAIN"].value = "tailnet.lan"
    form.node.value = "pve2"
    form.memory.value = form.memory.value + 64
    arguments = form.deploy_arguments()
    assert arguments["node"] == "pve2" and arguments["cores"] is None
    assert arguments["env"] == {"SERVER_URL": "https://mesh.lan", "BASE_DOMAIN": "tailnet.lan"}
    assert arguments["memory"] == entry.resources.memory_mb + 64
    app = form.deploy()
    assert app.node == "pve2" and app.memory_mb == arguments["memory"]
    assert form.progress.outcome == "succeeded" and form.progress.progress == 1.0
    assert form.progress.steps_done()[-2:] == ["health", "finish"]
    assert served_by(app.url, "mesh") and app.url in form.message.value
    # a typed secret is used, then emptied from the widget (its value would be saved with widget state)
    secret_form = DeployForm(px, "gotify")
    secret_form.name.value = "typed-secret"
    secret_form.inputs["ADMIN_PASSWORD"].value = "correct horse battery staple"
    secret_form.deploy()
    assert (
        px.store.secrets.app("typed-secret")["ADMIN_PASSWORD"].get_secret_value()
        == "correct horse battery staple"
    )
    assert secret_form.inputs["ADMIN_PASSWORD"].value == ""
    assert "correct horse" not in secret_form.message.value + secret_form.progress.summary()
    px.apps.delete("typed-secret", purge=True, confirm=True)


def test_progress_follows_a_finished_job_and_fleet_reads_measured_usage(px: Any, cluster: Any) -> None:
    app = px.apps.deploy("gotify", name="alerts", node="pve1")
    job = next(j for j in px.jobs.list() if j.kind == "deploy" and j.target == "alerts")
    progress = JobProgress("replay")
    assert progress.watch(px, job.id) == "succeeded"
    assert progress.events[0].kind == "job-started" and progress.progress == 1.0

    fleet = collect_fleet(px)
    unit = fleet.app("alerts")
    assert (unit.host, unit.node, unit.vmid, unit.status) == ("lab", "pve1", app.vmid, "running")
    assert unit.cpu is not None and unit.mem_bytes and unit.disk_bytes and unit.maxdisk_bytes
    table = str(FleetTable.of(fleet))
    assert table.splitlines()[0].split() == [
        "app",
        "catalog",
        "host",
        "node",
        "vmid",
        "status",
        "cpu",
        "memory",
        "disk",
        "url",
    ]
    assert any(line.startswith("alerts") and "running" in line for line in table.splitlines())

    app.stop()
    stopped = collect_fleet(px).app("alerts")
    assert stopped.status == "stopped" and stopped.cpu is None and stopped.mem_bytes is None
    assert not served_by(app.url, "alerts")
    app.start()
    assert wait_for_page(app.url, timeout_s=60).status == 200 and served_by(app.url, "alerts")

    rack = RackView(px)
    assert "data-app='alerts' data-status='running'" in rack.html
    assert rack.html.count("class='px-node'") == 2


def test_an_unreachable_host_stays_in_the_rack_with_its_error(px: Any, tmp_path: Path) -> None:
    from proximity import Proximity
    from proximity.sim import Simulator

    home = tmp_path / "state"
    with Simulator(nodes=1, time_scale=0.01) as other, Proximity(home, front_end="test") as first:
        first.hosts.add("gone", **other.host_options())
    # the host is down now; a new client (no kept-alive connection) finds it unreachable
    with Proximity(home, front_end="test") as later:
        fleet = collect_fleet(later)
    (gone,) = fleet.hosts
    assert gone.name == "gone" and gone.error and "HostUnreachable" in gone.error and not gone.nodes
    assert "unreachable: HostUnreachable" in render_rack_html(fleet)


def test_rack_html_escapes_everything_and_colours_leds() -> None:
    node = Node(host="h", name="pve1", online=True, cores=4, mem_used=2**30, mem_total=2**32)
    evil = AppUsage(
        name="<script>alert(1)</script>",
        catalog_id="x",
        host="h",
        node="pve1",
        vmid=100,
        status="failed",
        url="http://127.0.0.1/'onmouseover='x",
        cores=1,
        memory_mb=128,
        disk_gb=2,
        cpu=2.5,  # out of range figures are clamped in the meters
        mem_bytes=2**29,
        maxmem_bytes=2**27,
    )
    html = render_rack_html(
        Fleet(hosts=(HostView(name="h", url="https://h", nodes=(NodeView(node, (evil,)),)),))
    )
    assert "<script>alert" not in html and "&lt;script&gt;" in html
    assert "'onmouseover='" not in html
    assert "#e74c3c" in html  # a failed app's LED is red
    assert "width:100.0%" in html and "width:250" not in html


def test_load_chart_without_matplotlib_is_an_html_table(px: Any) -> None:
    points = node_load(px, "lab", "pve1", "hour")
    assert points and any(p.cpu is not None for p in points)
    chart = LoadChart.of({"lab/pve1": points}, prefer_matplotlib=False)
    assert chart.kind == "html" and "<table class='px-load'>" in (chart._repr_html_() or "")
    assert chart._repr_png_() is None and str(chart).startswith("lab/pve1")
    with pytest.raises(ValueError, match="timeframe"):
        node_load(px, "lab", "pve1", "decade")
    now = datetime.now(UTC)
    assert sparkline([0.0, 0.5, 1.0]) == "▁▄█" and sparkline([]) == ""
    empty = LoadChart.of({"n": [LoadPoint(now, None, None, None)]}, prefer_matplotlib=False)
    assert "no samples yet" in str(empty)


def test_page_checks_refuse_other_schemes_and_time_out(tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        fetch_page("file:///etc/passwd")
    with pytest.raises(TimeoutError, match="did not answer"):
        wait_for_page("http://127.0.0.1:9/", timeout_s=0.3, interval_s=0.1)
    assert answers("http://127.0.0.1:9/") is False


def test_an_unticked_required_box_is_no_answer(px: Any) -> None:
    form = DeployForm(px, "minecraft-server")  # ACCEPT_EULA: a required boolean without a default
    assert "ACCEPT_EULA" not in form.env_values()
    with pytest.raises(ValidationError, match="ACCEPT_EULA"):
        form.deploy()
    form.inputs["ACCEPT_EULA"].value = True
    assert form.env_values()["ACCEPT_EULA"] is True
