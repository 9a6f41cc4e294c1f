"""The audit log's hash chain: each entry's hash covers its content and the previous hash,
so changing, deleting or reordering any entry breaks every hash after it."""

import hashlib
import json
from collections.abc import Iterable
from dataclasses import fields

from hub.ports import AuditEntry

GENESIS_HASH = "0" * 64
# Fields added to entries after the chain began: hashed only when set, so that entries written
# before they existed still verify.
_LATER_FIELDS = frozenset({"agreement_id", "agreement_version", "consent_version"})


def entry_hash(previous_hash: str, entry: AuditEntry) -> str:
    """Hash an entry chained to its predecessor's hash."""
    content = {f.name: getattr(entry, f.name) for f in fields(entry)}  # asdict deep-copies: slow
    for name in _LATER_FIELDS:
        if content[name] is None:
            del content[name]
    content["at"] = entry.at.isoformat()
    content["fields"] = list(entry.fields)
    canonical = json.dumps(content, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256((previous_hash + canonical).encode()).hexdigest()


def first_broken_link(chain: Iterable[tuple[AuditEntry, str]]) -> int | None:
    """Return the index of the first entry whose stored hash does not verify, or None if all do."""
    previous = GENESIS_HASH
    for index, (entry, stored) in enumerate(chain):
        if entry_hash(previous, entry) != stored:
            return index
        previous = stored
    return None


def anchor_broken(stored_hashes: list[str], anchored_count: int, anchored_hash: str) -> str | None:
    """Why the chain no longer holds an anchor taken earlier (its length and last hash), or None.

    A hash chain alone cannot show that its last entries were cut off; an anchor kept elsewhere
    (`hub audit verify --anchor FILE`) can.
    """
    if len(stored_hashes) < anchored_count:
        return f"the log has {len(stored_hashes)} entries; it had {anchored_count} when anchored"
    if anchored_count and stored_hashes[anchored_count - 1] != anchored_hash:
        return f"entry {anchored_count} is not the one anchored"
    return None
