"""The outbox relay: publishes committed outbox rows, then marks them sent.

Publisher confirms, persistent messages, `message_id` = the outbox row id (stable across
every retry), and `mandatory` with returns raised for organisations' answers, so an answer
that no queue would take stays in the outbox instead of vanishing. A row is marked sent only
after its confirm, so a crash re-publishes (at least once; consumers dedupe on message_id);
marking it sent also drops its body, which carries learner data and is never read again.

Two paths share this: right after a unit of work commits, its rows are published at once
(`publish_committed`, no database round trip before the publish); and a sweep every second
claims, with SKIP LOCKED, rows still unsent after a grace period: those whose immediate
publish failed, or whose process died before it. A row can then go out twice, never zero
times.
"""

import asyncio
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import aio_pika
import asyncpg
import structlog
from aio_pika.abc import AbstractChannel, AbstractExchange
from aiormq.exceptions import DeliveryError

from adapters.postgres.connection import AnyConnection
from hub.pipeline.routing import OUTBOUND_EXCHANGE

log = structlog.get_logger("lrs.relay")
MAX_ATTEMPTS = 20  # refusals by the broker; then the row is left for an operator (attempts, last_error)
_SWEEP_EVERY_S = 1.0
_GRACE_S = 5.0  # a row younger than this is still being published by the process that wrote it


@dataclass(frozen=True)
class OutboxRow:
    """A committed outbox row, as written (body and headers are JSON text)."""

    id: Any  # uuid.UUID
    exchange: str
    routing_key: str
    message_type: str
    correlation_id: str | None
    headers: str
    body: str
    created_at: datetime | None = None


class OutboxRelay:
    def __init__(self, pool: asyncpg.Pool, channel: AbstractChannel, hub_user: str, batch_size: int) -> None:
        self._pool = pool
        self._channel = channel
        self._hub_user = hub_user
        self._batch_size = batch_size
        self._exchanges: dict[str, AbstractExchange] = {}
        self._in_flight: set[asyncio.Task[None]] = set()

    def committed(self, rows: Sequence[OutboxRow]) -> None:
        """Publish rows a unit of work just committed, in the background (a commit hook)."""
        task = asyncio.create_task(self.publish_committed(rows))
        self._in_flight.add(task)
        task.add_done_callback(self._in_flight.discard)

    async def publish_committed(self, rows: Sequence[OutboxRow]) -> None:
        try:
            await self._publish_and_mark(self._pool, rows)
        except Exception as e:  # noqa: BLE001 - the rows stay unsent: the sweep publishes them after the grace period
            log.warning("immediate publish failed, the sweep will retry", error=type(e).__name__)

    async def run(self) -> None:
        """Sweep for unsent rows until cancelled; on cancel, finish the immediate publishes."""
        try:
            while True:
                try:
                    swept = await self.sweep_once(_GRACE_S)
                except Exception as e:  # noqa: BLE001 - whatever failed, the sweep must go on
                    log.warning("relay sweep failed, will retry", error=type(e).__name__, detail=str(e)[:200])
                    swept = 0
                if swept < self._batch_size:
                    await asyncio.sleep(_SWEEP_EVERY_S)
        finally:
            await asyncio.gather(*self._in_flight, return_exceptions=True)

    async def sweep_once(self, min_age_s: float = 0) -> int:
        """Publish one batch of unsent rows at least `min_age_s` old; return how many were confirmed."""
        async with self._pool.acquire() as conn, conn.transaction():
            records = await conn.fetch(
                """
                SELECT id, exchange, routing_key, message_type, correlation_id, headers, body, created_at
                FROM outbox
                WHERE sent_at IS NULL AND attempts < $1 AND created_at < clock_timestamp() - make_interval(secs => $3)
                ORDER BY created_at LIMIT $2 FOR UPDATE SKIP LOCKED
                """,
                MAX_ATTEMPTS,
                self._batch_size,
                min_age_s,
            )
            return await self._publish_and_mark(conn, [OutboxRow(**dict(r)) for r in records])

    async def _publish_and_mark(self, db: asyncpg.Pool | AnyConnection, rows: Sequence[OutboxRow]) -> int:
        if not rows:
            return 0
        results = await asyncio.gather(*(self._publish(r) for r in rows), return_exceptions=True)
        outcomes = list(zip(rows, results, strict=True))
        sent = [r.id for r, res in outcomes if res is None]
        # Only the broker's refusal of the message itself (a nack, a return: no queue takes it)
        # uses up an attempt. A broker away (a closed channel, a lost connection) says nothing of
        # the row: it is retried by the sweep for as long as that lasts, never given up on.
        refused = [(r.id, repr(res)[:500]) for r, res in outcomes if isinstance(res, DeliveryError)]
        away = [
            (r.id, repr(res)[:500]) for r, res in outcomes if res is not None and not isinstance(res, DeliveryError)
        ]
        if sent:
            # A confirmed body is never read again, and it holds learner data: it goes at once;
            # the row stays, for an operator, until retention prunes it.
            await db.execute("UPDATE outbox SET sent_at = now(), body = NULL WHERE id = ANY($1::uuid[])", sent)
        if refused:
            await db.executemany("UPDATE outbox SET attempts = attempts + 1, last_error = $2 WHERE id = $1", refused)
            log.warning("outbox rows refused by the broker", count=len(refused), first_error=refused[0][1])
        if away:
            await db.executemany("UPDATE outbox SET last_error = $2 WHERE id = $1", away)
            log.warning("outbox rows not published, the broker is away", count=len(away), first_error=away[0][1])
        return len(sent)

    async def _exchange(self, name: str) -> AbstractExchange:
        if name not in self._exchanges:
            self._exchanges[name] = await self._channel.get_exchange(name, ensure=False)
        return self._exchanges[name]

    async def _publish(self, row: OutboxRow) -> None:
        exchange = await self._exchange(row.exchange)
        message = aio_pika.Message(
            body=row.body.encode(),
            content_type="application/json",
            message_id=str(row.id),
            correlation_id=row.correlation_id,
            type=row.message_type,
            headers=json.loads(row.headers),
            timestamp=row.created_at or datetime.now(UTC),
            user_id=self._hub_user,
            app_id="lrs-hub",
            delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
        )
        # An answer must reach its organisation's queue; the hub's events may have no
        # subscriber yet, which is not an error.
        await exchange.publish(message, routing_key=row.routing_key, mandatory=row.exchange == OUTBOUND_EXCHANGE)
