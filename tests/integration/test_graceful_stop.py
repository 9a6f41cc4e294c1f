"""Stopping the hub (SIGTERM: `hub serve` stops this way) during a bulk of 1,000 achievements
loses nothing (issue 12, item 5): in-flight work that finishes within the graceful bound is
answered before the hub stops; work that does not is rolled back, goes back to its queue and
is applied once by the next hub.

The bulk is held mid-transaction by taking the audit chain's advisory lock, which every
transaction that audits (a bulk's 1,000 receipts) takes before it commits.
"""

import asyncio
import time
from collections.abc import AsyncIterator

import asyncpg
import pytest

from adapters.bootstrap import Hub
from adapters.postgres.audit import CHAIN_LOCK
from adapters.settings import Settings
from contracts.codes import OrganisationKind
from tests.integration.conftest import AddOrg, OrgLogin
from tests.integration.mis import Mis, body, register
from tests.integration.test_plr_over_broker import gcse

BULK = 1000
GRACEFUL_S = 10  # the hub's graceful bound (adapters/bootstrap.py)


@pytest.fixture
async def amelia(hub: Hub, provider: OrgLogin) -> str:
    async with Mis(provider.amqp_url, provider.org.org_id) as mis:
        await mis.send("learner.register.v1", register(provider.org.org_id))
        return str(body(await mis.answer())["uln"])


@pytest.fixture
async def awarding(add_org: AddOrg) -> OrgLogin:
    return await add_org(OrganisationKind.AWARDING_ORGANISATION)


@pytest.fixture
async def chain_lock(settings: Settings) -> AsyncIterator[asyncpg.Connection]:
    """A connection holding the audit chain's lock in an open transaction, until the test lets go."""
    conn = await asyncpg.connect(settings.database_url)
    transaction = conn.transaction()
    await transaction.start()
    await conn.execute("SELECT pg_advisory_xact_lock($1)", CHAIN_LOCK)
    yield conn
    if not conn.is_closed():
        await conn.close()


async def _held(hub: Hub) -> None:
    """Wait until a transaction of the hub's waits for the chain lock: the bulk is in flight."""
    query = "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND objid = $1 AND NOT granted"
    async with asyncio.timeout(30):
        while not await hub.pool.fetchval(query, CHAIN_LOCK):
            await asyncio.sleep(0.1)


async def _recorded(settings: Settings, ao: str) -> int:
    conn = await asyncpg.connect(settings.database_url)
    try:
        count: int = await conn.fetchval("SELECT count(*) FROM learning_event WHERE source_org = $1", ao)
        return count
    finally:
        await conn.close()


def _bulk(uln: str) -> dict[str, object]:
    return {"items": [{"action": "submit"} | gcse(uln, f"R-{n}") for n in range(BULK)]}


async def test_a_bulk_in_flight_at_stop_is_finished_within_the_bound_and_answered(
    hub: Hub, amelia: str, awarding: OrgLogin, chain_lock: asyncpg.Connection, settings: Settings
) -> None:
    ao = awarding.org.org_id
    async with Mis(awarding.amqp_url, ao) as mis:
        request_id = await mis.send("achievement.bulk.v1", _bulk(amelia))
        await _held(hub)
        started = time.monotonic()
        stopping = asyncio.create_task(hub.__aexit__(None, None, None))
        await asyncio.sleep(1)
        await chain_lock.close()  # the bulk goes on, while the hub is stopping
        await stopping
        stopped_in = time.monotonic() - started
        answer = await mis.answer(timeout_s=30)

    assert (answer.correlation_id, body(answer)["applied"], await _recorded(settings, ao)) == (request_id, BULK, BULK)
    assert stopped_in < GRACEFUL_S


async def test_a_bulk_not_finished_within_the_bound_is_applied_once_by_the_next_hub(
    hub: Hub, amelia: str, awarding: OrgLogin, chain_lock: asyncpg.Connection, settings: Settings
) -> None:
    ao = awarding.org.org_id
    async with Mis(awarding.amqp_url, ao) as mis:
        request_id = await mis.send("achievement.bulk.v1", _bulk(amelia))
        await _held(hub)
        await hub.__aexit__(None, None, None)  # waits the graceful bound, then gives the bulk up
        recorded_at_stop = await _recorded(settings, ao)
        await chain_lock.close()
        async with Hub(settings):
            answer = await mis.answer(timeout_s=60)
            no_second = await mis.no_answer(3)

    assert recorded_at_stop == 0  # rolled back, not half applied
    assert (answer.correlation_id, body(answer)["applied"], no_second) == (request_id, BULK, True)
    assert await _recorded(settings, ao) == BULK
