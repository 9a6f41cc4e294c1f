"""Reading the audit log back, for verification and for a learner's own view."""

import asyncpg

from hub.ports import AuditEntry


async def read_chain(conn: asyncpg.Connection) -> list[tuple[AuditEntry, str]]:
    """Every entry with its stored hash, in chain order."""
    rows = await conn.fetch(
        "SELECT at, recipient, uln, what, purpose, decision, reason, fields, correlation_id, hash "
        "FROM audit_log ORDER BY seq"
    )
    return [
        (
            AuditEntry(
                at=r["at"],
                recipient=r["recipient"],
                uln=r["uln"],
                what=r["what"],
                purpose=r["purpose"],
                decision=r["decision"],
                reason=r["reason"],
                fields=tuple(r["fields"]),
                correlation_id=r["correlation_id"],
            ),
            r["hash"],
        )
        for r in rows
    ]
