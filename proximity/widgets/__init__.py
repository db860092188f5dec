"""ipywidgets for Proximity in Jupyter: a catalog browser, a deploy form generated from a catalog entry,
a progress bar bound to job events, the rack view, and fleet tables and load charts.

Needs the ``notebooks`` extra (ipywidgets); the pure parts (``collect_fleet``, ``render_rack_html``,
``FleetTable``, ``node_load``) need only the SDK.
"""

from typing import Any

from proximity.widgets.catalog_browser import CatalogBrowser, entry_card
from proximity.widgets.deploy_form import DeployForm, input_widget
from proximity.widgets.fleet import AppUsage, Fleet, HostView, NodeView, collect_fleet
from proximity.widgets.load import LoadChart, LoadPoint, matplotlib_available, node_load, sparkline
from proximity.widgets.pages import Page, answers, fetch_page, wait_for_page
from proximity.widgets.progress import JobProgress
from proximity.widgets.rack import RackView, render_rack_html
from proximity.widgets.tables import FleetTable

__all__ = [
    "AppUsage",
    "CatalogBrowser",
    "DeployForm",
    "Fleet",
    "FleetTable",
    "HostView",
    "JobProgress",
    "LoadChart",
    "LoadPoint",
    "NodeView",
    "OmniChat",
    "Page",
    "RackView",
    "answers",
    "collect_fleet",
    "entry_card",
    "fetch_page",
    "input_widget",
    "matplotlib_available",
    "node_load",
    "render_rack_html",
    "sparkline",
    "wait_for_page",
]


def __getattr__(name: str) -> Any:
    # The Omni-Prompt (lexicon, fuzzy matching) is imported on first use: the other widgets stay light.
    if name == "OmniChat":
        from proximity.widgets.omni_chat import OmniChat

        return OmniChat
    raise AttributeError(f"module 'proximity.widgets' has no attribute {name!r}")
