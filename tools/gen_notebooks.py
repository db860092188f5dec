"""Write the notebooks in ``notebooks/`` from the cells below, without outputs.

    python tools/gen_notebooks.py           # (re)write notebooks/*.ipynb
    python tools/gen_notebooks.py --check   # exit 1 if a committed notebook differs from this source

Edit the cells here, not the .ipynb files, so the notebooks stay reviewable and output-free.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"

SETUP = """\
import os
import shutil
import tempfile

from proximity import Proximity
from proximity.sim import Simulator

# A person gets a pace close to a real node (0.2: tasks five times faster than Proxmox VE);
# the tests set PROXIMITY_SIM_TIME_SCALE=0.01.
TIME_SCALE = float(os.environ.get("PROXIMITY_SIM_TIME_SCALE", "0.2"))
home = tempfile.mkdtemp(prefix="proximity-notebook-")   # a throw-away state directory
"""


def add_host(variable: str, name: str) -> str:
    return f'''\
px.hosts.add(
    "{name}",
    {variable}.url,
    token_id={variable}.token_id,
    token_secret={variable}.token_secret,
    fingerprint={variable}.fingerprint,     # the certificate is pinned, not ignored
    ssh_port={variable}.ssh_port,           # pct exec runs over SSH
    ssh_password={variable}.root_password,
)'''


QUICKSTART = [
    (
        "md",
        """\
# Proximity quickstart

Proximity turns a Proxmox VE host into a personal app store. This notebook runs against the **built-in
Proxmox VE simulator**, reached over HTTPS and SSH exactly like a real host, so nothing here needs a server:

1. start the simulator and add it as a host,
2. browse the catalog,
3. deploy an app with a live progress bar,
4. open its URL, stop and start it,
5. clean up.""",
    ),
    (
        "code",
        SETUP
        + """
sim = Simulator(nodes=3, time_scale=TIME_SCALE).start()
px = Proximity(home, front_end="notebook")
print("simulated cluster:", sim.url, f"({sim.nodes} nodes, time scale {TIME_SCALE})")""",
    ),
    (
        "md",
        """\
## Add the host

An API token is the preferred login; the simulator's certificate fingerprint is pinned. For a real host,
use its URL, a token you created for Proximity and its fingerprint (see `docs/notebooks.md`).""",
    ),
    (
        "code",
        "host = "
        + add_host("sim", "lab")
        + """
report = px.hosts.test("lab")
print(f"connected: Proxmox VE {report.version}, nodes {', '.join(report.nodes)}, "
      f"API {report.api_latency_ms:.1f} ms, SSH ok on {sum(report.ssh_ok.values())}/{len(report.ssh_ok)} nodes")
host""",
    ),
    (
        "md",
        """\
## Browse the catalog

Type in the search box or pick a category; the card shows what the app needs and the inputs it asks for.""",
    ),
    (
        "code",
        """\
from proximity.widgets import CatalogBrowser

print(len(px.catalog), "apps in", len(px.catalog.categories()), "categories")
for hit in px.catalog.search("push notifications", limit=3):
    print(f"  {hit.entry.id:<16} {hit.entry.summary}")

browser = CatalogBrowser(px, query="push notifications")
browser""",
    ),
    (
        "md",
        """\
## Deploy with a live progress bar

The form is generated from the catalog entry's typed inputs. Secrets left empty (the administrator
password) are generated for this install and never shown. Press **Deploy**, or run the next cell, which
does the same.""",
    ),
    (
        "code",
        """\
from proximity.widgets import DeployForm

form = DeployForm(px, browser.pick("gotify"))
form.name.value = "notify"
form""",
    ),
    (
        "code",
        """\
app = form.deploy()          # the same as pressing the button: the bar above follows the job
print(form.progress.summary())
app""",
    ),
    ("md", "## Open it"),
    (
        "code",
        """\
from IPython.display import HTML, display
from proximity.widgets import fetch_page

page = fetch_page(app.url)
print(page)                  # GET http://<container address>:80/ -> 200 'Gotify'
display(HTML(f'<a href="{app.url}" target="_blank">{app.url}</a>'))""",
    ),
    ("md", "## Stop and start it"),
    (
        "code",
        """\
from proximity.widgets import answers, wait_for_page

stopped = app.stop()
print(stopped.name, "is", stopped.status.value, "- answers:", answers(app.url))

started = app.start()
page = wait_for_page(app.url, timeout_s=120)     # its service needs a moment after the container boots
print(started.name, "is", started.status.value, "- answers:", page)""",
    ),
    (
        "md",
        (
            "## The rack\n\nEach host is a rack, each node a section of it, each app a unit with its status LED "
            "and the CPU, memory and disk Proxmox measures for it."
        ),
    ),
    (
        "code",
        """\
from proximity.widgets import RackView

rack = RackView(px)
unit = rack.fleet.app("notify")
print(f"{unit.name} on {unit.host}/{unit.node}: {unit.status}, CPU {unit.cpu_percent:.1f}%, "
      f"RAM {unit.mem_mib:.0f} MiB, disk {unit.disk_gib:.2f} GiB")
rack""",
    ),
    ("md", "## Clean up\n\n`purge=True` also removes the app's backups and secrets."),
    (
        "code",
        """\
px.apps.delete("notify", purge=True, confirm=True)
print("apps left:", len(px.apps.list()))
px.close()
sim.stop()
shutil.rmtree(home)""",
    ),
]

FLEET = [
    (
        "md",
        """\
# A fleet: several hosts and nodes

Two simulated clusters: `lab` with three nodes and `edge` with two. We spread a few apps over them, look
at all of them in one table with what they use, plot the nodes' load from Proxmox's RRD data, and run
bulk operations: back up everything on a node, restart every app with a tag.""",
    ),
    (
        "code",
        SETUP
        + """
lab = Simulator(nodes=3, time_scale=TIME_SCALE).start()
edge = Simulator(nodes=2, time_scale=TIME_SCALE).start()
px = Proximity(home, front_end="notebook")
"""
        + add_host("lab", "lab")
        + "\n"
        + add_host("edge", "edge")
        + """
for node in px.hosts.nodes():
    print(f"{node.host}/{node.name}: {node.cores} cores, {node.mem_total / 2**30:.0f} GiB, "
          f"headroom {node.headroom:.0%}")""",
    ),
    (
        "md",
        """\
## Deploy a few apps

Node placement is automatic (most headroom) unless asked; here we choose, to fill both racks.
(Two simulators on one laptop hand out the same container addresses for the same VMID, so `edge` runs
apps on other ports than `lab`; two real clusters have their own networks.)""",
    ),
    (
        "code",
        """\
from IPython.display import display
from proximity.widgets import JobProgress

PLAN = [  # catalog id, app name, host, node, inputs
    ("gotify", "alerts", "lab", "pve1", {}),
    ("ntfy", "push", "lab", "pve2", {"BASE_URL": "http://push.lan"}),
    ("heimdall", "home", "lab", "pve1", {"TZ": "Europe/Rome"}),
    ("adminer", "dbadmin", "lab", "pve3", {}),
    ("linkding", "links", "edge", "pve1", {}),
    ("glances", "monitor", "edge", "pve2", {}),
    ("pairdrop", "drop", "edge", "pve1", {}),
]
for catalog_id, name, host_name, node, env in PLAN:
    progress = JobProgress(f"{name} ({catalog_id}) on {host_name}/{node}")
    display(progress)
    app = px.apps.deploy(catalog_id, name=name, host=host_name, node=node, env=env, on_event=progress)
    print(f"{app.name:<9} {app.status.value:<8} {app.url}")""",
    ),
    ("md", "## Every app, with measured resources"),
    (
        "code",
        """\
from proximity.widgets import FleetTable, RackView, collect_fleet

fleet = collect_fleet(px)
table = FleetTable.of(fleet)
print(table)
table""",
    ),
    (
        "code",
        """\
rack = RackView(px)
rack""",
    ),
    (
        "md",
        """\
## Node load from rrddata

Proxmox keeps one sample a minute; a simulator started a moment ago has only a few. With matplotlib
installed this is a line plot, otherwise an HTML table of bars (and a text sparkline).""",
    ),
    (
        "code",
        """\
from proximity.widgets import LoadChart, node_load

series = {f"{n.host}/{n.name}": node_load(px, n.host, n.name, "hour") for n in px.hosts.nodes()}
chart = LoadChart.of(series)
print("drawn with:", chart.kind)
print(chart)
chart""",
    ),
    ("md", "## Bulk: back up everything on the busiest node"),
    (
        "code",
        """\
busiest = max((node for host in fleet.hosts for node in host.nodes), key=lambda view: len(view.apps))
where = f"{busiest.node.host}/{busiest.node.name}"
backups = [px.backups.create(app.name) for app in busiest.apps]
for backup in backups:
    print(f"{backup.app:<9} {backup.volid} ({backup.size / 2**20:.1f} MiB)")
print(f"backed up {len(backups)} of {len(busiest.apps)} apps on {where}")""",
    ),
    ("md", "## Bulk: restart every app with a tag\n\nAn app's tags are its catalog entry's tags."),
    (
        "code",
        """\
from proximity.widgets import wait_for_page

TAG = "notifications"
tagged = [app for app in px.apps.list() if TAG in px.catalog.get(app.catalog_id).tags]
for app in tagged:
    restarted = app.restart()
    page = wait_for_page(restarted.url, timeout_s=120)
    print(f"restarted {restarted.name} ({restarted.catalog_id}): {restarted.status.value}, {page}")
print(f"restarted {len(tagged)} app(s) tagged {TAG!r}")""",
    ),
    ("md", "## Clean up"),
    (
        "code",
        """\
for app in px.apps.list():
    px.apps.delete(app.name, purge=True, confirm=True)
print("apps left:", len(px.apps.list()))
px.close()
lab.stop()
edge.stop()
shutil.rmtree(home)""",
    ),
]

BACKUPS = [
    (
        "md",
        """\
# Backups and safe updates

Back up an app, restore the backup as a new app, then update it safely: Proximity snapshots the container,
updates, checks the app's health, and rolls the snapshot back by itself when the check fails. The
simulator's fault injection makes the health check fail on purpose.""",
    ),
    (
        "code",
        SETUP
        + """
sim = Simulator(nodes=3, time_scale=TIME_SCALE).start()
px = Proximity(home, front_end="notebook")
"""
        + add_host("sim", "lab")
        + """
from IPython.display import display
from proximity.widgets import JobProgress

progress = JobProgress("Deploy gotify")
display(progress)
app = px.apps.deploy("gotify", name="notify", on_event=progress)
print(app.name, app.status.value, app.url)""",
    ),
    ("md", "## Back up\n\nvzdump in snapshot mode, zstd, to a storage whose content includes backups."),
    (
        "code",
        """\
progress = JobProgress("Back up notify")
display(progress)
backup = px.backups.create("notify", on_event=progress)
print("backup:", backup.volid, f"{backup.size / 2**20:.1f} MiB on {backup.storage}")
protected = backup.protect()
print("protected:", protected.protected)
for listed in px.backups.list("notify"):
    print(" ", listed.volid, "protected" if listed.protected else "")""",
    ),
    (
        "md",
        "## Restore as a new app\n\nThe original keeps running; the copy gets its own container and address.",
    ),
    (
        "code",
        """\
from proximity.widgets import wait_for_page

copy = backup.restore(as_name="notify-copy")
page = wait_for_page(copy.url, timeout_s=120)
print(f"{copy.name}: CT {copy.vmid} at {copy.ip} (original CT {app.vmid} at {app.ip}), {copy.status.value}")
print(page)""",
    ),
    ("md", "## A safe update that works"),
    (
        "code",
        """\
progress = JobProgress("Update notify")
display(progress)
updated = px.apps.update("notify", on_event=progress)
print(progress.summary())""",
    ),
    (
        "md",
        """\
## A safe update that fails its health check and rolls back by itself

`sim.faults.app_never_healthy(vmid)` makes the app answer 503 from now on, as a broken new version would.
The health check waits `health_timeout_s`, fails, and the job rolls the container back to the snapshot it
took before updating.""",
    ),
    (
        "code",
        """\
from proximity import HealthCheckFailed

px.update_settings(health_timeout_s=3)
sim.faults.app_never_healthy(app.vmid)
progress = JobProgress("Update notify (broken release)")
display(progress)
try:
    px.apps.update("notify", on_event=progress)
except HealthCheckFailed as error:
    print("update failed:", error)
print(progress.summary())
job = px.jobs.list()[0]
print("job", job.id, job.kind, job.state.value)
for event in px.jobs.events(job.id):
    if event.kind.startswith(("undo", "job-")) or "rolled back" in event.message:
        print(f"  {event.kind:<14} {event.step or '':<9} {event.message}")""",
    ),
    ("md", 'The fault is lifted (the "fixed release"): the app, rolled back to its snapshot, answers again.'),
    (
        "code",
        """\
sim.faults.clear()
page = wait_for_page(app.url, timeout_s=120)
print("notify is", px.apps.get("notify").status.value, "-", page)
snapshots = px.pve("lab").snapshots(app.node, app.vmid)
print("snapshots left behind:", [name for name in snapshots if name != "current"])""",
    ),
    ("md", "## Clean up"),
    (
        "code",
        """\
px.backups.protect(backup.volid, protected=False)
for name in ("notify-copy", "notify"):
    px.apps.delete(name, purge=True, confirm=True)
print("apps left:", len(px.apps.list()), "- backups left:", len(px.backups.list()))
px.close()
sim.stop()
shutil.rmtree(home)""",
    ),
]

OMNI = [
    (
        "md",
        """\
# The Omni-Prompt: ask in English or Italian

`px.ask(text)` turns a request into a typed **plan** of SDK calls. Nothing runs until you say so:

- a read (list, logs, status) runs at once,
- a change (deploy, restart, back up) needs a yes: `plan.run(confirm=True)`,
- a destructive step (delete, restore in place) needs its exact text typed: `plan.run(typed=["notify"])`.

The parser is deterministic and works without the local model; when the model is installed it is asked
only when the parser is unsure. Everything below runs against the built-in simulator.""",
    ),
    (
        "code",
        SETUP
        + """
sim = Simulator(nodes=2, time_scale=TIME_SCALE).start()
px = Proximity(home, front_end="notebook")
"""
        + add_host("sim", "lab")
        + """
print("apps:", [app.name for app in px.apps.list()])""",
    ),
    (
        "md",
        """\
## In English: the plan before anything runs

The plan says each step, its risk, the SDK call it will make and what it needs. Asking changes nothing.""",
    ),
    (
        "code",
        """\
from IPython.display import HTML, display
from proximity.widgets.omni_chat import plan_table_html

plan = px.ask("install gotify as notify with 1 GB of RAM")
print(plan.describe())
print("risk:", plan.risk.value, "- chosen by the", plan.chosen_by, f"(confidence {plan.confidence:.2f})")
print("calls:", plan.call_text())
print("apps before running:", [app.name for app in px.apps.list()])   # nothing has changed yet
display(HTML(plan_table_html(plan)))""",
    ),
    (
        "code",
        """\
result = plan.run(confirm=True)      # a change needs a yes
print(result.summary())""",
    ),
    (
        "md",
        """\
## In Italian: two steps, one request

"Back up notify and then restart it": the pronoun in *riavvialo* takes the app of the step before.""",
    ),
    (
        "code",
        """\
plan = px.ask("fai un backup di notify e poi riavvialo")
print("language:", plan.language)
print(plan.describe())
for need in plan.confirmations():
    print(f"step {need.index + 1} needs: {need.need.value}")
result = plan.run(confirm=True)
print(result.summary())""",
    ),
    ("md", "A question is a read: it runs without any confirmation."),
    (
        "code",
        """\
plan = px.ask("quali app sono accese?")
print(plan.describe())
print(plan.run().summary())""",
    ),
    (
        "md",
        """\
## A destructive step: a yes is not enough

Deleting an app needs its name typed. `confirm=True` alone is refused, and then *no change runs at all*.
Without `purge` the SDK keeps a final backup, which `undo` restores.""",
    ),
    (
        "code",
        """\
plan = px.ask("elimina notify")
print(plan.describe())
(typed_need,) = [need for need in plan.confirmations() if need.expected]
print(typed_need.message)

refused = plan.run(confirm=True)
print("with confirm=True only:", "ok" if refused.ok else "refused", "-", refused.outcomes[0].status)
print("notify is still", px.apps.get("notify").status.value)""",
    ),
    (
        "code",
        """\
deleted = plan.run(typed=[typed_need.expected])
print(deleted.summary())
print("apps left:", [app.name for app in px.apps.list()])""",
    ),
    (
        "md",
        """\
## Undo

The inverse steps of the last plan that changed something are kept in the state directory. Undoing a
delete restores the final backup under the same name: a change, so it needs a yes.""",
    ),
    (
        "code",
        """\
from proximity.omni.ask import undo

for outcome in undo(px, confirm=True):
    print(f"undo: {outcome.action} {outcome.status} - {outcome.detail}")
restored = px.apps.get("notify")
print(f"notify is {restored.status.value} again: CT {restored.vmid} at {restored.ip}")""",
    ),
    (
        "md",
        """\
## A chat box

Type a request and press **Plan**: the table shows the steps before anything runs. **Run** is the yes;
a destructive step also needs the text the table asks for, typed in the box beside it. The cell below
does what the buttons do.""",
    ),
    (
        "code",
        """\
from proximity.widgets import OmniChat

chat = OmniChat(px)
chat.propose("ferma notify")         # the Plan button
chat.run()                           # the Run button
print(chat.result.summary())
chat""",
    ),
    (
        "md",
        """\
## The local model (optional)

When the parser is unsure between several plans, a small local model (Gemma 3 270M on the CPU, through
llama.cpp) ranks them; it never writes a plan of its own. It is used only when installed (the `omni`
extra and the model package); otherwise the parser's best plan is taken and the plan says so.""",
    ),
    (
        "code",
        """\
from proximity.omni.llm import probabilities, shared_model

model = shared_model()
if model.available():
    candidates = ['apps.start(name="notify")', 'apps.stop(name="notify")']
    scores = model.rank("tira su notify", candidates)
    for candidate, chance in zip(candidates, probabilities(scores), strict=True):
        print(f"model: {candidate:<28} {chance:.2f}")
else:
    print("model: not installed - the parser's plans are used (plan.chosen_by == 'parser')")
print("parser:", px.ask("tira su notify", ranker=None).call_text())""",
    ),
    ("md", "## Clean up"),
    (
        "code",
        """\
px.apps.delete("notify", purge=True, confirm=True)
print("apps left:", len(px.apps.list()))
px.close()
sim.stop()
shutil.rmtree(home)""",
    ),
]

SOURCES = {
    "01-quickstart.ipynb": QUICKSTART,
    "02-fleet.ipynb": FLEET,
    "03-backups-and-updates.ipynb": BACKUPS,
    "04-omni-prompt.ipynb": OMNI,
}


def build(cells: list[tuple[str, str]]) -> nbformat.NotebookNode:
    notebook = new_notebook(
        cells=[new_markdown_cell(text) if kind == "md" else new_code_cell(text) for kind, text in cells],
        metadata={
            "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
            "language_info": {"name": "python"},
        },
    )
    for index, cell in enumerate(notebook.cells):
        cell["id"] = f"cell-{index:02d}"  # stable ids: regenerating changes nothing
    return notebook


def render(name: str) -> str:
    return nbformat.writes(build(SOURCES[name])) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail if a notebook differs from this source")
    args = parser.parse_args(argv)
    stale = []
    for name in SOURCES:
        path = NOTEBOOKS / name
        text = render(name)
        if args.check:
            if not path.is_file() or path.read_text(encoding="utf-8") != text:
                stale.append(name)
        else:
            NOTEBOOKS.mkdir(exist_ok=True)
            path.write_text(text, encoding="utf-8")
            print("wrote", path)
    if stale:
        print("out of date (run python tools/gen_notebooks.py):", ", ".join(stale), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
