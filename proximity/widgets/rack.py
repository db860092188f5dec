"""The rack view in a notebook: each host a rack, each node a section of it, each app a 1U unit with a
status LED and its measured CPU, memory and disk. ``render_rack_html`` is plain HTML (every value escaped);
``RackView`` wraps it in an ipywidget with a refresh button."""

from __future__ import annotations

import html
from typing import Any

from proximity.widgets.fleet import AppUsage, Fleet, HostView, NodeView, collect_fleet
from proximity.widgets.formatting import gib, mib, percent, ratio

LED_COLORS = {
    "running": "#2ecc71",
    "stopped": "#7f8c8d",
    "deploying": "#f1c40f",
    "failed": "#e74c3c",
    "missing": "#e74c3c",
    "unknown": "#3498db",
}
EMPTY_UNITS_PER_NODE = 1  # a free slot under each node's apps, so a section never looks full by accident

CSS = """
<style>
.px-racks{display:flex;flex-wrap:wrap;gap:16px;font-family:ui-monospace,Menlo,Consolas,monospace;font-size:12px}
.px-rack{background:#1e2227;border:6px solid #3a3f46;border-radius:6px;padding:6px 14px;min-width:420px;
  color:#d7dce2;background-image:repeating-linear-gradient(90deg,#555 0 2px,transparent 2px 100%),
  repeating-linear-gradient(270deg,#555 0 2px,transparent 2px 100%);background-size:8px 100%;
  background-position:left,right;background-repeat:no-repeat}
.px-rack h3{margin:2px 0 6px;font-size:13px;color:#fff}
.px-rack .px-error{color:#e74c3c}
.px-node{border-top:2px solid #4b5159;margin-top:6px;padding-top:4px}
.px-node-head{display:flex;justify-content:space-between;gap:12px;color:#aab2bc;margin-bottom:3px}
.px-unit{display:grid;grid-template-columns:12px 1.6fr 1fr 1fr 1fr;align-items:center;gap:8px;
  background:#2b3037;border:1px solid #3d434b;border-radius:2px;height:22px;padding:0 6px;margin:2px 0}
.px-unit.px-empty{background:repeating-linear-gradient(45deg,#23272d 0 4px,#262a30 4px 8px);color:#555}
.px-led{width:9px;height:9px;border-radius:50%;box-shadow:0 0 4px currentColor}
.px-name a{color:#8fd3ff;text-decoration:none}
.px-meter{position:relative;height:14px;background:#15181c;border-radius:2px;overflow:hidden}
.px-meter span{position:absolute;left:0;top:0;bottom:0;background:#2e86de;opacity:.8}
.px-meter em{position:absolute;left:4px;top:0;line-height:14px;font-style:normal;font-size:10px;color:#fff;
  white-space:nowrap}
</style>
"""


def _meter(fraction: float | None, label: str) -> str:
    width = 0.0 if fraction is None else max(0.0, min(fraction, 1.0)) * 100.0
    return (
        f"<div class='px-meter' title='{html.escape(label)}'><span style='width:{width:.1f}%'></span>"
        f"<em>{html.escape(label)}</em></div>"
    )


def render_unit(app: AppUsage) -> str:
    color = LED_COLORS.get(app.status, LED_COLORS["unknown"])
    name = html.escape(app.name)
    if app.url:
        name = f"<a href='{html.escape(app.url)}' target='_blank' rel='noopener'>{name}</a>"
    title = html.escape(f"{app.catalog_id} · CT {app.vmid} · {app.status}")
    return (
        f"<div class='px-unit' data-app='{html.escape(app.name)}' data-status='{html.escape(app.status)}'"
        f" title='{title}'>"
        f"<div class='px-led' style='color:{color};background:{color}'></div>"
        f"<div class='px-name'>{name} <small>CT {app.vmid}</small></div>"
        f"{_meter(app.cpu, 'CPU ' + percent(app.cpu))}"
        f"{_meter(ratio(app.mem_bytes, app.maxmem_bytes), 'RAM ' + mib(app.mem_bytes))}"
        f"{_meter(ratio(app.disk_bytes, app.maxdisk_bytes), 'disk ' + gib(app.disk_bytes))}"
        "</div>"
    )


def render_node(view: NodeView) -> str:
    node = view.node
    state = "online" if node.online else "offline"
    head = (
        f"<div class='px-node-head'><b>{html.escape(node.name)}</b>"
        f"<span>{state} · CPU {percent(node.cpu)} of {node.cores} cores · "
        f"RAM {gib(node.mem_used)} / {gib(node.mem_total)} · disk {gib(node.disk_used)} / {gib(node.disk_total)}"
        "</span></div>"
    )
    units = "".join(render_unit(app) for app in view.apps)
    empty = "<div class='px-unit px-empty'><div></div><div>empty</div></div>" * EMPTY_UNITS_PER_NODE
    return f"<div class='px-node' data-node='{html.escape(node.name)}'>{head}{units}{empty}</div>"


def render_host(host: HostView) -> str:
    title = f"<h3>{html.escape(host.name)} <small>{html.escape(host.url)}</small></h3>"
    if host.error:
        body = f"<div class='px-error'>unreachable: {html.escape(host.error)}</div>"
    else:
        body = "".join(render_node(node) for node in host.nodes)
    return f"<div class='px-rack' data-host='{html.escape(host.name)}'>{title}{body}</div>"


def render_rack_html(fleet: Fleet) -> str:
    racks = "".join(render_host(host) for host in fleet.hosts) or "<p>No hosts yet.</p>"
    stamp = html.escape(fleet.taken_at.strftime("%H:%M:%S UTC"))
    return f"{CSS}<div class='px-racks'>{racks}</div><div><small>measured at {stamp}</small></div>"


class RackView:
    """``RackView(px)``: the rack of every host as an ipywidget; ``refresh()`` (or the button) re-reads it."""

    def __init__(self, px: Any):
        import ipywidgets as widgets

        self._px = px
        self.fleet: Fleet | None = None
        self._html = widgets.HTML()
        self._button = widgets.Button(description="Refresh", icon="refresh")
        self._button.on_click(lambda _button: self.refresh())
        self.widget = widgets.VBox([self._button, self._html])
        self.refresh()

    def refresh(self) -> Fleet:
        self.fleet = collect_fleet(self._px)
        self._html.value = render_rack_html(self.fleet)
        return self.fleet

    @property
    def html(self) -> str:
        return str(self._html.value)

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        return self.widget._repr_mimebundle_(**kwargs)
