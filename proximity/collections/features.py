"""Container features and who may set them.

PVE lets only the user ``root@pam`` itself (password login; its API tokens are other identities) set any
feature but ``nesting`` through the API: anyone else gets 403 "changing feature flags (except nesting) is
only allowed for root@pam". So a CT is created with ``nesting`` alone and the root-only features
(``keyctl``, ``fuse``) are set over SSH with ``pct set``, which runs as root on the node.
"""

from __future__ import annotations

from proximity.collections.core import Core
from proximity.pve import props
from proximity.pve.ssh import pct

ROOT_ONLY = ("keyctl", "fuse")


def api_features(text: str | None) -> str | None:
    """The part of a ``features`` string any user with ``VM.Config.Options`` may set (``nesting``)."""
    wanted = _parse(text)
    return props.features(nesting=wanted.get("nesting") == "1")


def root_only_features(text: str | None) -> str | None:
    """The whole ``features`` string when it holds a root-only feature (to set with ``pct set``), else None."""
    wanted = _parse(text)
    return text if any(wanted.get(name) == "1" for name in ROOT_ONLY) else None


async def set_root_only_features(core: Core, host: str, node: str, vmid: int, features: str) -> None:
    shell = await core.shell(host, node)
    await shell.run(pct("set", vmid, "--features", features), what=f"pct set {vmid} --features {features}")


def _parse(text: str | None) -> dict[str, str]:
    return props.parse(text or "")
