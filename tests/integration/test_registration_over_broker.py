"""A provider registers and finds learners over the real broker and database."""

import uuid

import aio_pika

from adapters.bootstrap import Hub
from hub.register.uln import is_valid_uln
from tests.integration.conftest import AddOrg, OrgLogin
from tests.integration.mis import Mis, body, register


async def test_register_then_find_answers_on_the_providers_own_queue(hub: Hub, provider: OrgLogin) -> None:
    """A new learner gets a valid ULN; registering again returns the same ULN as an exact match."""
    async with Mis(provider.amqp_url, provider.org.org_id) as mis:
        first_id = await mis.send("learner.register.v1", register(provider.org.org_id))
        first = await mis.answer()
        second_id = await mis.send("learner.register.v1", register(provider.org.org_id, last_known_postcode="sw1a1aa"))
        second = await mis.answer()

    assert (first.type, first.correlation_id, body(first)["response_code"]) == (
        "learner.answer.v1",
        first_id,
        "WSRC0005",
    )
    uln = body(first)["uln"]
    assert is_valid_uln(uln)
    assert (second.correlation_id, body(second)["response_code"], body(second)["uln"]) == (second_id, "WSRC0004", uln)


async def test_answers_carry_the_message_conventions(hub: Hub, provider: OrgLogin) -> None:
    """Answers are persistent JSON with a UUID message_id, a type, a timestamp and the hub as user_id."""
    async with Mis(provider.amqp_url, provider.org.org_id) as mis:
        await mis.send("learner.register.v1", register(provider.org.org_id))
        answer = await mis.answer()

    uuid.UUID(answer.message_id or "")
    assert answer.delivery_mode == aio_pika.DeliveryMode.PERSISTENT
    assert (answer.content_type, answer.user_id, answer.timestamp is not None) == ("application/json", "guest", True)


async def test_find_by_uln_with_other_names_is_no_match(hub: Hub, provider: OrgLogin) -> None:
    """A ULN verified against names it was not issued with answers WSRC0001 and discloses nothing."""
    ukprn = provider.org.org_id
    async with Mis(provider.amqp_url, ukprn) as mis:
        await mis.send("learner.register.v1", register(ukprn))
        uln = body(await mis.answer())["uln"]
        await mis.send(
            "learner.find_by_uln.v1", {"ukprn": ukprn, "uln": uln, "given_name": "Zara", "family_name": "Okafor"}
        )
        answer = body(await mis.answer())

    assert (answer["response_code"], answer["uln"], answer["learner"]) == ("WSRC0001", None, None)


async def test_one_provider_cannot_read_another_providers_learner(hub: Hub, add_org: AddOrg) -> None:
    """A provider that never submitted a learner cannot update it and is told only 'not found'."""
    college, school = await add_org(), await add_org()
    async with Mis(college.amqp_url, college.org.org_id) as mis:
        await mis.send("learner.register.v1", register(college.org.org_id))
        uln = body(await mis.answer())["uln"]
    async with Mis(school.amqp_url, school.org.org_id) as mis:
        await mis.send(
            "learner.update.v1",
            {"ukprn": school.org.org_id, "uln": uln, "version": 1, "learner": register("x")["learner"]},
        )
        answer = body(await mis.answer())

    assert (answer["response_code"], answer["learner"]) == ("WSRC0019", None)


async def test_every_answer_is_audited(hub: Hub, provider: OrgLogin) -> None:
    """Each answer leaves an audit entry naming the recipient and the request it answers."""
    async with Mis(provider.amqp_url, provider.org.org_id) as mis:
        request_id = await mis.send("learner.register.v1", register(provider.org.org_id))
        await mis.answer()
    async with hub.pool.acquire() as conn:
        rows = await conn.fetch("SELECT recipient, what, decision FROM audit_log WHERE correlation_id = $1", request_id)

    assert [tuple(r) for r in rows] == [(provider.org.org_id, "learner.register_view", "allowed")]
