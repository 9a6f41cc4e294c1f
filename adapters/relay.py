"""The outbox relay: publishes committed outbox rows, then marks them sent.

Publisher confirms, persistent messages, `message_id` = the outbox row id (stable across
every retry), and `mandatory` with returns raised for organisations' answers, so an answer
that no queue would take stays in the outbox instead of vanishing. A row is marked sent only
after its confirm, so a crash re-publishes (at least once; consumers dedupe on message_id).
Several hub processes may relay at once: rows are claimed with SKIP LOCKED.
"""

import asyncio
import json
from datetime import UTC, datetime
from typing import Any

import aio_pika
import asyncpg
import structlog
from aio_pika.abc import AbstractChannel, AbstractExchange

from hub.routing import OUTBOUND_EXCHANGE

log = structlog.get_logger("lrs.relay")
MAX_ATTEMPTS = 20  # then the row is left for an operator (`hub outbox stuck`)
_IDLE_POLL_S = 1.0


class OutboxRelay:
    def __init__(self, pool: asyncpg.Pool, channel: AbstractChannel, hub_user: str, batch_size: int) -> None:
        self._pool = pool
        self._channel = channel
        self._hub_user = hub_user
        self._batch_size = batch_size
        self._wake = asyncio.Event()
        self._exchanges: dict[str, AbstractExchange] = {}

    def wake(self, *_: Any) -> None:
        self._wake.set()

    async def run(self) -> None:
        """Relay until cancelled; woken by NOTIFY outbox, polling as a fallback."""
        listener = await self._pool.acquire()
        await listener.add_listener("outbox", self.wake)
        try:
            while True:
                # Cleared before the pass: a commit that notifies during it wakes the next one.
                self._wake.clear()
                try:
                    sent = await self.relay_once()
                except (OSError, asyncpg.PostgresError, aio_pika.exceptions.AMQPError) as e:
                    log.warning("relay pass failed, will retry", error=type(e).__name__, detail=str(e)[:200])
                    sent = 0
                    await asyncio.sleep(_IDLE_POLL_S)
                if sent < self._batch_size:
                    try:
                        await asyncio.wait_for(self._wake.wait(), _IDLE_POLL_S)
                    except TimeoutError:
                        pass
        finally:
            await listener.remove_listener("outbox", self.wake)
            await self._pool.release(listener)

    async def relay_once(self) -> int:
        """Publish one batch of unsent rows; return how many were confirmed."""
        async with self._pool.acquire() as conn, conn.transaction():
            rows = await conn.fetch(
                """
                SELECT id, exchange, routing_key, message_type, correlation_id, headers, body, created_at
                FROM outbox WHERE sent_at IS NULL AND attempts < $1
                ORDER BY created_at LIMIT $2 FOR UPDATE SKIP LOCKED
                """,
                MAX_ATTEMPTS,
                self._batch_size,
            )
            if not rows:
                return 0
            results = await asyncio.gather(*(self._publish(r) for r in rows), return_exceptions=True)
            sent = [r["id"] for r, res in zip(rows, results, strict=True) if res is None]
            failed = [(r["id"], repr(res)[:500]) for r, res in zip(rows, results, strict=True) if res is not None]
            if sent:
                await conn.execute("UPDATE outbox SET sent_at = now() WHERE id = ANY($1::uuid[])", sent)
            if failed:
                await conn.executemany(
                    "UPDATE outbox SET attempts = attempts + 1, last_error = $2 WHERE id = $1", failed
                )
                log.warning("outbox rows not confirmed", count=len(failed), first_error=failed[0][1])
            return len(sent)

    async def _exchange(self, name: str) -> AbstractExchange:
        if name not in self._exchanges:
            self._exchanges[name] = await self._channel.get_exchange(name, ensure=False)
        return self._exchanges[name]

    async def _publish(self, row: asyncpg.Record) -> None:
        exchange = await self._exchange(row["exchange"])
        message = aio_pika.Message(
            body=row["body"].encode(),
            content_type="application/json",
            message_id=str(row["id"]),
            correlation_id=row["correlation_id"],
            type=row["message_type"],
            headers=json.loads(row["headers"]),
            timestamp=row["created_at"] or datetime.now(UTC),
            user_id=self._hub_user,
            app_id="lrs-hub",
            delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
        )
        # An answer must reach its organisation's queue; the hub's events may have no
        # subscriber yet, which is not an error.
        await exchange.publish(message, routing_key=row["routing_key"], mandatory=row["exchange"] == OUTBOUND_EXCHANGE)
