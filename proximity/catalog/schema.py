"""The schema of one catalog entry (one file per app under ``catalog/apps/``).

Every model refuses unknown fields, so a typo in a catalog file is reported with the file name and the
field path instead of being silently ignored.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, HttpUrl, field_validator, model_validator

Category = Literal[
    "media",
    "downloads",
    "home-automation",
    "productivity",
    "documents",
    "photos",
    "development",
    "monitoring",
    "networking",
    "dns",
    "security",
    "databases",
    "ai",
    "communication",
    "dashboards",
    "storage",
    "backup",
    "finance",
    "automation",
    "analytics",
    "education",
    "gaming",
    "other",
]
CATEGORIES: tuple[str, ...] = get_args(Category)

APP_ID = r"^[a-z0-9][a-z0-9-]{0,62}$"
ENV_NAME = r"^[A-Z_][A-Z0-9_]*$"
SLUG = r"^[a-z0-9][a-z0-9_-]{0,62}$"
# A systemd/OpenRC unit name (what `systemctl is-active` and `journalctl -u` are handed).
SERVICE_NAME = r"^[A-Za-z0-9_][A-Za-z0-9:_.@-]{0,127}$"


class StrictModel(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


class Icon(StrictModel):
    """An icon URL plus a fallback the dashboard can draw offline (a glyph on a coloured tile)."""

    url: HttpUrl | None = None
    glyph: str = Field(min_length=1, max_length=3, description="One to three characters or an emoji")
    color: str = Field(pattern=r"^#[0-9a-fA-F]{6}$")


class Port(StrictModel):
    """A port the app listens on inside its container."""

    name: str = Field(pattern=SLUG)
    port: int = Field(ge=1, le=65535)
    protocol: Literal["tcp", "udp"] = "tcp"
    web_ui: bool = False
    scheme: Literal["http", "https"] | None = None
    description: str = ""


class Volume(StrictModel):
    """A persistent path that a backup, clone or update must keep."""

    name: str = Field(pattern=SLUG)
    path: str = Field(pattern=r"^/[^\x00]*$", description="Absolute path inside the container")
    description: str = ""
    backup: bool = True


GeneratedSecret = Literal["password", "token", "hex32", "base64-32", "uuid"]


class EnvInput(StrictModel):
    """A typed input the user fills in at deploy time, or a secret generated per install."""

    name: str = Field(pattern=ENV_NAME)
    label: str
    type: Literal["text", "password", "number", "boolean", "choice"] = "text"
    description: str = ""
    required: bool = False
    default: str | int | float | bool | None = None
    choices: list[str] | None = None
    generate: GeneratedSecret | None = Field(
        default=None, description="Generate a fresh value per install when the user leaves it empty"
    )
    secret: bool = False

    @model_validator(mode="after")
    def _check(self) -> EnvInput:
        if self.type == "choice":
            if not self.choices:
                raise ValueError("a 'choice' input needs 'choices'")
            if self.default is not None and str(self.default) not in self.choices:
                raise ValueError(f"default {self.default!r} is not one of the choices")
        elif self.choices is not None:
            raise ValueError("'choices' is only allowed on a 'choice' input")
        if self.type == "password" and self.default not in (None, ""):
            raise ValueError("a password input may not carry a shared default; use 'generate'")
        if self.generate is not None and self.type not in ("text", "password"):
            raise ValueError("'generate' is only allowed on text or password inputs")
        if self.type == "number" and self.default is not None and not isinstance(self.default, (int, float)):
            raise ValueError("a number input needs a numeric default")
        if self.type == "boolean" and self.default is not None and not isinstance(self.default, bool):
            raise ValueError("a boolean input needs a boolean default")
        return self

    @property
    def is_secret(self) -> bool:
        return self.secret or self.type == "password" or self.generate is not None


class Resources(StrictModel):
    cores_min: int = Field(ge=1, le=128)
    cores: int = Field(ge=1, le=128, description="Recommended")
    memory_min_mb: int = Field(ge=64)
    memory_mb: int = Field(ge=64, description="Recommended")
    disk_min_gb: int = Field(ge=1)
    disk_gb: int = Field(ge=1, description="Recommended")
    build_memory_mb: int | None = Field(default=None, ge=64, description="Needed while installing, if higher")

    @model_validator(mode="after")
    def _ordered(self) -> Resources:
        if (
            self.cores < self.cores_min
            or self.memory_mb < self.memory_min_mb
            or self.disk_gb < self.disk_min_gb
        ):
            raise ValueError("recommended resources must be at least the minimum ones")
        return self


class MountRequirement(StrictModel):
    """A host path or storage volume the app needs mounted (e.g. a media library)."""

    name: str = Field(pattern=SLUG)
    path: str = Field(pattern=r"^/")
    description: str = ""
    optional: bool = True


class Requirements(StrictModel):
    nesting: bool = False
    keyctl: bool = False
    fuse: bool = False
    tun: bool = False
    privileged: bool = False
    gpu: bool = False
    mounts: list[MountRequirement] = []


class HealthCheck(StrictModel):
    """How to tell the app is up: an HTTP GET answering one of ``expect_status``, or a TCP connect."""

    kind: Literal["http", "tcp"] = "http"
    port: str = Field(pattern=SLUG, description="Name of one of the entry's ports")
    path: str = Field(default="/", pattern=r"^/")
    expect_status: list[int] = [200]
    timeout_s: int = Field(default=180, ge=1, le=3600)

    @field_validator("expect_status", mode="before")
    @classmethod
    def _listify(cls, value: Any) -> Any:
        return [value] if isinstance(value, int) else value


class UpdateStrategy(StrictModel):
    method: Literal["compose-pull", "oci-replace", "script", "none"]
    snapshot_before: bool = True
    script: str | None = Field(default=None, description="For method 'script': shell run inside the CT")

    @model_validator(mode="after")
    def _script(self) -> UpdateStrategy:
        if (self.method == "script") != (self.script is not None):
            raise ValueError("'script' is required with method 'script' and only then")
        return self


class Credentials(StrictModel):
    """How the first login works. Shared default passwords are not allowed in our own catalog."""

    policy: Literal["none", "generated", "first-user-setup", "upstream-default", "unknown"] = Field(
        description="'unknown' is for imported entries whose source does not say how the first login works"
    )
    username: str | None = None
    password_input: str | None = Field(default=None, description="Name of the env input holding it")
    note: str = ""


class OciInstall(StrictModel):
    """A PVE >= 9.1 application container made from an OCI image."""

    type: Literal["oci"]
    image: str = Field(
        pattern=r"^[a-z0-9][a-z0-9._/-]*(:[A-Za-z0-9_][A-Za-z0-9._-]{0,127})?(@sha256:[a-f0-9]{64})?$"
    )
    env: dict[str, str] = Field(default_factory=dict, description="Values may reference inputs as ${NAME}")
    entrypoint: str | None = None


class ComposeInstall(StrictModel):
    """Docker Compose inside an LXC container (needs nesting and keyctl)."""

    type: Literal["compose"]
    compose: dict[str, Any] = Field(description="The Compose document; ${NAME} refers to env inputs")
    service: str = Field(description="The main service (the one with the web UI)")

    @model_validator(mode="after")
    def _service_exists(self) -> ComposeInstall:
        services = self.compose.get("services")
        if not isinstance(services, dict) or not services:
            raise ValueError("the compose document needs a non-empty 'services' mapping")
        if self.service not in services:
            raise ValueError(f"service {self.service!r} is not in the compose document")
        for name, service in services.items():
            if isinstance(service, dict) and service.get("network_mode") == "host":
                raise ValueError(f"service {name!r} uses host networking, which apps in the catalog must not")
        return self


class ScriptInstall(StrictModel):
    """A native install script run inside a plain OS container."""

    type: Literal["script"]
    os: Literal["debian", "ubuntu", "alpine"] = "debian"
    os_version: str = "13"
    script: str = Field(min_length=1)
    service: str | None = Field(
        default=None, pattern=SERVICE_NAME, description="The systemd/openrc service the script installs"
    )


InstallMethod = Annotated[OciInstall | ComposeInstall | ScriptInstall, Field(discriminator="type")]


class Note(StrictModel):
    level: Literal["info", "warning"] = "info"
    text: str


class Origin(StrictModel):
    """Where an imported entry came from, so a reviewer can trace every converted fact back."""

    importer: Literal["helper-scripts", "portainer"]
    reference: str = Field(min_length=1, description="The upstream file/template this entry was made from")
    upstream_id: str | None = None
    maintainer: str | None = None


class CatalogEntry(StrictModel):
    id: str = Field(pattern=APP_ID)
    name: str = Field(min_length=1, max_length=80)
    version: str = Field(min_length=1, description="Upstream app version this entry installs")
    summary: str = Field(min_length=1, max_length=200)
    description: str = ""
    categories: list[Category] = Field(min_length=1)
    tags: list[str] = []
    website: HttpUrl
    source: HttpUrl | None = None
    license: str
    icon: Icon
    architectures: list[Literal["amd64", "arm64", "armhf"]] = ["amd64"]
    install: list[InstallMethod] = Field(min_length=1, description="In order of preference")
    ports: list[Port] = []
    volumes: list[Volume] = []
    env: list[EnvInput] = []
    resources: Resources
    requirements: Requirements = Requirements()
    healthcheck: HealthCheck | None = None
    update: UpdateStrategy
    credentials: Credentials = Credentials(policy="none")
    notes: list[Note] = []
    stateless: bool = Field(
        default=False, description="The app keeps no data worth keeping, so it needs no persistent volumes"
    )
    origin: Origin | None = Field(
        default=None, description="Set by importers; absent on hand-written entries"
    )

    @model_validator(mode="after")
    def _consistent(self) -> CatalogEntry:
        port_names = [p.name for p in self.ports]
        if len(set(port_names)) != len(port_names):
            raise ValueError("port names must be unique")
        if sum(p.web_ui for p in self.ports) > 1:
            raise ValueError("at most one port can be the web UI")
        if self.healthcheck and self.healthcheck.port not in port_names:
            raise ValueError(f"healthcheck port {self.healthcheck.port!r} is not one of the ports")
        env_names = [e.name for e in self.env]
        if len(set(env_names)) != len(env_names):
            raise ValueError("env input names must be unique")
        if self.credentials.password_input and self.credentials.password_input not in env_names:
            raise ValueError(
                f"credentials.password_input {self.credentials.password_input!r} is not an env input"
            )
        if any(m.type == "compose" for m in self.install) and not self.requirements.nesting:
            raise ValueError("Docker Compose inside LXC needs requirements.nesting: true")
        return self

    @field_validator("tags")
    @classmethod
    def _tags(cls, tags: list[str]) -> list[str]:
        for tag in tags:
            if not re.fullmatch(r"[a-z0-9][a-z0-9+.-]*", tag):
                raise ValueError(f"tag {tag!r} must be lower-case letters, digits, '+', '.', '-'")
        return tags

    @property
    def web_port(self) -> Port | None:
        return next((p for p in self.ports if p.web_ui), None)
