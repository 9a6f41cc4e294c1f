"""The audit log's keyed hash chain: each entry's hash is an HMAC of its content and the
previous hash, under a key the hub holds and the database never does. Changing, deleting or
reordering any entry breaks every hash after it, and nobody without the key, whatever they
can write to the database, can recompute them or append an entry that verifies.

Entries written before the chain was keyed hold a plain SHA-256 (key id None), which anyone
can compute: they verify only as the log's first entries and only as far as an anchor taken
outside the database vouches for them; the first keyed entry seals them in, since its HMAC
covers their last hash.
"""

import hashlib
import hmac
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, fields

from hub.kernel.errors import HubError
from hub.kernel.ports import AuditEntry

GENESIS_HASH = "0" * 64
MIN_AUDIT_KEY_LENGTH = 32
# Fields added to entries after the chain began: hashed only when set, so that entries written
# before they existed still verify.
_LATER_FIELDS = frozenset({"agreement_id", "agreement_version", "consent_version"})
_KEY_ID_LABEL = b"lrs audit chain key id"


class WeakAuditKeyError(HubError):
    """Raised when the audit chain would be keyed with a key that is unset or short."""


def require_strong_audit_key(key: str) -> None:
    """Refuse an audit key with which anyone could forge the chain."""
    if len(key) < MIN_AUDIT_KEY_LENGTH:
        raise WeakAuditKeyError(
            f"LRS_AUDIT_KEY must be a secret of at least {MIN_AUDIT_KEY_LENGTH} characters (e.g. `openssl rand "
            "-hex 32`), kept outside the database: the audit log's hash chain is keyed with it"
        )


def _canonical(entry: AuditEntry) -> str:
    content = {f.name: getattr(entry, f.name) for f in fields(entry)}  # asdict deep-copies: slow
    for name in _LATER_FIELDS:
        if content[name] is None:
            del content[name]
    content["at"] = entry.at.isoformat()
    content["fields"] = list(entry.fields)
    return json.dumps(content, sort_keys=True, separators=(",", ":"))


def unkeyed_hash(previous_hash: str, entry: AuditEntry) -> str:
    """The plain SHA-256 link of entries written before the chain was keyed."""
    return hashlib.sha256((previous_hash + _canonical(entry)).encode()).hexdigest()


class ChainKey:
    """One key of the chain's HMAC; its id (stored beside each entry) names it and reveals nothing of it."""

    def __init__(self, key: str) -> None:
        require_strong_audit_key(key)
        self._secret = key.encode()
        self.key_id = hmac.new(self._secret, _KEY_ID_LABEL, hashlib.sha256).hexdigest()[:16]

    def link(self, previous_hash: str, entry: AuditEntry) -> str:
        """Hash an entry chained to its predecessor's hash."""
        return hmac.new(self._secret, (previous_hash + _canonical(entry)).encode(), hashlib.sha256).hexdigest()


class ChainKeys:
    """The key the hub appends under, and the keys it replaced, which still verify older entries."""

    def __init__(self, current: str, retired: Sequence[str] = ()) -> None:
        self.current = ChainKey(current)
        self.by_id: Mapping[str, ChainKey] = {k.key_id: k for k in [*(ChainKey(r) for r in retired), self.current]}


@dataclass(frozen=True)
class LinkedEntry:
    """An entry as stored: its hash and the id of the key it was hashed under (None: before keying)."""

    entry: AuditEntry
    hash: str
    key_id: str | None


@dataclass(frozen=True)
class ChainBreak:
    """Where the chain stops verifying (0-based index) and why."""

    index: int
    reason: str


def first_broken_link(chain: Iterable[LinkedEntry], keys: ChainKeys, vouched: int = 0) -> ChainBreak | None:
    """The first entry whose stored hash does not verify, or None if all do.

    `vouched`: how many first entries an anchor kept outside the database covers (checked by
    `anchor_broken`); only those may be unkeyed, since a plain hash proves nothing by itself.
    """
    previous, keyed = GENESIS_HASH, False
    for index, linked in enumerate(chain):
        if linked.key_id is None:
            if keyed:  # a plain hash anyone can compute, after the chain was keyed: a forgery
                return ChainBreak(index, "an unkeyed entry after the chain was keyed (appended without the key)")
            if index >= vouched:
                return ChainBreak(
                    index, "an unkeyed entry no anchor vouches for (written or rewritten without the key)"
                )
            expected = unkeyed_hash(previous, linked.entry)
        else:
            key = keys.by_id.get(linked.key_id)
            if key is None:
                return ChainBreak(
                    index,
                    f"keyed under {linked.key_id}, which is neither LRS_AUDIT_KEY nor one of LRS_AUDIT_RETIRED_KEYS",
                )
            keyed, expected = True, key.link(previous, linked.entry)
        if not hmac.compare_digest(expected, linked.hash):
            return ChainBreak(index, "changed, deleted, reordered or appended without the key")
        previous = linked.hash
    return None


@dataclass(frozen=True)
class ChainHead:
    """The chain's length and last hash at one moment: an anchor, or a head the hub published."""

    entries: int
    hash: str


def anchor_broken(stored_hashes: Sequence[str], anchor: ChainHead) -> str | None:
    """Why the chain no longer holds a head taken earlier (its length and last hash), or None.

    A hash chain alone cannot show that its last entries were cut off; a head kept elsewhere
    (an anchor file, the heads the hub publishes) can.
    """
    if len(stored_hashes) < anchor.entries:
        return f"the log has {len(stored_hashes)} entries; it had {anchor.entries} when anchored"
    if anchor.entries and stored_hashes[anchor.entries - 1] != anchor.hash:
        return f"entry {anchor.entries} is not the one anchored"
    return None
