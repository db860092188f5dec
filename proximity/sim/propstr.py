"""PVE property strings (``local-lvm:vm-100-disk-0,size=8G``, ``name=eth0,ip=dhcp``) and sizes."""

from __future__ import annotations

import re

MIB = 1024**2
GIB = 1024**3
_UNITS = {"": 1, "K": 1024, "M": 1024**2, "G": GIB, "T": 1024**4}
_SIZE = re.compile(r"^(\d+(?:\.\d+)?)([KMGT]?)$")


def parse_size(text: str, default_unit: str = "") -> int:
    """``8G`` -> bytes; a bare number uses ``default_unit`` (rootfs ``local-lvm:8`` means GiB)."""
    match = _SIZE.match(text.strip())
    if not match:
        raise ValueError(f"unable to parse size '{text}'")
    number, unit = match.groups()
    return int(float(number) * _UNITS[unit or default_unit])


def format_size(size: int) -> str:
    """Bytes -> the shortest exact PVE size string (``8G``, ``512M``)."""
    for unit in ("T", "G", "M", "K"):
        if size % _UNITS[unit] == 0:
            return f"{size // _UNITS[unit]}{unit}"
    return str(size)


def parse_propstr(text: str, default_key: str) -> dict[str, str]:
    """``local-lvm:8,mountoptions=noatime`` -> {default_key: 'local-lvm:8', 'mountoptions': 'noatime'}."""
    result: dict[str, str] = {}
    for part in text.split(","):
        if not part:
            continue
        if "=" in part:
            key, value = part.split("=", 1)
            result[key.strip()] = value.strip()
        else:
            result[default_key] = part.strip()
    return result


def format_propstr(values: dict[str, str], default_key: str) -> str:
    parts = [values[default_key]] if default_key in values else []
    parts += [f"{key}={value}" for key, value in values.items() if key != default_key]
    return ",".join(parts)


def split_volid(volid: str) -> tuple[str, str]:
    """``local:vztmpl/x.tar.zst`` -> ('local', 'vztmpl/x.tar.zst')."""
    if ":" not in volid:
        raise ValueError(f"unable to parse volume ID '{volid}'")
    storage, name = volid.split(":", 1)
    return storage, name
