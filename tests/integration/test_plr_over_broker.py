"""Awarding organisations, providers and the learner portal build PLRs over the real broker and database."""

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import aio_pika
import pytest
from aio_pika.abc import AbstractQueue

from adapters.bootstrap import Hub
from adapters.postgres.unit_of_work import PostgresUnitOfWork
from contracts.codes import OrganisationKind
from hub.disclosure import show_record
from hub.pipeline.routing import EVENTS_EXCHANGE
from hub.records.attempts import ATTEMPT_LIMIT, REFUSAL
from hub.records.plr import NOT_VERIFIED
from tests.integration.conftest import AddOrg, OrgLogin
from tests.integration.mis import AMELIA, Mis, body, dead_letter, register


def gcse(uln: str, result_id: str, **changes: Any) -> dict[str, Any]:
    """Amelia's GCSE maths result as an awarding organisation sends it."""
    return {
        "result_id": result_id,
        "uln": uln,
        "given_name": AMELIA["given_name"],
        "family_name": AMELIA["family_name"],
        "date_of_birth": AMELIA["date_of_birth"],
        "subject_code": "601/4447/6",
        "subject": "GCSE Mathematics",
        "level": "2",
        "qualification_type": "GCSE",
        "grade": "7",
        "award_date": "2026-08-20",
        "status": "Final",
    } | changes


@pytest.fixture
async def amelia(hub: Hub, provider: OrgLogin) -> str:
    """Amelia registered by a provider: her ULN."""
    async with Mis(provider.amqp_url, provider.org.org_id) as mis:
        await mis.send("learner.register.v1", register(provider.org.org_id))
        return str(body(await mis.answer())["uln"])


@pytest.fixture
async def awarding(add_org: AddOrg) -> OrgLogin:
    return await add_org(OrganisationKind.AWARDING_ORGANISATION)


@pytest.fixture
async def events(hub: Hub) -> AsyncIterator[AbstractQueue]:
    """A queue of the hub's PLR events, as the hub's own consumers would bind one."""
    queue = await hub.channel.declare_queue(exclusive=True)
    exchange = await hub.channel.get_exchange(EVENTS_EXCHANGE, ensure=False)
    for key in ("achievements.#", "participation.#", "plr.#"):
        await queue.bind(exchange, key)
    yield queue


async def next_event(queue: AbstractQueue, timeout_s: float = 10) -> aio_pika.abc.AbstractIncomingMessage:
    async with asyncio.timeout(timeout_s):
        while (message := await queue.get(no_ack=True, fail=False)) is None:
            await asyncio.sleep(0.05)
    return message


async def test_verify_single_and_batch(hub: Hub, amelia: str, awarding: OrgLogin) -> None:
    """An awarding organisation verifies learners: exact, not verified, invalid ULN, one answer per batch."""
    ao = awarding.org.org_id
    async with Mis(awarding.amqp_url, ao) as mis:
        single_id = await mis.send(
            "learner.verify.v1", {"uln": amelia, "given_name": "amelia", "family_name": "OKAFOR"}
        )
        single = await mis.answer()
        await mis.send(
            "learner.verify_batch.v1",
            {
                "items": [
                    {"uln": amelia, "given_name": "Amelia", "family_name": "Okafor", "ref": "a"},
                    {"uln": amelia, "given_name": "Zara", "family_name": "Okafor", "ref": "b"},
                    {"uln": "12345", "given_name": "Amelia", "family_name": "Okafor", "ref": "c"},
                ]
            },
        )
        batch = body(await mis.answer())

    assert (single.type, single.correlation_id) == ("learner.verification.v1", single_id)
    assert [(i["response_code"], i["uln"]) for i in body(single)["items"]] == [("WSRC0004", amelia)]
    assert [(i["ref"], i["response_code"], i["uln"]) for i in batch["items"]] == [
        ("a", "WSRC0004", amelia),
        ("b", "WSEC0208", None),
        ("c", "WSEC0136", None),
    ]


async def test_bulk_records_the_good_items_answers_each_and_announces_them(
    hub: Hub, amelia: str, awarding: OrgLogin, events: AbstractQueue
) -> None:
    """A bulk with bad items records the good one, answers all three, and publishes one event."""
    ao = awarding.org.org_id
    items = [
        {"action": "submit"} | gcse(amelia, "R-1"),
        {"action": "submit"} | gcse(amelia, "R-2", grade="B+"),
        {"action": "submit"} | gcse("9276308686", "R-3"),
    ]
    async with Mis(awarding.amqp_url, ao) as mis:
        request_id = await mis.send("achievement.bulk.v1", {"items": items})
        answer = await mis.answer()
    receipt = body(answer)
    event = await next_event(events)

    assert (answer.type, answer.correlation_id, receipt["applied"], receipt["rejected"]) == (
        "plr.outcomes.v1",
        request_id,
        1,
        2,
    )
    assert [(i["index"], i["outcome"], i["reason"]) for i in receipt["items"]] == [
        (0, "recorded", None),
        (1, "rejected", "grade_outside_scale"),
        (2, "rejected", "not_verified"),
    ]
    recorded = json.loads(event.body)["items"]
    assert (event.type, [(e["uln"], e["result_id"], e["grade"]) for e in recorded]) == (
        "achievements.recorded.v1",
        [(amelia, "R-1", "7")],
    )
    async with hub.pool.acquire() as conn:
        audited = await conn.fetchval(
            "SELECT count(*) FROM audit_log WHERE correlation_id = $1 AND what = 'plr.receipt'", request_id
        )
    assert audited == 3


async def test_amendments_apply_in_version_order_whatever_order_they_arrive_in(
    hub: Hub, amelia: str, awarding: OrgLogin
) -> None:
    """Two amendments sent at once: the higher version wins, the lower never overwrites it."""
    ao = awarding.org.org_id
    async with Mis(awarding.amqp_url, ao) as mis:
        await mis.send("achievement.submit.v1", gcse(amelia, "R-9"))
        assert body(await mis.answer())["items"][0]["outcome"] == "recorded"
        await asyncio.gather(
            mis.send("achievement.amend.v1", gcse(amelia, "R-9", version=5, grade="9")),
            mis.send("achievement.amend.v1", gcse(amelia, "R-9", version=3, grade="8")),
        )
        outcomes = sorted([body(await mis.answer())["items"][0]["outcome"] for _ in range(2)])
        await mis.send("achievement.amend.v1", gcse(amelia, "R-9", version=4, grade="4"))
        late = body(await mis.answer())["items"][0]

    async with hub.pool.acquire() as conn:
        row = await conn.fetchrow(
            "SELECT version, fields->>'grade' AS grade FROM learning_event WHERE source_ref = 'R-9'"
        )
    assert row is not None
    assert (row["version"], row["grade"]) == (5, "9")
    assert outcomes in (["amended", "amended"], ["amended", "rejected"])
    assert (late["outcome"], late["reason"]) == ("rejected", "stale_version")


async def test_challenge_goes_to_the_sender_and_its_confirmation_back_to_the_portal(
    hub: Hub, amelia: str, awarding: OrgLogin, add_org: AddOrg, events: AbstractQueue
) -> None:
    """The portal challenges an entry; the AO is told, confirms it; the portal is told; the PLR shows it all."""
    ao = awarding.org.org_id
    portal = await add_org(OrganisationKind.LEARNER_PORTAL)
    async with Mis(awarding.amqp_url, ao) as aom, Mis(portal.amqp_url, portal.org.org_id) as pm:
        await aom.send("achievement.submit.v1", gcse(amelia, "R-5"))
        event_id = body(await aom.answer())["items"][0]["event_id"]
        await pm.send("plr.challenge.v1", {"uln": amelia, "event_id": event_id, "reason": "I sat Foundation tier"})
        answer = body(await pm.answer())
        notice = await aom.answer()
        await aom.send("plr.challenge_confirm.v1", {"challenge_id": answer["challenge_id"], "note": "Checked"})
        confirmed = body(await aom.answer())
        outcome = body(await pm.answer())
    types = [(await next_event(events)).type for _ in range(3)]

    assert answer["outcome"] == "under_challenge"
    assert (notice.type, body(notice)["source_ref"], body(notice)["reason"]) == (
        "plr.challenge_notice.v1",
        "R-5",
        "I sat Foundation tier",
    )
    assert confirmed["items"][0]["outcome"] == "confirmed"
    assert (outcome["resolution"], outcome["note"]) == ("confirmed", "Checked")
    assert types == ["achievements.recorded.v1", "plr.challenge_raised.v1", "plr.challenge_resolved.v1"]


async def test_enrolment_becomes_participation_and_the_operator_reads_the_plr(
    hub: Hub, amelia: str, provider: OrgLogin, awarding: OrgLogin
) -> None:
    """The PLR holds the provider's participation and the AO's achievement; reading it is audited."""
    ukprn = provider.org.org_id
    enrolment = {
        "ukprn": ukprn,
        "enrolment_id": "ENR-1",
        "uln": amelia,
        "given_name": "Amelia",
        "family_name": "Okafor",
        "date_of_birth": "2008-04-12",
        "learning_aim_reference": "60146543",
        "start_date": "2025-09-01",
        "planned_end_date": "2027-06-30",
    }
    async with Mis(provider.amqp_url, ukprn) as mis:
        await mis.send("enrolment.publish.v1", enrolment)
        recorded = body(await mis.answer())["items"][0]
    async with Mis(awarding.amqp_url, awarding.org.org_id) as mis:
        await mis.send("achievement.submit.v1", gcse(amelia, "R-7"))
        await mis.answer()
    async with PostgresUnitOfWork(hub.pool) as uow:
        master, entries = await show_record(uow, "operator:test", amelia, datetime.now(UTC))
        await uow.commit()
    async with hub.pool.acquire() as conn:
        audited = await conn.fetch("SELECT recipient, uln, what FROM audit_log WHERE recipient = 'operator:test'")

    assert (recorded["outcome"], recorded["uln"]) == ("recorded", amelia)
    assert master == amelia
    assert sorted((e.kind, e.source, e.source_org, e.under_challenge) for e in entries) == [
        ("achievement", "AO", awarding.org.org_id, False),
        ("participation", "ILR", ukprn, False),
    ]
    assert [tuple(r) for r in audited] == [("operator:test", amelia, "plr.full_record")]


async def test_bad_bulk_is_rejected_to_its_sender_and_dead_lettered_from_the_records_queue(
    hub: Hub, awarding: OrgLogin, provider: OrgLogin
) -> None:
    """Malformed JSON gets a rejection and a dead letter; a provider may not send achievements."""
    async with Mis(awarding.amqp_url, awarding.org.org_id) as mis:
        await mis.send("achievement.bulk.v1", b'{"items": [')
        rejected = body(await mis.answer())
    dead = await dead_letter(hub.channel)
    async with Mis(provider.amqp_url, provider.org.org_id) as mis:
        await mis.send("achievement.submit.v1", gcse("9276308686", "R-1"))
        refused = body(await mis.answer())

    assert rejected["reason"] == "malformed_json"
    assert (dead.headers or {}).get("x-lrs-queue") == "lrs.records"
    assert refused["reason"] == "sender_not_allowed"


async def test_a_bulk_of_1000_birth_dates_tells_a_hostile_awarding_organisation_nothing(
    hub: Hub, amelia: str, awarding: OrgLogin
) -> None:
    """An AO with a learner's ULN and names submits 1,000 achievements with 1,000 dates of birth, the
    right one among them: five are checked and fail, the rest are refused alike, nothing is
    recorded, and every check is in her audit log."""
    born = date.fromisoformat(AMELIA["date_of_birth"])
    births = [born + timedelta(days=n - 500) for n in range(1000)]  # the right one is item 500
    items = [{"action": "submit"} | gcse(amelia, f"GUESS-{n}", date_of_birth=d.isoformat())
             for n, d in enumerate(births)]  # fmt: skip
    async with Mis(awarding.amqp_url, awarding.org.org_id) as mis:
        request_id = await mis.send("achievement.bulk.v1", {"items": items})
        receipt = body(await mis.answer(timeout_s=60))
    outcomes = [(i["index"], i["outcome"], i["reason"], i["response_code"], i["uln"], i["description"])
                for i in receipt["items"]]  # fmt: skip
    checked = [(n, "rejected", "not_verified", "WSEC0208", None, NOT_VERIFIED) for n in range(ATTEMPT_LIMIT)]
    refused = [(n, "rejected", "too_many_attempts", "WSEC0208", None, REFUSAL) for n in range(ATTEMPT_LIMIT, 1000)]
    assert (receipt["applied"], receipt["rejected"], outcomes) == (0, 1000, checked + refused)
    async with hub.pool.acquire() as conn:
        recorded = await conn.fetchval("SELECT count(*) FROM learning_event WHERE uln = $1", amelia)
        audited = await conn.fetch(
            """
            SELECT recipient, uln, decision, reason, count(*) AS n FROM audit_log
            WHERE correlation_id = $1 AND what = 'learner.verification'
            GROUP BY recipient, uln, decision, reason ORDER BY n
            """,
            request_id,
        )
    ao = awarding.org.org_id
    assert (recorded, [tuple(r) for r in audited]) == (0, [
        (ao, amelia, "allowed", "not verified WSEC0208: date_of_birth did not match", ATTEMPT_LIMIT),
        (ao, amelia, "refused", "too_many_attempts: not checked", 1000 - ATTEMPT_LIMIT),
    ])  # fmt: skip
