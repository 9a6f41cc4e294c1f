"""Retention: the outbox and the inbox would otherwise grow for ever.

A sent outbox row is only kept for a while, for an operator to look at (a results day writes
gigabytes of receipts and events); an inbox record is kept long enough that any redelivery of
its message is still recognised (a broker redelivers within minutes; days is ample); a count of
failed verifications goes once all its failures have left the attempt window; a dead letter's
index row once the letter has expired from lrs.dead. Rows go in
chunks, so a prune never holds a long transaction. The audit log is never pruned.
"""

import asyncpg
import structlog

from hub.records.attempts import ATTEMPT_WINDOW

log = structlog.get_logger("lrs.retention")
_CHUNK = 5000


async def _prune(pool: asyncpg.Pool, statement: str, keep_s: float) -> int:
    removed = 0
    while True:
        status = await pool.execute(statement, keep_s, _CHUNK)
        count = int(status.split()[-1])
        removed += count
        if count < _CHUNK:
            return removed


async def prune(pool: asyncpg.Pool, outbox_keep_s: float, inbox_keep_s: float) -> tuple[int, int]:
    """Delete sent outbox rows older than `outbox_keep_s` and inbox records older than `inbox_keep_s`."""
    outbox = await _prune(
        pool,
        """
        DELETE FROM outbox WHERE id IN (
            SELECT id FROM outbox WHERE created_at < now() - make_interval(secs => $1) AND sent_at IS NOT NULL
            LIMIT $2)
        """,
        outbox_keep_s,
    )
    inbox = await _prune(
        pool,
        """
        DELETE FROM inbox WHERE (consumer, sender, message_id) IN (
            SELECT consumer, sender, message_id FROM inbox
            WHERE received_at < now() - make_interval(secs => $1) LIMIT $2)
        """,
        inbox_keep_s,
    )
    if outbox or inbox:
        log.info("pruned", outbox_rows=outbox, inbox_rows=inbox)
    return outbox, inbox


async def prune_attempts(pool: asyncpg.Pool) -> int:
    """Delete counts of failed verifications whose every failure has left the attempt window."""
    removed = await _prune(
        pool,
        """
        DELETE FROM verification_attempt WHERE (sender, uln) IN (
            SELECT sender, uln FROM verification_attempt
            WHERE last_failed_at < now() - make_interval(secs => $1) LIMIT $2)
        """,
        ATTEMPT_WINDOW.total_seconds(),
    )
    if removed:
        log.info("pruned", verification_attempt_rows=removed)
    return removed


async def prune_dead_letter_index(pool: asyncpg.Pool, keep_s: float) -> int:
    """Delete index rows of dead letters whose every copy has expired from lrs.dead."""
    removed = await _prune(
        pool,
        """
        DELETE FROM dead_letter WHERE (sender, message_id) IN (
            SELECT sender, message_id FROM dead_letter
            WHERE last_seen_at < now() - make_interval(secs => $1) LIMIT $2)
        """,
        keep_s,
    )
    if removed:
        log.info("pruned", dead_letter_rows=removed)
    return removed
