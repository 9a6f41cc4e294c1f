"""Reading the audit log back, for verification and for a learner's own view."""

from collections.abc import Sequence

import asyncpg

from hub.ports import AuditEntry

_COLUMNS = (
    "at, recipient, uln, what, purpose, decision, reason, fields, correlation_id, agreement_id, agreement_version, "
    "consent_version"
)


def _entry(r: asyncpg.Record) -> AuditEntry:
    return AuditEntry(
        at=r["at"],
        recipient=r["recipient"],
        uln=r["uln"],
        what=r["what"],
        purpose=r["purpose"],
        decision=r["decision"],
        reason=r["reason"],
        fields=tuple(r["fields"]),
        correlation_id=r["correlation_id"],
        agreement_id=r["agreement_id"],
        agreement_version=r["agreement_version"],
        consent_version=r["consent_version"],
    )


async def read_chain(conn: asyncpg.Connection) -> list[tuple[AuditEntry, str]]:
    """Every entry with its stored hash, in chain order."""
    rows = await conn.fetch(f"SELECT {_COLUMNS}, hash FROM audit_log ORDER BY seq")
    return [(_entry(r), r["hash"]) for r in rows]


async def entries_about(conn: asyncpg.Connection, ulns: Sequence[str]) -> list[AuditEntry]:
    """Every entry about these learners, in chain order."""
    rows = await conn.fetch(f"SELECT {_COLUMNS} FROM audit_log WHERE uln = ANY($1::bpchar[]) ORDER BY seq", list(ulns))
    return [_entry(r) for r in rows]
