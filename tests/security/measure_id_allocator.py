"""Choosing unique catalog ids for an import, before and after the fix: seconds to import a Portainer
file of N templates that all share one title (each needs its own ``-N`` suffix).

    .venv/bin/python -m tests.security.measure_id_allocator 8000

The "before" allocator is the earlier algorithm, kept here only to measure it: it searched for a free
suffix from 2 every time, so N apps of one name cost N²/2 look-ups.
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from pathlib import Path

from proximity.catalog.importers import common, portainer


class QuadraticAllocator(common.IdAllocator):
    def allocate(self, wanted: str, info_assumed: list[str]) -> str:
        base = common.slugify(wanted) or "app"
        candidate, number = base, 2
        while candidate in self._taken:
            candidate = f"{base[:58]}-{number}"
            number += 1
        self._taken.add(candidate)
        return candidate


def seconds_to_import(path: Path, allocator: type[common.IdAllocator]) -> float:
    original = portainer.IdAllocator
    portainer.IdAllocator = allocator  # type: ignore[misc]
    try:
        started = time.perf_counter()
        portainer.import_portainer(path)
        return time.perf_counter() - started
    finally:
        portainer.IdAllocator = original  # type: ignore[misc]


def main(count: int) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "templates.json"
        template = {"type": 1, "title": "x" * 900, "image": "nginx:1", "description": "y" * 900}
        path.write_text(json.dumps({"version": "2", "templates": [template] * count}))
        now = seconds_to_import(path, common.IdAllocator)
        before = seconds_to_import(path, QuadraticAllocator)
    print(f"{count} templates of one title: {before:.1f} s before, {now:.1f} s now")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 8000)
