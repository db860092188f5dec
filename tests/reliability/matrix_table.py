"""Render the fault matrix's recorded outcomes as the Markdown table of docs/reliability.md."""

from __future__ import annotations

from tests.reliability.matrix_cells import KINDS, OPERATIONS

RETRIED_OK = "retried ✓"
ROLLED_BACK_OK = "rolled back ✓"
FAILED = "✗ failed"

# (fault kind, operation) -> what the cell showed this run: "retried ✓", "rolled back ✓", "✗ failed",
# "N/A: <reason>"
MATRIX_OUTCOMES: dict[tuple[str, str], str] = {}


def render(outcomes: dict[tuple[str, str], str]) -> str:
    """Rows: fault kinds; columns: operations. N/A cells point to numbered reasons under the table; a
    cell that did not run this time (deselected) reads "not run"."""
    reasons: list[str] = []

    def cell(value: str | None) -> str:
        if value is None:
            return "not run"
        if not value.startswith("N/A: "):
            return value
        reason = value.removeprefix("N/A: ")
        if reason not in reasons:
            reasons.append(reason)
        return f"N/A ({reasons.index(reason) + 1})"

    lines = [
        "| fault kind | " + " | ".join(OPERATIONS) + " |",
        "| --- | " + " | ".join("---" for _ in OPERATIONS) + " |",
    ]
    for kind in KINDS:
        lines.append(f"| {kind} | " + " | ".join(cell(outcomes.get((kind, op))) for op in OPERATIONS) + " |")
    lines.append("")
    lines += [f"({number}) {reason}" for number, reason in enumerate(reasons, start=1)]
    skipped = [v for v in outcomes.values() if v.startswith("N/A: ")]
    tried = len(outcomes) - len(skipped)
    retried = sum(v == RETRIED_OK for v in outcomes.values())
    rolled_back = sum(v == ROLLED_BACK_OK for v in outcomes.values())
    lines.append("")
    lines.append(
        f"Cells tried: {tried}; passed: {retried + rolled_back} ({retried} completed after retries, "
        f"{rolled_back} failed with the real cause and rolled back); failed: {tried - retried - rolled_back}; "
        f"not applicable: {len(skipped)}; not run: "
        f"{len(KINDS) * len(OPERATIONS) - len(outcomes)}."
    )
    return "\n".join(lines)
