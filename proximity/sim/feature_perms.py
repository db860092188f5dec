"""Who may change a container's ``features``: PVE's rule from pve-container's
``check_ct_modify_config_perm``.

Only the user ``root@pam`` itself (logged in with its password; an API token of root@pam is a different
identity) may change anything but ``nesting``; nobody else may touch the features of a privileged CT.
Everyone else needs ``VM.Config.Options`` to change ``nesting`` alone.
"""

from __future__ import annotations

from proximity.sim.errors import ApiError
from proximity.sim.propstr import parse_propstr

ROOT = "root@pam"
PRIVILEGED_MESSAGE = "changing feature flags for privileged container is only allowed for root@pam"
SIMULATED_FEATURES = frozenset({"nesting", "keyctl", "fuse", "mknod", "force_rw_sys"})
OTHER_MESSAGE = "changing feature flags (except nesting) is only allowed for root@pam"


def parse_features(text: str | None) -> dict[str, str]:
    return {k: v for k, v in parse_propstr(text or "", "_").items() if k != "_"}


def check_feature_change(
    caller: str, old: str | None, new: str | None, *, unprivileged: bool, deleting: bool = False
) -> bool:
    """Raise PVE's 403 when ``caller`` may not change ``features`` from ``old`` to ``new`` (or delete it).

    Returns whether ``nesting`` changed (the caller then also needs ``VM.Config.Options``)."""
    if caller == ROOT:
        return False
    if not unprivileged:
        raise ApiError(403, f"Permission check failed ({PRIVILEGED_MESSAGE})")
    current = parse_features(old)
    wanted = {} if deleting else parse_features(new)
    nesting_changed = current.get("nesting", "0") != wanted.get("nesting", "0")
    current.pop("nesting", None)
    wanted.pop("nesting", None)
    others = {k: v for k, v in current.items() if v not in ("0", "")}
    others_wanted = {k: v for k, v in wanted.items() if v not in ("0", "")}
    if others != others_wanted:
        raise ApiError(403, f"Permission check failed ({OTHER_MESSAGE})")
    return nesting_changed
