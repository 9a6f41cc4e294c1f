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
