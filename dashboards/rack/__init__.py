"""The rack view: ``RackView`` (a custom Panel component) and ``feed`` (its rows and deltas)."""

from dashboards.rack.component import ACTIONS, RackAction, RackView
from dashboards.rack.feed import Kind, Unit, build_units, collect, diff, snapshot

__all__ = ["ACTIONS", "Kind", "RackAction", "RackView", "Unit", "build_units", "collect", "diff", "snapshot"]
