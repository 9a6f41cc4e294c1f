"""The verification attempt limit against the real PostgreSQL and broker: counts that hold under
concurrency, and a hostile awarding organisation that learns nothing from 5,000 guesses."""

import asyncio
import time
from datetime import UTC, date, datetime, timedelta

import pytest

from adapters.bootstrap import Hub
from adapters.postgres.unit_of_work import PostgresUnitOfWork
from contracts.codes import OrganisationKind
from hub.kernel.errors import ConcurrentAttemptsError, TransientError
from hub.kernel.model import Organisation
from hub.records.attempts import ATTEMPT_LIMIT, REFUSAL
from tests.integration.conftest import AddOrg, OrgLogin
from tests.integration.mis import AMELIA, Mis, body, register

AO = Organisation("100062", OrganisationKind.AWARDING_ORGANISATION, "Attempting Awards")
ULN = "9276308686"
NOW = datetime(2026, 11, 29, 10, 30, tzinfo=UTC)


@pytest.fixture
async def ao(hub: Hub) -> Organisation:
    """An awarding organisation in the register (the counts refer to it)."""
    async with PostgresUnitOfWork(hub.pool) as uow:
        await uow.organisations.add(AO)
        await uow.commit()
    return AO


async def fail(hub: Hub, times: int, at: datetime = NOW) -> None:
    """Count `times` failures of AO for ULN, a second apart, in one committed transaction."""
    async with PostgresUnitOfWork(hub.pool) as uow:
        await uow.attempts.failures(AO.org_id, [ULN], at - timedelta(days=1))
        for n in range(times):
            await uow.attempts.failed(AO.org_id, ULN, at + timedelta(seconds=n))
        await uow.commit()


async def count(hub: Hub, since: datetime) -> dict[str, int]:
    async with PostgresUnitOfWork(hub.pool) as uow:
        return await uow.attempts.failures(AO.org_id, [ULN, "1000000043"], since)


async def test_failures_are_counted_after_since_and_kept_across_transactions(hub: Hub, ao: Organisation) -> None:
    """Committed failures are counted in later transactions, only those after `since`; other ULNs are absent."""
    await fail(hub, 2, NOW)
    await fail(hub, 1, NOW + timedelta(hours=1))
    assert (await count(hub, NOW - timedelta(minutes=1)), await count(hub, NOW + timedelta(seconds=30))) == (
        {ULN: 3},
        {ULN: 1},
    )


async def test_a_transaction_sees_its_own_failures_and_a_rollback_keeps_none(hub: Hub, ao: Organisation) -> None:
    """Failures counted in a transaction are in its own counts at once, and gone if it does not commit."""
    async with PostgresUnitOfWork(hub.pool) as uow:
        await uow.attempts.failures(AO.org_id, [ULN], NOW - timedelta(days=1))
        await uow.attempts.failed(AO.org_id, ULN, NOW)
        assert await uow.attempts.failures(AO.org_id, [ULN], NOW - timedelta(days=1)) == {ULN: 1}
    assert await count(hub, NOW - timedelta(days=1)) == {}


async def test_failures_that_left_the_window_are_dropped_when_the_row_is_written(hub: Hub, ao: Organisation) -> None:
    """A row keeps only the failures within a day of its newest one, so it never grows past the limit."""
    await fail(hub, 3, NOW)
    await fail(hub, 1, NOW + timedelta(days=2))
    async with hub.pool.acquire() as conn:
        kept = await conn.fetchval("SELECT failed_at FROM verification_attempt WHERE sender = $1", AO.org_id)
    assert kept == [NOW + timedelta(days=2)]


async def test_a_second_transaction_waits_for_the_first_and_counts_after_it(hub: Hub, ao: Organisation) -> None:
    """Reading a sender's counts locks them: a concurrent reader sees them only once the first commits."""
    await fail(hub, 1)
    since = NOW - timedelta(days=1)
    async with PostgresUnitOfWork(hub.pool) as first:
        assert await first.attempts.failures(AO.org_id, [ULN], since) == {ULN: 1}
        await first.attempts.failed(AO.org_id, ULN, NOW + timedelta(minutes=1))

        async def second() -> dict[str, int]:
            async with PostgresUnitOfWork(hub.pool) as uow:
                return await uow.attempts.failures(AO.org_id, [ULN], since)

        waiting = asyncio.create_task(second())
        await asyncio.sleep(0.3)
        assert not waiting.done()
        await first.commit()
    assert await waiting == {ULN: 2}


async def test_two_transactions_counting_a_new_pair_cannot_both_commit(hub: Hub, ao: Organisation) -> None:
    """With no row to lock yet, the second transaction to commit a count from a stale zero fails, transiently."""
    since = NOW - timedelta(days=1)
    async with PostgresUnitOfWork(hub.pool) as first, PostgresUnitOfWork(hub.pool) as second:
        for uow in (first, second):
            assert await uow.attempts.failures(AO.org_id, [ULN], since) == {}
            await uow.attempts.failed(AO.org_id, ULN, NOW)
        await first.commit()
        with pytest.raises(ConcurrentAttemptsError) as raised:
            await second.commit()
    assert (isinstance(raised.value, TransientError), await count(hub, since)) == (True, {ULN: 1})


# --- a hostile awarding organisation, over the broker -----------------------------------------


async def test_a_verify_batch_of_5000_birth_dates_tells_an_awarding_organisation_nothing(
    hub: Hub, provider: OrgLogin, add_org: AddOrg
) -> None:
    """An AO with a learner's ULN and names sends 5,000 dates of birth, the right one among them:
    five are checked and fail, the rest are refused alike, and every attempt is in her audit log."""
    async with Mis(provider.amqp_url, provider.org.org_id) as mis:
        await mis.send("learner.register.v1", register(provider.org.org_id))
        uln = str(body(await mis.answer())["uln"])
    hostile = await add_org(OrganisationKind.AWARDING_ORGANISATION)
    born = date.fromisoformat(AMELIA["date_of_birth"])
    dates = [born + timedelta(days=n - 2500) for n in range(5000)]  # the right one is item 2500
    items = [{"uln": uln, "given_name": AMELIA["given_name"], "family_name": AMELIA["family_name"],
              "date_of_birth": d.isoformat()} for d in dates]  # fmt: skip
    async with Mis(hostile.amqp_url, hostile.org.org_id) as mis:
        started = time.perf_counter()
        request_id = await mis.send("learner.verify_batch.v1", {"items": items})
        answer = body(await mis.answer(timeout_s=60))
        elapsed_s = time.perf_counter() - started
    outcomes = [(i["index"], i["response_code"], i["reason"], i["uln"]) for i in answer["items"]]
    checked = [(n, "WSEC0208", None, None) for n in range(ATTEMPT_LIMIT)]
    refused = [(n, "WSEC0208", "too_many_attempts", None) for n in range(ATTEMPT_LIMIT, 5000)]
    assert outcomes == checked + refused
    assert {i["description"] for i in answer["items"][ATTEMPT_LIMIT:]} == {REFUSAL}
    async with hub.pool.acquire() as conn:
        audited = await conn.fetch(
            """
            SELECT recipient, uln, decision, reason, count(*) AS n FROM audit_log
            WHERE correlation_id = $1 GROUP BY recipient, uln, decision, reason ORDER BY n
            """,
            request_id,
        )
    assert [tuple(r) for r in audited] == [
        (hostile.org.org_id, uln, "allowed", "not verified WSEC0208: date_of_birth did not match", ATTEMPT_LIMIT),
        (hostile.org.org_id, uln, "refused", "too_many_attempts: not checked", 5000 - ATTEMPT_LIMIT),
    ]
    print(f"\n5,000-item verify batch over the broker, publish to answer: {elapsed_s:.2f} s")
