"""The dead-letter index: what `lrs.dead` holds, without reading it.

Every read of a quorum queue is a delivery: `basic.get` and a requeue, or a consumer whose
channel closes, raise the message's `x-delivery-count` (RabbitMQ 3.10 counts every return),
and a queue that is read to find one message is read up to it. So the hub writes one row
per dead letter here when it dead-letters (beside the quota, adapters/rabbit/consumer.py),
and `hub dead list` reads only this; `hub dead replay` looks the id up here first.

A row holds no learner data: the broker-validated sender, the message id and type, the
reason, the size and when it was first and last seen. Rows go with the letters' expiry
(adapters/retention.py); before a letter expires the hub warns (`warn_of_expiry`).
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

import asyncpg
import structlog

log = structlog.get_logger("lrs.dead_letters")


@dataclass(frozen=True)
class IndexedLetter:
    """One dead letter as the index knows it (several copies with one id share a row)."""

    sender: str  # '' when no user_id was validated
    message_id: str
    message_type: str | None
    consumer: str
    reason: str
    size: int
    copies: int
    first_seen_at: datetime
    last_seen_at: datetime


@dataclass(frozen=True)
class Ageing:
    """How old the indexed dead letters are: `old` of `total` are past the warning age."""

    total: int
    old: int
    oldest_at: datetime | None


def indexable(value: str | None) -> str:
    """An id as the index keeps it: one that is not printable ASCII is escaped (PostgreSQL
    refuses NUL in text, and an operator must be able to type it back)."""
    if value is None:
        return ""
    return value if value.isascii() and value.isprintable() else ascii(value)[:300]


_COLUMNS = "sender, message_id, message_type, consumer, reason, size, copies, first_seen_at, last_seen_at"


class DeadLetterIndex:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def record(
        self,
        *,
        sender: str | None,
        message_id: str | None,
        message_type: str | None,
        consumer: str,
        reason: str,
        size: int,
    ) -> None:
        """Index one dead letter the hub is about to keep (again: a copy with a known id adds a copy)."""
        await self._pool.execute(
            """
            INSERT INTO dead_letter AS d (sender, message_id, message_type, consumer, reason, size)
                VALUES ($1, $2, $3, $4, $5, $6)
            ON CONFLICT (sender, message_id) DO UPDATE
                SET copies = d.copies + 1, last_seen_at = now(), reason = EXCLUDED.reason
            """,
            sender or "",
            indexable(message_id),
            indexable(message_type)[:255] or None,
            consumer,
            reason[:1000],
            size,
        )

    async def add_missing(self, letter: IndexedLetter) -> bool:
        """Index a letter found in the queue that the index lacks; True if it was missing."""
        status = await self._pool.execute(
            f"INSERT INTO dead_letter ({_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"
            " ON CONFLICT (sender, message_id) DO NOTHING",
            letter.sender,
            indexable(letter.message_id),
            letter.message_type,
            letter.consumer,
            letter.reason[:1000],
            letter.size,
            letter.copies,
            letter.first_seen_at,
            letter.last_seen_at,
        )
        return bool(status == "INSERT 0 1")

    async def find(self, message_id: str) -> list[IndexedLetter]:
        """Every indexed letter with this id (one per sender)."""
        rows = await self._pool.fetch(
            f"SELECT {_COLUMNS} FROM dead_letter WHERE message_id = $1 ORDER BY sender", message_id
        )
        return [IndexedLetter(*r) for r in rows]

    async def list(self, limit: int) -> list[IndexedLetter]:
        """The indexed letters that expire first."""
        rows = await self._pool.fetch(
            f"SELECT {_COLUMNS} FROM dead_letter ORDER BY first_seen_at, sender, message_id LIMIT $1", limit
        )
        return [IndexedLetter(*r) for r in rows]

    async def holds(self, sender: str | None, message_id: str | None) -> bool:
        """True if a letter from `sender` with this id is indexed (kept already)."""
        found = await self._pool.fetchval(
            "SELECT 1 FROM dead_letter WHERE sender = $1 AND message_id = $2", sender or "", indexable(message_id)
        )
        return found is not None

    async def count(self) -> int:
        return int(await self._pool.fetchval("SELECT count(*) FROM dead_letter"))

    async def forget(self, sender: str, message_id: str) -> None:
        """Drop a letter's row (it was replayed: it left lrs.dead)."""
        await self._pool.execute("DELETE FROM dead_letter WHERE sender = $1 AND message_id = $2", sender, message_id)

    async def ageing(self, older_than: timedelta) -> Ageing:
        row = await self._pool.fetchrow(
            "SELECT count(*), count(*) FILTER (WHERE first_seen_at < now() - $1::interval), min(first_seen_at)"
            " FROM dead_letter",
            older_than,
        )
        assert row is not None
        return Ageing(row[0], row[1], row[2])


async def warn_of_expiry(index: DeadLetterIndex, warn_after: timedelta, keep: timedelta) -> Ageing | None:
    """Warn when dead letters are older than `warn_after`: they expire from lrs.dead at `keep`."""
    ageing = await index.ageing(warn_after)
    if not ageing.old or ageing.oldest_at is None:
        return None
    log.warning(
        "dead letters will expire: replay them, or read them (`hub dead list --peek`) before they go",
        older_than_days=warn_after.days,
        old_letters=ageing.old,
        letters=ageing.total,
        oldest_at=ageing.oldest_at.isoformat(),
        oldest_expires_at=(ageing.oldest_at + keep).isoformat(),
    )
    return ageing
