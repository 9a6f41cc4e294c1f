"""How much each sender may leave in the dead letters a day.

Every refused message is answered to its sender and its reason kept in the inbox whatever
the quota; the quota bounds only the copies kept in `lrs.dead` (bodies and all), so that one
sender's flood of bad input cannot fill the broker's disk. Past it, the hub logs a warning
the first time each day and counts what it did not keep (`hub dead list` shows it).
"""

from dataclasses import dataclass
from datetime import date

import asyncpg
import structlog

log = structlog.get_logger("lrs.dead_letters")


@dataclass(frozen=True)
class QuotaUse:
    sender: str
    day: date
    letters: int  # offered today, kept or not
    bytes: int
    dropped: int


class DeadLetterQuota:
    def __init__(self, pool: asyncpg.Pool, letters_a_day: int, bytes_a_day: int) -> None:
        self._pool = pool
        self._letters, self._bytes = letters_a_day, bytes_a_day

    async def admit(self, sender: str, size: int) -> bool:
        """Count one dead letter of `size` bytes from `sender`; True if it may be kept."""
        row = await self._pool.fetchrow(
            """
            INSERT INTO dead_letter_quota AS q (sender, day, letters, bytes, dropped)
                VALUES ($1::text, current_date, 1, $2::bigint, (1 > $3::int OR $2::bigint > $4::bigint)::int)
            ON CONFLICT (sender, day) DO UPDATE
                SET letters = q.letters + 1, bytes = q.bytes + $2,
                    dropped = q.dropped + (q.letters + 1 > $3 OR q.bytes + $2 > $4)::int
            RETURNING letters, bytes, dropped
            """,
            sender,
            size,
            self._letters,
            self._bytes,
        )
        assert row is not None
        if row["letters"] <= self._letters and row["bytes"] <= self._bytes:
            return True
        if row["dropped"] == 1:
            log.warning(
                "dead-letter quota reached: this sender's further refused messages are answered but not kept",
                sender=sender,
                letters_a_day=self._letters,
                bytes_a_day=self._bytes,
            )
        return False

    async def refund(self, sender: str, size: int) -> None:
        """Uncount one admitted dead letter that was not kept after all (lrs.dead refused it)."""
        await self._pool.execute(
            "UPDATE dead_letter_quota SET letters = letters - 1, bytes = bytes - $2"
            " WHERE sender = $1 AND day = current_date AND letters > 0",
            sender,
            size,
        )

    async def over(self) -> list[QuotaUse]:
        """Senders whose dead letters were not all kept, most recent day first."""
        rows = await self._pool.fetch(
            "SELECT sender, day, letters, bytes, dropped FROM dead_letter_quota"
            " WHERE dropped > 0 ORDER BY day DESC, sender"
        )
        return [QuotaUse(*r) for r in rows]
