"""Sent outbox rows and old inbox records are pruned; unsent rows and recent records stay."""

import uuid

import asyncpg

from adapters.bootstrap import Hub
from adapters.retention import prune, prune_attempts


async def test_prune_keeps_unsent_and_recent_rows(hub: Hub) -> None:
    ids = {name: uuid.uuid4() for name in ("old_sent", "old_unsent", "new_sent")}
    async with hub.pool.acquire() as conn:
        for name, age, sent in (("old_sent", "2 hours", True), ("old_unsent", "2 hours", False),
                                ("new_sent", "1 minute", True)):  # fmt: skip
            await conn.execute(
                f"""
                INSERT INTO outbox (id, exchange, routing_key, message_type, body, created_at, sent_at)
                VALUES ($1, 'lrs.events', 'x', 't', '{{}}', now() - interval '{age}',
                        CASE WHEN $2 THEN now() END)
                """,
                ids[name],
                sent,
            )
        await conn.execute(
            """
            INSERT INTO inbox (consumer, sender, message_id, body_sha256, received_at) VALUES
                ('lrs.registration', '10030488', 'old', repeat('0', 64), now() - interval '8 days'),
                ('lrs.registration', '10030488', 'new', repeat('0', 64), now() - interval '1 day')
            """
        )
        removed = await prune(hub.pool, outbox_keep_s=3600, inbox_keep_s=7 * 86400)
        again = await prune(hub.pool, outbox_keep_s=3600, inbox_keep_s=7 * 86400)
        outbox = {
            r[0] for r in await conn.fetch("SELECT id FROM outbox WHERE id = ANY($1::uuid[])", list(ids.values()))
        }
        inbox = {r[0] for r in await conn.fetch("SELECT message_id FROM inbox WHERE message_id IN ('old', 'new')")}

    # The running hub prunes too (at start, then every minute) and may have taken a row first, so
    # what counts is what is left, and that nothing more is left to prune.
    assert (removed[0] <= 1, removed[1] <= 1, again) == (True, True, (0, 0))
    assert outbox == {ids["old_unsent"], ids["new_sent"]}
    assert inbox == {"new"}


async def test_prune_drops_attempt_counts_only_once_all_their_failures_left_the_window(database_url: str) -> None:
    """A count whose newest failure is older than the attempt window goes; a count still in it stays.
    (No hub runs: its own retention task would prune the row first, and this prune would find none.)"""
    pool = await asyncpg.create_pool(database_url, min_size=1, max_size=2)
    async with pool, pool.acquire() as conn:
        await conn.execute(
            "INSERT INTO organisation (org_id, kind, name) VALUES ('100062', 'awarding_organisation', 'A')"
        )
        await conn.execute(
            """
            INSERT INTO verification_attempt (sender, uln, failed_at, last_failed_at) VALUES
                ('100062', '9276308686', ARRAY[now() - interval '25 hours'], now() - interval '25 hours'),
                ('100062', '1000000043', ARRAY[now() - interval '25 hours', now() - interval '23 hours'],
                 now() - interval '23 hours')
            """
        )
        removed = await prune_attempts(pool)
        kept = [r[0] for r in await conn.fetch("SELECT uln FROM verification_attempt")]
    assert (removed, kept) == (1, ["1000000043"])
