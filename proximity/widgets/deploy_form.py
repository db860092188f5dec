"""A deploy form generated from a catalog entry: one typed widget per input the entry declares (text,
password, number, boolean, choice), the sizes with the entry's minimums, the host and node, and a Deploy
button whose job events drive a ``JobProgress``. The SDK validates; the form shows its errors."""

from __future__ import annotations

import html
from typing import Any

from proximity.catalog.schema import CatalogEntry, EnvInput
from proximity.errors import ProximityError
from proximity.models import App
from proximity.widgets.progress import JobProgress

AUTOMATIC = "(automatic)"
MAX_MEMORY_MB = 1 << 20
MAX_DISK_GB = 65536


def input_widget(spec: EnvInput) -> Any:
    """The widget for one typed input. Empty text means "use the default / generate it"."""
    import ipywidgets as widgets

    label = spec.label + (" *" if spec.required and spec.default is None and not spec.generate else "")
    common: dict[str, Any] = {"description": label, "style": {"description_width": "200px"}}
    if spec.description:
        common["tooltip"] = spec.description
    if spec.type == "password" or (spec.is_secret and spec.type == "text"):
        hint = "leave empty to generate one" if spec.generate else ""
        return widgets.Password(value="", placeholder=hint, **common)
    if spec.type == "boolean":
        return widgets.Checkbox(value=bool(spec.default), indent=False, **common)
    if spec.type == "choice":
        choices = list(spec.choices or [])
        return widgets.Dropdown(
            options=choices, value=str(spec.default) if spec.default is not None else choices[0], **common
        )
    if spec.type == "number" and isinstance(spec.default, int) and not isinstance(spec.default, bool):
        return widgets.IntText(value=spec.default, **common)
    if spec.type == "number" and isinstance(spec.default, float):
        return widgets.FloatText(value=spec.default, **common)
    placeholder = "a number" if spec.type == "number" else ("generated if empty" if spec.generate else "")
    default = "" if spec.default is None else str(spec.default)
    return widgets.Text(value=default, placeholder=placeholder, **common)


class DeployForm:
    """``DeployForm(px, "gotify")``: fill it in and press Deploy, or call ``deploy()`` from code."""

    def __init__(self, px: Any, entry: CatalogEntry | str):
        import ipywidgets as widgets

        self._px = px
        self.entry: CatalogEntry = px.catalog.get(entry) if isinstance(entry, str) else entry
        self.app: App | None = None
        self.error: str | None = None
        self.progress = JobProgress(f"Deploy {self.entry.name}")
        settings = px.settings()
        res = self.entry.resources
        style = {"description_width": "200px"}
        self.name = widgets.Text(value=self.entry.id, description="App name", style=style)
        hosts = [host.name for host in px.hosts.list()]
        self.host = widgets.Dropdown(
            options=hosts, value=hosts[0] if hosts else None, description="Host", style=style
        )
        self.node = widgets.Dropdown(options=[AUTOMATIC], value=AUTOMATIC, description="Node", style=style)
        self.method = widgets.Dropdown(
            options=[AUTOMATIC, *[m.type for m in self.entry.install]],
            value=AUTOMATIC,
            description="Install",
            style=style,
        )
        self._shown_sizes = {
            "cores": settings.cores or res.cores,
            "memory": settings.memory_mb or res.memory_mb,
            "disk": settings.disk_gb or res.disk_gb,
        }
        self.cores = widgets.BoundedIntText(
            value=self._shown_sizes["cores"], min=res.cores_min, max=128, description="Cores", style=style
        )
        self.memory = widgets.BoundedIntText(
            value=self._shown_sizes["memory"],
            min=res.memory_min_mb,
            max=MAX_MEMORY_MB,
            description="Memory (MiB)",
            style=style,
        )
        self.disk = widgets.BoundedIntText(
            value=self._shown_sizes["disk"],
            min=res.disk_min_gb,
            max=MAX_DISK_GB,
            description="Disk (GiB)",
            style=style,
        )
        self.inputs: dict[str, Any] = {spec.name: input_widget(spec) for spec in self.entry.env}
        self.button = widgets.Button(
            description=f"Deploy {self.entry.name}", button_style="primary", icon="rocket"
        )
        self.message = widgets.HTML()
        self.button.on_click(lambda _button: self._clicked())
        self.host.observe(lambda _change: self._load_nodes(), names="value")
        self._load_nodes()
        header = widgets.HTML(
            f"<b>{html.escape(self.entry.name)}</b> {html.escape(self.entry.version)}: "
            f"{html.escape(self.entry.summary)}"
        )
        self.widget = widgets.VBox(
            [
                header,
                self.name,
                self.host,
                self.node,
                self.method,
                self.cores,
                self.memory,
                self.disk,
                *self.inputs.values(),
                self.button,
                self.message,
                self.progress.widget,
            ]
        )

    def _load_nodes(self) -> None:
        if not self.host.value:
            return
        try:
            names = [node.name for node in self._px.hosts.nodes(self.host.value) if node.online]
        except ProximityError as error:
            self.message.value = f"<span style='color:#c0392b'>{html.escape(str(error))}</span>"
            names = []
        self.node.options = [AUTOMATIC, *names]
        self.node.value = AUTOMATIC

    def env_values(self) -> dict[str, Any]:
        """The inputs a person filled in; empty ones are left out so the SDK uses the default or generates."""
        values: dict[str, Any] = {}
        for spec in self.entry.env:
            value = self.inputs[spec.name].value
            if isinstance(value, str) and value.strip() == "":
                continue
            if spec.type == "boolean" and value is False and spec.required and spec.default is None:
                continue  # an unticked required box (an EULA) is no answer: the SDK asks for one
            values[spec.name] = value
        return values

    def deploy_arguments(self) -> dict[str, Any]:
        """What ``deploy()`` passes to ``px.apps.deploy``; sizes left as shown are None (the SDK's defaults)."""

        def changed(key: str, widget: Any) -> int | None:
            return int(widget.value) if int(widget.value) != self._shown_sizes[key] else None

        return {
            "name": self.name.value.strip() or None,
            "host": self.host.value,
            "node": None if self.node.value == AUTOMATIC else self.node.value,
            "method": None if self.method.value == AUTOMATIC else self.method.value,
            "cores": changed("cores", self.cores),
            "memory": changed("memory", self.memory),
            "disk": changed("disk", self.disk),
            "env": self.env_values(),
        }

    def deploy(self) -> App:
        """Deploy with the form's values; the progress bar follows the job. Raises the SDK's typed errors."""
        self.error = None
        self.button.disabled = True
        try:
            self.app = self._px.apps.deploy(self.entry.id, on_event=self.progress, **self.deploy_arguments())
        except ProximityError as error:
            self.error = f"{type(error).__name__}: {error}"
            self.message.value = f"<span style='color:#c0392b'>{html.escape(self.error)}</span>"
            raise
        finally:
            self.button.disabled = False
        self._forget_secrets()
        url = self.app.url or ""
        self.message.value = (
            f"<span style='color:#27ae60'>{html.escape(self.app.name)} is {html.escape(self.app.status.value)}</span> "
            + (
                f"<a href='{html.escape(url)}' target='_blank' rel='noopener'>{html.escape(url)}</a>"
                if url
                else ""
            )
        )
        return self.app

    def _forget_secrets(self) -> None:
        """Empty the secret boxes once used: a widget's value is synced to the page and can be saved with the
        notebook's widget state."""
        for spec in self.entry.env:
            if spec.is_secret:
                self.inputs[spec.name].value = ""

    def _clicked(self) -> None:
        try:
            self.deploy()
        except ProximityError:
            pass  # already shown in the form's message line

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        return self.widget._repr_mimebundle_(**kwargs)
