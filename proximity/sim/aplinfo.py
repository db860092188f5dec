"""The appliance (system template) index that ``GET /nodes/{node}/aplinfo`` answers with.

The index is a Debian-control-style file (``aplinfo-pve-9.dat``). PVE answers with one object per entry
that has a ``Type``: keys lower-cased, the first line of ``Description`` as ``headline``, the file name of
``Location`` as ``template`` and the download URL as ``source``. The simulator parses the real index from
``../shared/pve-api/`` when a checkout has it beside it, and otherwise uses the parsed copy committed in
``data/aplinfo.json`` (written by ``tools/gen_aplinfo.py``).
"""

from __future__ import annotations

import json
from pathlib import Path

MIRROR = "http://download.proxmox.com/images"
PARSED_COPY = Path(__file__).resolve().parent / "data" / "aplinfo.json"
SHARED_INDEX = Path(__file__).resolve().parents[3] / "shared" / "pve-api" / "aplinfo-pve-9.dat"


def parse_stanzas(text: str) -> list[dict[str, str]]:
    stanzas: list[dict[str, str]] = []
    current: dict[str, str] = {}
    last_key = ""
    for line in text.splitlines():
        if not line.strip():
            if current:
                stanzas.append(current)
            current, last_key = {}, ""
        elif line[0] in " \t" and last_key:
            current[last_key] += "\n" + line.strip()
        else:
            key, _, value = line.partition(":")
            last_key = key.strip().lower()
            current[last_key] = value.strip()
    if current:
        stanzas.append(current)
    return stanzas


def to_appliance(stanza: dict[str, str]) -> dict[str, str] | None:
    if "type" not in stanza or "location" not in stanza:
        return None  # the news entry has neither
    entry = dict(stanza)
    headline, _, rest = entry.pop("description", "").partition("\n")
    entry["headline"] = headline
    entry["description"] = rest or headline
    entry["template"] = entry["location"].rsplit("/", 1)[-1]
    entry["source"] = f"{MIRROR}/{entry['location']}"
    return entry


def parse_index(text: str) -> list[dict[str, str]]:
    return [a for a in map(to_appliance, parse_stanzas(text)) if a is not None]


def load_appliances() -> list[dict[str, str]]:
    """The real index from ``../shared`` when present, else the committed parsed copy."""
    if SHARED_INDEX.is_file():
        return parse_index(SHARED_INDEX.read_text(encoding="utf-8"))
    return list(json.loads(PARSED_COPY.read_text(encoding="utf-8")))
