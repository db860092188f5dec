"""The app page's chart of the container's measured CPU and memory, from Proxmox's RRD (``px.apps.metrics``).

Only measured figures are drawn: a slot where Proxmox kept no sample (the app was stopped, or the host
just started recording) is a gap in the line, never a guess."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import panel as pn
from bokeh.models import ColumnDataSource, DatetimeTickFormatter, HoverTool, LinearAxis, Range1d
from bokeh.plotting import figure

from dashboards.pages.common import esc
from proximity.models import MetricPoint

MIB = 1024 * 1024
CPU_COLOUR = "#4fc3f7"
MEMORY_COLOUR = "#ffb300"
# (background, text and grid) per deck theme
CHART_THEMES: dict[str, tuple[str, str, str]] = {
    "dark": ("#171d25", "#c8d0da", "#2a3440"),
    "light": ("#ffffff", "#37474f", "#e0e0e0"),
    "matrix": ("#020d02", "#00ff41", "#0a3a0a"),
}


@dataclass(frozen=True)
class MetricSeries:
    """The chart's columns: x in milliseconds since the epoch (Bokeh's datetime axis), NaN where unmeasured."""

    time_ms: list[float]
    cpu_percent: list[float]
    memory_mib: list[float]
    max_memory_mib: float | None  # the container's memory limit in the latest sample that has one
    measured: int  # slots with a measured CPU or memory figure

    def columns(self) -> dict[str, list[float]]:
        return {"time": self.time_ms, "cpu": self.cpu_percent, "memory": self.memory_mib}


def _value(value: float | None, scale: float) -> float:
    return math.nan if value is None else value * scale


def metric_series(points: list[MetricPoint]) -> MetricSeries:
    """PVE's ``cpu`` is a fraction of the container's cores (shown in %); ``mem`` and ``maxmem`` are bytes."""
    limits = [p.maxmem for p in points if p.maxmem]
    return MetricSeries(
        time_ms=[p.time.timestamp() * 1000 for p in points],
        cpu_percent=[_value(p.cpu, 100.0) for p in points],
        memory_mib=[_value(p.mem, 1 / MIB) for p in points],
        max_memory_mib=limits[-1] / MIB if limits else None,
        measured=sum(1 for p in points if p.cpu is not None or p.mem is not None),
    )


def summary_html(points: list[MetricPoint], timeframe: str) -> str:
    """One line under the chart: how many measured samples, and the latest one's figures."""
    series = metric_series(points)
    latest = next((p for p in reversed(points) if p.cpu is not None or p.mem is not None), None)
    attributes = f'data-testid="app-metrics-summary" data-measured="{series.measured}"'
    if latest is None:
        return f"<div {attributes}><i>No measured samples in the last {esc(timeframe)} (is the app running?)</i></div>"
    parts = []
    if latest.cpu is not None:
        parts.append(f"CPU {latest.cpu * 100:.1f} %")
    if latest.mem is not None:
        limit = f" of {latest.maxmem / MIB:.0f}" if latest.maxmem else ""
        parts.append(f"memory {latest.mem / MIB:.0f}{limit} MiB")
    return (
        f"<div {attributes}>{series.measured} measured sample{'' if series.measured == 1 else 's'} in the "
        f"last {esc(timeframe)}; latest "
        f"({latest.time:%H:%M} UTC): {esc(', '.join(parts))}</div>"
    )


def metrics_figure(points: list[MetricPoint], theme: str) -> Any:
    """A Bokeh line chart: CPU % on the left axis, memory MiB on the right (up to the container's limit)."""
    series = metric_series(points)
    memory = [m for m in series.memory_mib if not math.isnan(m)]
    top = max([series.max_memory_mib or 0.0, *memory, 1.0])
    source = ColumnDataSource(data=series.columns(), name="app-metrics-source")
    plot = figure(
        height=220,
        sizing_mode="stretch_width",
        x_axis_type="datetime",
        y_range=Range1d(0, 100),
        toolbar_location=None,
        name="app-metrics-chart",
    )
    if len(series.time_ms) >= 2:  # the whole time frame, measured or not, so gaps show as gaps
        step = series.time_ms[1] - series.time_ms[0]
        plot.x_range = Range1d(series.time_ms[0], series.time_ms[-1] + step / 2)
    plot.xaxis.formatter = DatetimeTickFormatter(
        minutes="%H:%M", hourmin="%H:%M", hours="%H:%M", days="%d %b"
    )
    plot.yaxis.axis_label = "CPU %"
    plot.extra_y_ranges = {"memory": Range1d(0, top * 1.05)}
    plot.add_layout(LinearAxis(y_range_name="memory", axis_label="memory MiB"), "right")
    plot.line("time", "cpu", source=source, color=CPU_COLOUR, line_width=2, legend_label="CPU %")
    plot.line(
        "time",
        "memory",
        source=source,
        color=MEMORY_COLOUR,
        line_width=2,
        y_range_name="memory",
        legend_label="memory MiB",
    )
    # markers too: a sample between two unmeasured slots has no line to draw
    plot.scatter("time", "cpu", source=source, color=CPU_COLOUR, size=4)
    plot.scatter("time", "memory", source=source, color=MEMORY_COLOUR, size=4, y_range_name="memory")
    plot.add_tools(
        HoverTool(
            tooltips=[("time", "@time{%H:%M}"), ("CPU", "@cpu{0.0} %"), ("memory", "@memory{0} MiB")],
            formatters={"@time": "datetime"},
            mode="vline",
        )
    )
    plot.legend.location = "top_left"
    plot.legend.background_fill_alpha = 0.3
    _style(plot, theme)
    return plot


def _style(plot: Any, theme: str) -> None:
    background, text, grid = CHART_THEMES.get(theme, CHART_THEMES["dark"])
    plot.background_fill_color = background
    plot.border_fill_color = background
    plot.outline_line_color = grid
    plot.legend.label_text_color = text
    plot.legend.background_fill_color = background
    for axis in [*plot.xaxis, *plot.yaxis]:  # yaxis: the left and the right one
        axis.axis_label_text_color = text
        axis.major_label_text_color = text
        axis.axis_line_color = grid
        axis.major_tick_line_color = grid
        axis.minor_tick_line_color = grid
    for grid_lines in [*plot.xgrid, *plot.ygrid]:
        grid_lines.grid_line_color = grid


class MetricsChart:
    """The chart on a page. A new figure replaces the old one through the pane (Panel then updates the
    browser under the document's lock; Bokeh models changed in place from a callback would not be)."""

    def __init__(self, theme: str = "dark"):
        self.theme = theme
        self.points: list[MetricPoint] = []
        self.pane = pn.pane.Bokeh(metrics_figure([], theme), sizing_mode="stretch_width")

    @property
    def source(self) -> ColumnDataSource:
        return self.pane.object.select_one({"name": "app-metrics-source"})

    def show(self, points: list[MetricPoint]) -> None:
        self.points = points
        self.pane.object = metrics_figure(points, self.theme)

    def set_theme(self, theme: str) -> None:
        self.theme = theme
        self.pane.object = metrics_figure(self.points, theme)
