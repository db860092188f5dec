"""Where Proximity keeps its state, and the defaults a deploy uses (the Settings page edits them).

The state directory is chosen by ``--db`` / ``PROXIMITY_HOME`` (default ``~/.proximity``). It holds the
SQLite database (``proximity.db``) and the owner-only secrets file (``secrets.json``).
"""

from __future__ import annotations

import os
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

ENV_HOME = "PROXIMITY_HOME"
DB_FILE = "proximity.db"
SECRETS_FILE = "secrets.json"


def state_dir(explicit: str | os.PathLike[str] | None = None) -> Path:
    """The state directory: the explicit path, else ``$PROXIMITY_HOME``, else ``~/.proximity``.

    An explicit path ending in ``.db`` names the database file itself; its folder is the state dir.
    """
    raw = explicit if explicit is not None else os.environ.get(ENV_HOME)
    path = Path(raw).expanduser() if raw else Path.home() / ".proximity"
    if path.suffix == ".db":
        path = path.parent
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    return path


class Settings(BaseModel):
    """Deploy defaults. ``None`` means "use the catalog entry's recommendation" or "find it"."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)

    cores: int | None = Field(default=None, ge=1, le=128, description="Cores for new apps")
    memory_mb: int | None = Field(default=None, ge=64, description="Memory for new apps")
    disk_gb: int | None = Field(default=None, ge=1, description="Root disk for new apps")
    swap_mb: int = Field(default=512, ge=0)
    storage: str | None = Field(default=None, description="Storage for root disks (None: most free space)")
    backup_storage: str | None = Field(default=None, description="Storage for backups (None: found)")
    bridge: str = Field(default="vmbr0", pattern=r"^[-_.\w]+$")
    template: str = Field(default="debian-13-standard", description="Template name prefix for new CTs")
    unprivileged: bool = True
    install_method: str | None = Field(
        default=None, description="Preferred install method: oci/compose/script"
    )
    health_timeout_s: int | None = Field(default=None, ge=1, le=3600)
    task_timeout_s: int = Field(default=900, ge=1)
    api_timeout_s: float = Field(default=15.0, gt=0, le=600, description="Seconds to wait for one API answer")
    max_jobs_per_node: int = Field(default=4, ge=1, le=64)
    retries: int = Field(default=4, ge=0, le=20)
