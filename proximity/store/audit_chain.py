"""The audit log's hash chain: each entry carries the SHA-256 of the entry before it and its own hash over a
canonical serialisation of its fields, so an entry edited, inserted or removed behind the store's back
(triggers dropped, the file's bytes changed) breaks the chain at that entry or the one after it.

What a chain alone cannot show is a cut tail: drop the last entries and what is left is still a valid
chain. An *anchor* (``<count>:<hash of entry count>``, printed by ``proximity audit verify``) kept somewhere
else closes that gap: a later check proves the log still holds that prefix, unchanged.
"""

from __future__ import annotations

import hashlib
import json
import re
import sqlite3
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

GENESIS = "0" * 64
HASHED_FIELDS = ("id", "time", "who", "front_end", "action", "target", "outcome")
ANCHOR_PATTERN = re.compile(r"^(\d+):([0-9a-f]{64})$")


def entry_hash(fields: Sequence[object], prev_hash: str) -> str:
    """SHA-256 over the JSON array of the entry's fields (``HASHED_FIELDS`` order) and the previous hash."""
    canonical = json.dumps([*fields, prev_hash], ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class ChainAnchor:
    """A point of the chain remembered elsewhere: the entry count then and the hash of the last entry."""

    count: int
    head_hash: str

    @classmethod
    def parse(cls, text: str) -> ChainAnchor:
        from proximity.errors import ValidationError

        found = ANCHOR_PATTERN.match(text.strip().lower())
        if not found or int(found.group(1)) < 1:
            raise ValidationError(
                "an anchor reads <count>:<64 hex digits>, as printed by 'proximity audit verify'"
            )
        return cls(int(found.group(1)), found.group(2))

    def __str__(self) -> str:
        return f"{self.count}:{self.head_hash}"


@dataclass(frozen=True)
class ChainReport:
    entries: int
    intact: bool
    head_hash: str  # hash of the last entry checked (GENESIS for an empty log)
    broken_id: int | None = None  # the first entry whose link or hash is wrong
    reason: str = ""

    @property
    def anchor(self) -> ChainAnchor | None:
        return ChainAnchor(self.entries, self.head_hash) if self.intact and self.entries else None

    def describe(self) -> str:
        if self.intact:
            return f"{self.entries} entries, chain intact"
        where = f"entry {self.broken_id}" if self.broken_id is not None else "the log"
        return f"chain broken at {where}: {self.reason}"


def verify_rows(
    rows: Iterable[sqlite3.Row | tuple[object, ...]], anchor: ChainAnchor | None = None
) -> ChainReport:
    """Check rows of (``HASHED_FIELDS``..., prev_hash, hash) in id order; stop at the first break."""
    expected_prev = GENESIS
    count = 0
    anchor_seen = anchor is None
    for row in rows:
        *fields, prev_hash, stored_hash = tuple(row)
        entry_id = int(fields[0])  # type: ignore[call-overload]
        count += 1
        if prev_hash != expected_prev:
            reason = (
                "it does not link to the entry before it (an entry was removed, inserted or re-chained)"
                if prev_hash
                else "it has no chain link (written around the store)"
            )
            return ChainReport(count - 1, False, expected_prev, entry_id, reason)
        if entry_hash(fields, prev_hash) != stored_hash:
            return ChainReport(
                count - 1, False, expected_prev, entry_id, "its content does not match its hash (edited)"
            )
        if anchor is not None and count == anchor.count:
            if stored_hash != anchor.head_hash:
                return ChainReport(
                    count, False, stored_hash, entry_id, f"it differs from the anchor {anchor}"
                )
            anchor_seen = True
        expected_prev = stored_hash
    if not anchor_seen:
        assert anchor is not None
        return ChainReport(
            count,
            False,
            expected_prev,
            None,
            f"the anchor expects at least {anchor.count} entries, found {count} (tail cut)",
        )
    return ChainReport(count, True, expected_prev)
