"""The outbox relay's guarantees, and dead letters an operator can list and replay."""

import asyncio
import uuid

import aio_pika
import asyncpg

from adapters.bootstrap import Hub
from adapters.rabbit import dead_letters
from adapters.rabbit.admin import BrokerAdmin
from adapters.relay import OutboxRelay
from adapters.settings import Settings
from tests.integration.conftest import AddOrg, OrgLogin
from tests.integration.mis import Mis, body, register


async def _unsent(hub: Hub) -> list[tuple[int, bool]]:
    async with hub.pool.acquire() as conn:
        rows = await conn.fetch("SELECT attempts, last_error IS NOT NULL FROM outbox WHERE sent_at IS NULL")
    return [tuple(r) for r in rows]


async def test_an_answer_no_queue_takes_stays_in_the_outbox(hub: Hub) -> None:
    """A message the broker returns (mandatory, no queue bound) is not marked sent; its failure is recorded."""
    async with hub.pool.acquire() as conn:
        await conn.execute(
            "INSERT INTO outbox (id, exchange, routing_key, message_type, body) "
            "VALUES ($1, 'lrs.outbound', 'nobody', 'learner.answer.v1', '{}')",
            uuid.uuid4(),
        )
    relay = OutboxRelay(hub.pool, hub.channel, "guest", batch_size=10)

    assert await relay.sweep_once() == 0
    assert await _unsent(hub) == [(1, True)]


async def test_relayed_messages_keep_the_outbox_row_id_as_message_id(hub: Hub, provider: OrgLogin) -> None:
    """The published message_id is the outbox row's id, so a re-publish after a crash is recognisable."""
    async with Mis(provider.amqp_url, provider.org.org_id) as mis:
        request_id = await mis.send("learner.register.v1", register(provider.org.org_id))
        answer = await mis.answer()
    async with hub.pool.acquire() as conn, asyncio.timeout(10):
        # The relay marks the row sent after the broker's confirm, which may come after the
        # answer has reached the organisation.
        query = "SELECT id, sent_at FROM outbox WHERE correlation_id = $1"
        while (row := await conn.fetchrow(query, request_id)) is not None and row["sent_at"] is None:
            await asyncio.sleep(0.05)
        assert row is not None

    assert (answer.message_id, row["sent_at"] is not None) == (str(row["id"]), True)


async def test_dead_letter_is_listed_and_replayed_once_its_cause_is_fixed(
    hub: Hub, add_org: AddOrg, broker_admin: BrokerAdmin
) -> None:
    """A message from a not-yet-registered sender is dead-lettered; after `org add`, a replay is answered."""
    org_id = "18888888"
    await broker_admin.add_organisation_user(org_id, "pw")
    url = hub.settings.amqp_url_for(org_id, "pw")
    async with Mis(url, org_id) as mis:
        request_id = await mis.send("learner.register.v1", register(org_id))
        async with asyncio.timeout(15):
            while not (letters := [p.letter for p in await dead_letters.peek(hub.connection, "guest", 100)]):
                await asyncio.sleep(0.1)
    login = await add_org(org_id=org_id)  # now a registered provider (same user, new password)
    replayed = await dead_letters.replay(hub.connection, request_id, "guest", "operator:test")
    async with Mis(login.amqp_url, org_id) as mis:
        answer = await mis.answer()

    assert [(d.message_id, d.sender, d.reason) for d in letters] == [(request_id, org_id, f"unknown sender '{org_id}'")]
    assert (replayed.refused, answer.correlation_id, body(answer)["response_code"]) == (None, request_id, "WSRC0005")
    assert [p.letter for p in await dead_letters.peek(hub.connection, "guest", 100)] == []


async def test_poison_that_keeps_failing_is_dead_lettered_by_the_delivery_limit(hub: Hub, provider: OrgLogin) -> None:
    """A message whose handling faults every time is retried, then dead-lettered by the hub saying
    how often it failed, and the hub goes on."""
    async with hub.pool.acquire() as conn:
        # Make every registration fault: the learner table refuses inserts for this test.
        await conn.execute(
            "CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'boom'; END $$"
        )
        await conn.execute("CREATE TRIGGER refuse BEFORE INSERT ON learner FOR EACH ROW EXECUTE FUNCTION refuse()")
    async with Mis(provider.amqp_url, provider.org.org_id) as mis:
        request_id = await mis.send("learner.register.v1", register(provider.org.org_id))
        queue = await hub.channel.get_queue("lrs.dead", ensure=False)
        async with asyncio.timeout(30):
            while (dead := await queue.get(no_ack=True, fail=False)) is None:
                await asyncio.sleep(0.2)
        async with hub.pool.acquire() as conn:
            await conn.execute("DROP TRIGGER refuse ON learner")
        await mis.send("learner.register.v1", register(provider.org.org_id, given_name="Zara"))
        answer = body(await mis.answer())

    assert (dead.message_id, dead_letters.describe(dead, "guest").reason) == (
        request_id,
        "delivery limit reached: failed 5 times (RaiseError)",
    )
    assert answer["response_code"] == "WSRC0005"
    assert isinstance(dead, aio_pika.abc.AbstractIncomingMessage)


async def test_a_broker_away_costs_a_row_no_attempt_and_the_sweep_carries_on(settings: Settings) -> None:
    """While the relay's channel is gone (a broker restart) its publishes fail: the row stays unsent
    without using up its attempts, the sweep keeps running, and the row goes out once a channel is back.
    (No hub runs here: its own relay would publish the row.)"""
    pool = await asyncpg.create_pool(settings.database_url, min_size=1, max_size=4)
    connection = await aio_pika.connect(settings.amqp_url)
    try:
        await pool.execute(
            "INSERT INTO outbox (id, exchange, routing_key, message_type, body, created_at) VALUES"
            " ($1, 'lrs.events', 'learner.updated.v1', 'learner.updated.v1', '{}', now() - interval '1 minute')",
            uuid.uuid4(),
        )
        channel = await connection.channel(publisher_confirms=True)
        await channel.declare_exchange("lrs.events", aio_pika.ExchangeType.TOPIC, durable=True)
        closed = await connection.channel(publisher_confirms=True)
        await closed.close()

        running = asyncio.create_task(OutboxRelay(pool, closed, "guest", batch_size=10).run())
        await asyncio.sleep(2.5)  # two sweeps or more, each failing
        still_running = not running.done()
        running.cancel()
        unsent = [tuple(r) for r in await pool.fetch("SELECT attempts, last_error IS NOT NULL FROM outbox")]
        confirmed = await OutboxRelay(pool, channel, "guest", batch_size=10).sweep_once()
    finally:
        await connection.close()
        await pool.close()

    assert (still_running, unsent) == (True, [(0, True)])
    assert confirmed == 1
