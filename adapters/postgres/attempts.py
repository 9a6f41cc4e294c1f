"""asyncpg implementation of the verification attempt counts (hub.kernel.ports.VerificationAttempts).

A sender's row for a learner is read FOR UPDATE, so a second message counting for the same
pair waits for the first to commit and then sees its failures. A pair with no row yet cannot
be locked; if another transaction inserts it first, the commit here fails with
ConcurrentAttemptsError (transient: retried, the message then counts after the other). Failures
are buffered and written at commit in one statement, however many a batch counted.
"""

from collections.abc import Sequence
from datetime import datetime

from adapters.postgres.connection import AnyConnection
from hub.kernel.errors import ConcurrentAttemptsError
from hub.records.attempts import ATTEMPT_WINDOW

Pair = tuple[str, str]  # (sender, uln)


class PostgresVerificationAttempts:
    def __init__(self, conn: AnyConnection) -> None:
        self._conn = conn
        self._read: dict[Pair, list[datetime] | None] = {}  # as read and locked; None: no row then
        self._new: dict[Pair, list[datetime]] = {}

    async def failures(self, sender: str, ulns: Sequence[str], since: datetime) -> dict[str, int]:
        unread = sorted({u for u in ulns if (sender, u) not in self._read})
        if unread:
            # Sorted, so that two transactions lock a sender's rows in the same order.
            rows = await self._conn.fetch(
                """
                SELECT uln, failed_at FROM verification_attempt
                WHERE sender = $1 AND uln = ANY($2::bpchar[]) ORDER BY uln FOR UPDATE
                """,
                sender,
                unread,
            )
            found = {r["uln"]: list(r["failed_at"]) for r in rows}
            self._read.update({(sender, u): found.get(u) for u in unread})
        counts = {u: sum(1 for at in self._times((sender, u)) if at > since) for u in ulns}
        return {u: n for u, n in counts.items() if n}

    def _times(self, pair: Pair) -> list[datetime]:
        return (self._read.get(pair) or []) + self._new.get(pair, [])

    async def failed(self, sender: str, uln: str, at: datetime) -> None:
        self._new.setdefault((sender, uln), []).append(at)

    async def flush(self) -> None:
        """Write the counted failures: each pair's times still in the window, old and new."""
        if not self._new:
            return
        senders, ulns, times = [], [], []
        for pair in sorted(self._new):
            kept = sorted(self._times(pair))
            for at in (t for t in kept if t > kept[-1] - ATTEMPT_WINDOW):
                senders.append(pair[0])
                ulns.append(pair[1])
                times.append(at)
        rows = await self._conn.fetch(
            """
            WITH n AS (
                SELECT sender, uln, array_agg(at ORDER BY at) AS failed_at, max(at) AS last_failed_at
                FROM unnest($1::text[], $2::bpchar[], $3::timestamptz[]) AS t (sender, uln, at)
                GROUP BY sender, uln ORDER BY sender, uln
            )
            INSERT INTO verification_attempt AS v (sender, uln, failed_at, last_failed_at) SELECT * FROM n
            ON CONFLICT (sender, uln) DO UPDATE
                SET failed_at = EXCLUDED.failed_at, last_failed_at = EXCLUDED.last_failed_at
            RETURNING v.sender, v.uln, (v.xmax = 0) AS inserted
            """,
            senders,
            ulns,
            times,
        )
        # A pair with no row when read must have been inserted here; if it was not, another
        # transaction counted for it meanwhile, and these counts went by a stale zero.
        raced = [r for r in rows if not r["inserted"] and self._read.get((r["sender"], r["uln"])) is None]
        self._new.clear()
        if raced:
            raise ConcurrentAttemptsError(f"{len(raced)} learner(s) counted by another transaction meanwhile")
