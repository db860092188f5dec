"""PVE property strings (``net0=...``, ``rootfs=...``, ``features=...``): built and parsed only here."""

from __future__ import annotations

import re

from proximity.errors import ValidationError

_SAFE = re.compile(r"^[-\w.:/@+]+$")


def _value(key: str, value: object) -> str:
    text = str(int(value)) if isinstance(value, bool) else str(value)
    if not _SAFE.match(text):
        raise ValidationError(f"unsafe value for {key!r} in a property string: {text!r}")
    return text


def build(first: str | None = None, **options: object) -> str:
    """``build("local-lvm:8", size=None)`` -> ``local-lvm:8``; keys with value None are left out."""
    parts = [first] if first else []
    parts += [
        f"{key.replace('_', '-')}={_value(key, value)}" for key, value in options.items() if value is not None
    ]
    return ",".join(parts)


def parse(text: str, first_key: str | None = None) -> dict[str, str]:
    """``"local-lvm:vm-100-disk-0,size=8G"`` -> ``{first_key: "local-lvm:vm-100-disk-0", "size": "8G"}``."""
    result: dict[str, str] = {}
    for index, part in enumerate(p for p in text.split(",") if p):
        if "=" in part:
            key, _, value = part.partition("=")
            result[key.strip()] = value.strip()
        elif index == 0 and first_key:
            result[first_key] = part.strip()
    return result


def net0(bridge: str, ip: str = "dhcp", firewall: bool = False) -> str:
    return build(name="eth0", bridge=bridge, ip=ip, firewall=firewall if firewall else None)


def rootfs(storage: str, size_gb: int) -> str:
    return f"{_value('storage', storage)}:{int(size_gb)}"


def features(*, nesting: bool = False, keyctl: bool = False, fuse: bool = False) -> str | None:
    """Only the features the app needs; None when it needs none."""
    text = build(
        nesting=True if nesting else None, keyctl=True if keyctl else None, fuse=True if fuse else None
    )
    return text or None


def size_gb(size: str) -> int:
    """``"8G"`` / ``"512M"`` / ``"1T"`` -> whole GiB (rounded up)."""
    match = re.fullmatch(r"(\d+(?:\.\d+)?)([KMGT]?)", size.strip())
    if not match:
        raise ValidationError(f"not a disk size: {size!r}")
    number, unit = float(match.group(1)), match.group(2) or "G"
    factor = {"K": 1 / (1024 * 1024), "M": 1 / 1024, "G": 1, "T": 1024}[unit]
    return max(1, int(-(-number * factor // 1)))
