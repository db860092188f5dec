"""Node load over time from Proxmox's rrddata, drawn with matplotlib when it is installed, otherwise as an
HTML table with bars (and a text sparkline for plain consoles). ``LoadChart.kind`` says which."""

from __future__ import annotations

import html
import importlib.util
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from proximity.widgets.formatting import percent

TIMEFRAMES = ("hour", "day", "week", "month", "year")
SPARK = "▁▂▃▄▅▆▇█"


@dataclass(frozen=True)
class LoadPoint:
    time: datetime
    cpu: float | None  # fraction of the node's cores, 0..1
    mem_fraction: float | None
    loadavg: float | None


def node_load(px: Any, host: str, node: str, timeframe: str = "hour") -> list[LoadPoint]:
    """The node's rrddata. The SDK has no node-metrics verb yet, so this goes through its documented
    low-level layer (``px.pve(host)``), the one place in this package that names a Proxmox path."""
    if timeframe not in TIMEFRAMES:
        raise ValueError(f"timeframe must be one of {', '.join(TIMEFRAMES)}, not {timeframe!r}")
    rows = px.pve(host).api.get(f"nodes/{node}/rrddata", timeframe=timeframe)
    points = []
    for row in rows:
        if "time" not in row:
            continue
        mem, total = row.get("mem"), row.get("memtotal")
        points.append(
            LoadPoint(
                time=datetime.fromtimestamp(int(row["time"]), tz=UTC),
                cpu=float(row["cpu"]) if row.get("cpu") is not None else None,
                mem_fraction=float(mem) / float(total) if mem is not None and total else None,
                loadavg=float(row["loadavg"]) if row.get("loadavg") is not None else None,
            )
        )
    return points


def sparkline(values: list[float | None]) -> str:
    known = [v for v in values if v is not None]
    if not known:
        return ""
    low, high = min(known), max(known)
    span = (high - low) or 1.0
    return "".join(" " if v is None else SPARK[int((v - low) / span * (len(SPARK) - 1))] for v in values)


def matplotlib_available() -> bool:
    return importlib.util.find_spec("matplotlib") is not None


@dataclass(frozen=True, repr=False)
class LoadChart:
    """The CPU load of several nodes; displays as a matplotlib figure or an HTML table."""

    series: dict[str, list[LoadPoint]]  # "host/node" -> points
    kind: str  # "matplotlib" or "html"

    @classmethod
    def of(cls, series: dict[str, list[LoadPoint]], *, prefer_matplotlib: bool = True) -> LoadChart:
        kind = "matplotlib" if prefer_matplotlib and matplotlib_available() else "html"
        return cls(series=series, kind=kind)

    def __str__(self) -> str:
        lines = []
        for name, points in self.series.items():
            known: list[float | None] = [p.cpu for p in points if p.cpu is not None]
            peak = percent(max(v for v in known if v is not None)) if known else "–"
            lines.append(
                f"{name:<12} cpu {sparkline(known) or '(no samples yet)'} peak {peak} ({len(known)} samples)"
            )
        return "\n".join(lines)

    def __repr__(self) -> str:
        return f"<LoadChart {self.kind}: {', '.join(self.series)}>"

    def figure(self) -> Any:
        import matplotlib.pyplot as plt

        fig, axis = plt.subplots(figsize=(9, 3))
        for name, points in self.series.items():
            shown = [p for p in points if p.cpu is not None]
            axis.plot([p.time for p in shown], [p.cpu * 100 for p in shown if p.cpu is not None], label=name)
        axis.set_ylabel("CPU %")
        axis.set_title("Node CPU load (rrddata)")
        axis.legend(loc="upper left", fontsize="small")
        fig.autofmt_xdate()
        plt.close(fig)
        return fig

    def _repr_html_(self) -> str | None:
        if self.kind == "matplotlib":
            return None  # IPython falls back to the figure from _repr_png_
        rows = []
        peak = (
            max((p.cpu for ps in self.series.values() for p in ps if p.cpu is not None), default=0.0) or 1.0
        )
        for name, points in self.series.items():
            recent = [p for p in points if p.cpu is not None][-12:]
            cells = "".join(
                f"<td title='{p.time:%H:%M}'><div style='height:40px;width:10px;display:flex;"
                f"align-items:flex-end;background:#eee'><div style='width:10px;height:{max((p.cpu or 0.0) / peak, 0.02) * 100:.0f}%;"
                f"background:#2e86de'></div></div></td>"
                for p in recent
            )
            last = percent(recent[-1].cpu) if recent else "–"
            rows.append(
                f"<tr><th style='text-align:left'>{html.escape(name)}</th>{cells}<td>{last}</td></tr>"
            )
        return (
            "<table class='px-load'><caption style='text-align:left'>CPU load, last 12 samples, bars "
            f"relative to the peak {percent(peak)} (no matplotlib: HTML bars)</caption>{''.join(rows)}</table>"
        )

    def _repr_png_(self) -> bytes | None:
        if self.kind != "matplotlib":
            return None
        from io import BytesIO

        buffer = BytesIO()
        self.figure().savefig(buffer, format="png", bbox_inches="tight")
        return buffer.getvalue()
