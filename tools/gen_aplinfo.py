"""Generate ``proximity/sim/data/aplinfo.json`` from the real appliance index.

Usage: ``python tools/gen_aplinfo.py [../shared/pve-api/aplinfo-pve-9.dat]``

The parsing itself lives in ``proximity.sim.aplinfo`` (the simulator uses it at start when ``../shared`` is
present); this script writes the committed copy the simulator falls back on.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from proximity.sim.aplinfo import PARSED_COPY, SHARED_INDEX, parse_index


def main(argv: list[str]) -> int:
    source = Path(argv[1]) if len(argv) > 1 else SHARED_INDEX
    appliances = parse_index(source.read_text(encoding="utf-8"))
    PARSED_COPY.write_text(json.dumps(appliances, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    print(f"wrote {len(appliances)} appliances to {PARSED_COPY}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
