"""The primary dies under load and its synchronous replica is promoted: the hub, given both
hosts (`target_session_attrs=read-write`), carries on on the new primary by itself; every
request is answered once, nothing committed is lost, nothing is applied twice (issue 12, item 4).

Private servers (bench/private_servers.py), never the machine's own.
"""

import asyncio
import contextlib
from collections.abc import Iterator

import asyncpg
import pytest

from adapters.bootstrap import Hub
from adapters.settings import Settings
from bench.private_servers import ReplicatedPostgres
from tests.integration.conftest import OrgLogin
from tests.integration.mis import Mis, body, register

REGISTER = "learner.register.v1"


@pytest.fixture
def replicated() -> Iterator[ReplicatedPostgres]:
    servers = ReplicatedPostgres()
    try:
        servers.start()
        yield servers
    finally:
        servers.close()


@pytest.fixture
def settings(settings: Settings, replicated: ReplicatedPostgres) -> Settings:
    return settings.model_copy(update={"database_url": replicated.url})


def _person(n: int) -> dict[str, str]:
    """Forty people no one would take for each other."""
    given = ["Ada", "Bea", "Cyrus", "Dara", "Eli", "Fern", "Gus", "Hana", "Ivo", "Juno"][n % 10]
    family = ["Okoro", "Lovelace", "Mwangi", "Novak"][n // 10]
    return {
        "given_name": given,
        "family_name": family,
        "date_of_birth": f"{2001 + n // 10}-{1 + n % 10:02d}-{10 + n % 10:02d}",
        "last_known_postcode": ["N1 9GU", "LS1 4AP", "M1 1AE", "B1 1AA"][n // 10],
    }


async def test_the_hub_carries_on_on_the_promoted_replica_losing_nothing(
    hub: Hub, provider: OrgLogin, replicated: ReplicatedPostgres
) -> None:
    ukprn = provider.org.org_id
    async with Mis(provider.amqp_url, ukprn) as mis:
        before = [await mis.send(REGISTER, register(ukprn, **_person(n))) for n in range(10)]
        answers = [await mis.answer(timeout_s=30) for _ in before]
        during = [await mis.send(REGISTER, register(ukprn, **_person(n))) for n in range(10, 30)]
        await asyncio.to_thread(replicated.primary.stop, "immediate")  # the primary dies mid-load
        await asyncio.sleep(2)
        await asyncio.to_thread(replicated.replica.promote)
        after = [await mis.send(REGISTER, register(ukprn, **_person(n))) for n in range(30, 40)]
        answers += [await mis.answer(timeout_s=90) for _ in during + after]
        # An answer published as the primary died may go out again (its row was not yet marked
        # sent): a copy with the same message_id, which receivers drop (README, "What the hub guarantees").
        with contextlib.suppress(TimeoutError):
            while True:
                answers.append(await mis.answer(timeout_s=3))
    conn = await asyncpg.connect(replicated.url)  # the promoted replica: the only one taking writes
    try:
        learners = await conn.fetchval("SELECT count(*) FROM learner WHERE registered_by = $1", ukprn)
        inbox = await conn.fetchval("SELECT count(*) FROM inbox WHERE sender = $1", ukprn)
    finally:
        await conn.close()
    dead = await hub.channel.declare_queue("lrs.dead", passive=True)

    distinct = {a.message_id: a for a in answers}.values()
    assert sorted(a.correlation_id or "" for a in distinct) == sorted(before + during + after)  # each once
    assert {body(a)["response_code"] for a in distinct} == {"WSRC0005"}  # each a new learner
    assert (learners, inbox) == (40, 40)
    assert dead.declaration_result.message_count == 0
