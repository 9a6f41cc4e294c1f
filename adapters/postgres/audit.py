"""The audit log in PostgreSQL: the chain's keys, appending, and reading it back for
verification and for a learner's own view."""

from collections.abc import Sequence

import asyncpg

from adapters.postgres.connection import AnyConnection
from hub.kernel.audit import GENESIS_HASH, ChainHead, ChainKeys, LinkedEntry, require_strong_audit_key
from hub.kernel.ports import AuditEntry

CHAIN_LOCK = 7_411_001  # pg_advisory_xact_lock key serialising appends to the chain
_APPEND_COLUMNS = (
    "seq",
    "at",
    "recipient",
    "uln",
    "what",
    "purpose",
    "decision",
    "reason",
    "fields",
    "correlation_id",
    "agreement_id",
    "agreement_version",
    "consent_version",
    "prev_hash",
    "hash",
    "key_id",
)

_COLUMNS = (
    "at, recipient, uln, what, purpose, decision, reason, fields, correlation_id, agreement_id, agreement_version, "
    "consent_version"
)


def _entry(r: asyncpg.Record) -> AuditEntry:
    return AuditEntry.of(
        allowed=r["decision"] == "allowed",  # the table's CHECK admits only 'allowed' and 'refused'
        at=r["at"],
        recipient=r["recipient"],
        uln=r["uln"],
        what=r["what"],
        purpose=r["purpose"],
        reason=r["reason"],
        fields=tuple(r["fields"]),
        correlation_id=r["correlation_id"],
        agreement_id=r["agreement_id"],
        agreement_version=r["agreement_version"],
        consent_version=r["consent_version"],
    )


_process_keys: ChainKeys | None = None


def use_chain_keys(keys: ChainKeys) -> None:
    """Append to (and verify) the audit chain under `keys` from now on."""
    global _process_keys
    _process_keys = keys


def process_chain_keys() -> ChainKeys:
    """The keys set by `use_chain_keys`; WeakAuditKeyError when none were (no LRS_AUDIT_KEY)."""
    if _process_keys is None:
        require_strong_audit_key("")  # raises, saying what to set
    assert _process_keys is not None
    return _process_keys


async def append(conn: AnyConnection, entries: Sequence[AuditEntry], keys: ChainKeys) -> None:
    """Chain `entries` after the log's last, each hashed under the current key, in this transaction."""
    await conn.execute("SELECT pg_advisory_xact_lock($1)", CHAIN_LOCK)
    last = await conn.fetchrow("SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1")
    seq, previous = (last["seq"], last["hash"]) if last else (0, GENESIS_HASH)
    key = keys.current
    rows = []
    for entry in entries:
        seq += 1
        current = key.link(previous, entry)
        rows.append(
            (
                seq,
                entry.at,
                entry.recipient,
                entry.uln,
                entry.what,
                entry.purpose,
                entry.decision,
                entry.reason,
                list(entry.fields),
                entry.correlation_id,
                entry.agreement_id,
                entry.agreement_version,
                entry.consent_version,
                previous,
                current,
                key.key_id,
            )
        )
        previous = current
    # COPY: a bulk message's thousand receipts are a thousand entries, written in one go.
    await conn.copy_records_to_table("audit_log", records=rows, columns=_APPEND_COLUMNS)


async def read_chain(conn: AnyConnection) -> list[LinkedEntry]:
    """Every entry with its stored hash and key id, in chain order."""
    rows = await conn.fetch(f"SELECT {_COLUMNS}, hash, key_id FROM audit_log ORDER BY seq")
    return [LinkedEntry(_entry(r), r["hash"], r["key_id"]) for r in rows]


async def chain_head(conn: AnyConnection) -> ChainHead:
    """The chain's length and last hash now (seq counts from 1 with no gaps: nothing is deleted)."""
    last = await conn.fetchrow("SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1")
    return ChainHead(last["seq"], last["hash"]) if last else ChainHead(0, "")


async def entries_about(conn: AnyConnection, ulns: Sequence[str]) -> list[AuditEntry]:
    """Every entry about these learners, in chain order."""
    rows = await conn.fetch(f"SELECT {_COLUMNS} FROM audit_log WHERE uln = ANY($1::bpchar[]) ORDER BY seq", list(ulns))
    return [_entry(r) for r in rows]
