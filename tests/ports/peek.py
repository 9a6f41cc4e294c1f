"""What the ports write but never read back (outbox, batch rows, registration overrides), read
straight from each backend: the fakes' committed state, or PostgreSQL's tables."""

import json
from typing import Protocol

import asyncpg

from hub.kernel.ports import BatchRowOutcome, OutboundMessage
from tests.unit.fakes import FakeUnitOfWorkFactory

Override = tuple[str, str, list[str]]  # (org_id, reason, candidate ULNs)


class Peek(Protocol):
    async def outbox(self, routing_key: str) -> list[OutboundMessage]:
        """The committed messages routed `routing_key`, sorted by message type then body."""
        ...

    async def batch_rows(self, batch_id: str) -> list[BatchRowOutcome]:
        """The committed outcomes of a batch's rows, by row number."""
        ...

    async def override(self, uln: str) -> Override | None: ...


def _sorted(messages: list[OutboundMessage]) -> list[OutboundMessage]:
    # The outbox promises no order among a transaction's messages (the relay publishes them at once).
    return sorted(messages, key=lambda m: (m.message_type, json.dumps(m.body, sort_keys=True)))


class FakePeek:
    def __init__(self, fakes: FakeUnitOfWorkFactory) -> None:
        self._state = fakes.state

    async def outbox(self, routing_key: str) -> list[OutboundMessage]:
        return _sorted([m for m in self._state.outbox if m.routing_key == routing_key])

    async def batch_rows(self, batch_id: str) -> list[BatchRowOutcome]:
        return sorted((r for r in self._state.batch_rows if r.batch_id == batch_id), key=lambda r: r.row_number)

    async def override(self, uln: str) -> Override | None:
        return self._state.overrides.get(uln)


class PostgresPeek:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def outbox(self, routing_key: str) -> list[OutboundMessage]:
        rows = await self._pool.fetch(
            "SELECT exchange, routing_key, message_type, body, correlation_id, headers FROM outbox"
            " WHERE routing_key = $1",
            routing_key,
        )
        return _sorted([OutboundMessage(r[0], r[1], r[2], json.loads(r[3]), r[4], json.loads(r[5])) for r in rows])

    async def batch_rows(self, batch_id: str) -> list[BatchRowOutcome]:
        rows = await self._pool.fetch(
            "SELECT b.batch_id, b.org_id, r.row_number, b.total_rows, r.return_code, r.response_code, r.uln,"
            " r.reason, r.mis_identifier FROM batch_row r JOIN batch b USING (batch_id)"
            " WHERE batch_id = $1 ORDER BY r.row_number",
            batch_id,
        )
        return [BatchRowOutcome(*r) for r in rows]

    async def override(self, uln: str) -> Override | None:
        row = await self._pool.fetchrow(
            "SELECT org_id, reason, candidate_ulns FROM registration_override WHERE uln = $1", uln
        )
        return (row[0], row[1], list(row[2])) if row else None
