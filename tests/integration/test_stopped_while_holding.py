"""A hub stopped again and again while it holds deliveries turns no good message into poison
(issue 12, item 1: crash loops).

From the broker's side a hub killed with `kill -9` and a hub whose connection is closed under
it are the same: every delivery it held goes back to its queue, and RabbitMQ 3.10's quorum
queues count that return towards the delivery limit. Here the hub holds three registrations
through a database outage (so they are in its hands at every stop), and its connections are
closed more times than the delivery limit; once the database is back each is answered once
and nothing is dead-lettered. (A message whose own handling fails is still dead-lettered at the
limit: test_relay_and_dead_letters.py.)
"""

import asyncio
import secrets
from collections.abc import AsyncIterator

import aio_pika
import pytest
from yarl import URL

from adapters.bootstrap import Hub, hub_user
from adapters.rabbit.admin import BrokerAdmin
from adapters.settings import Settings
from tests.conftest import AMQP_SERVER
from tests.integration.conftest import OrgLogin
from tests.integration.mis import Mis, body, register
from tests.integration.test_outage_holds import PEOPLE, _back, _dead_letters, _fail_every_write_of

REGISTER = "learner.register.v1"
LIMIT = 2  # the delivery limit here: every stop costs the test a reconnection (about 5 s)
STOPS = LIMIT + 2


@pytest.fixture
async def settings(settings: Settings, vhost: str) -> AsyncIterator[Settings]:
    """The hub as a broker user of its own, so that closing its connections closes no one else's; a low limit."""
    user, password = f"hub-{secrets.token_hex(4)}", secrets.token_urlsafe(12)
    admin = BrokerAdmin(settings.rabbit_management_url, "guest", "guest", vhost)
    await admin.set_password(user, password)  # creates the user
    await admin.grant_full_access(user)
    yield settings.model_copy(update={"amqp_url": settings.amqp_url_for(user, password), "delivery_limit": LIMIT})
    await admin.delete_user(user)
    await admin.close()


async def _stop_under_it(hub: Hub, settings: Settings, admin: BrokerAdmin) -> None:
    """Close every connection of the hub's user, as a killed process's would be, and wait for it to reconnect."""
    await admin.close_connections_of(hub_user(settings))
    async with await aio_pika.connect(URL(AMQP_SERVER).with_path(f"/{settings.vhost}")) as connection:
        channel = await connection.channel()
        async with asyncio.timeout(30):
            await asyncio.sleep(0.5)  # the broker has let the old consumer go
            # The hub's robust connection comes back and consumes again (a passive declare counts
            # consumers at once; the management API's figures lag by seconds). Its answer always
            # carries the count, which aiormq types as optional: hence `or 0`.
            while (
                (await channel.declare_queue("lrs.registration", passive=True)).declaration_result.consumer_count or 0
            ) < 1:
                await asyncio.sleep(0.2)
    await asyncio.sleep(0.5)  # and is given the deliveries it held back again


async def test_a_hub_stopped_more_often_than_the_delivery_limit_loses_and_poisons_nothing(
    hub: Hub, provider: OrgLogin, settings: Settings
) -> None:
    ukprn = provider.org.org_id
    admin = BrokerAdmin(settings.rabbit_management_url, "guest", "guest", settings.vhost)
    await _fail_every_write_of(hub, ukprn, "57P03")  # held, unacknowledged, at every stop
    async with Mis(provider.amqp_url, ukprn) as mis:
        sent = [await mis.send(REGISTER, register(ukprn, **person)) for person in PEOPLE[:3]]
        await asyncio.sleep(1)
        for _ in range(STOPS):
            await _stop_under_it(hub, settings, admin)
        await _back(hub, "57P03")
        answers = [await mis.answer(timeout_s=60) for _ in sent]
        more = await mis.no_answer(3)
    await admin.close()

    assert sorted(a.correlation_id or "" for a in answers) == sorted(sent)
    assert ({body(a)["response_code"] for a in answers}, more) == ({"WSRC0005"}, True)
    assert await _dead_letters(hub) == 0
