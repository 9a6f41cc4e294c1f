"""Bad input gets a clear rejection, is dead-lettered with its reason, and changes nothing."""

import json
from typing import Any

import aiormq
import pytest

from adapters.bootstrap import Hub
from adapters.rabbit.admin import BrokerAdmin
from adapters.settings import Settings
from contracts.codes import OrganisationKind
from tests.integration.conftest import AddOrg, OrgLogin
from tests.integration.mis import Mis, body, dead_letter, register

REGISTER = "learner.register.v1"


async def _learner_count(hub: Hub) -> int:
    async with hub.pool.acquire() as conn:
        count: int = await conn.fetchval("SELECT count(*) FROM learner")
        return count


@pytest.mark.parametrize(
    ("case", "payload", "reason", "loc"),
    [
        ("malformed JSON", b'{"ukprn": ', "malformed_json", ""),
        ("wrong type", {"learner": {"gender": "female"}}, "invalid_contract", "learner.gender"),
        ("oversized field", {"learner": {"family_name": "X" * 36}}, "invalid_contract", "learner.family_name"),
        ("unknown code value", {"learner": {"verification_type": 42}}, "invalid_contract", "learner.verification_type"),
        ("unknown field", {"learner": {"shoe_size": 9}}, "invalid_contract", "learner.shoe_size"),
        ("body claims another provider", {"ukprn": "10000001"}, "sender_mismatch", "ukprn"),
    ],
)
async def test_bad_message_is_rejected_and_dead_lettered(
    hub: Hub, provider: OrgLogin, case: str, payload: Any, reason: str, loc: str
) -> None:
    """The sender is told what is wrong, the original lands in lrs.dead with the reason, no learner is written."""
    ukprn = provider.org.org_id
    if isinstance(payload, dict):
        base = register(ukprn)
        payload = json.dumps(base | {k: v for k, v in payload.items() if k != "learner"} |
                             {"learner": base["learner"] | payload.get("learner", {})}).encode()  # fmt: skip
    async with Mis(provider.amqp_url, ukprn) as mis:
        request_id = await mis.send(REGISTER, payload)
        rejection = await mis.answer()
        dead = await dead_letter(hub.channel)
        # The hub keeps running: the next good message is answered.
        await mis.send(REGISTER, register(ukprn))
        next_answer = body(await mis.answer())

    assert (rejection.type, rejection.correlation_id, body(rejection)["reason"]) == (
        "message.rejected.v1",
        request_id,
        reason,
    )
    assert loc in [e["loc"] for e in body(rejection)["errors"]]
    headers = dead.headers or {}
    assert (dead.message_id, dead.body) == (request_id, payload)
    assert str(headers["x-lrs-dead-letter-reason"]).startswith(reason)
    assert (headers["x-lrs-sender"], headers["x-lrs-consumer"]) == (ukprn, "lrs.registration")
    assert next_answer["response_code"] == "WSRC0005"
    assert await _learner_count(hub) == 1


async def test_suspended_sender_is_refused_with_a_reason(hub: Hub, provider: OrgLogin) -> None:
    """A suspended provider's request is answered with sender_not_allowed and not applied."""
    async with hub.pool.acquire() as conn:
        await conn.execute("UPDATE organisation SET status = 'suspended' WHERE org_id = $1", provider.org.org_id)
    async with Mis(provider.amqp_url, provider.org.org_id) as mis:
        await mis.send(REGISTER, register(provider.org.org_id))
        rejection = body(await mis.answer())

    assert (rejection["reason"], rejection["errors"][0]["message"]) == (
        "sender_not_allowed",
        "the sending organisation is suspended",
    )
    assert await _learner_count(hub) == 0


async def test_awarding_organisation_may_not_register_learners(hub: Hub, add_org: AddOrg) -> None:
    """An awarding organisation sending a provider's message is refused as not allowed."""
    awarding = await add_org(OrganisationKind.AWARDING_ORGANISATION, org_id="100062")
    async with Mis(awarding.amqp_url, "100062") as mis:
        await mis.send(REGISTER, register("100062"))
        rejection = body(await mis.answer())

    assert rejection["reason"] == "sender_not_allowed"


async def test_unknown_sender_is_dead_lettered_without_answer(
    hub: Hub, broker_admin: BrokerAdmin, settings: Settings
) -> None:
    """A broker user missing from the organisation register gets nothing back; its message is dead-lettered."""
    await broker_admin.add_organisation_user("19999999", "pw")
    try:
        async with Mis(settings.amqp_url_for("19999999", "pw"), "19999999") as mis:
            request_id = await mis.send(REGISTER, register("19999999"))
            dead = await dead_letter(hub.channel)
    finally:
        await broker_admin.delete_user("19999999")

    assert (dead.message_id, str((dead.headers or {})["x-lrs-dead-letter-reason"])) == (
        request_id,
        "unknown sender '19999999'",
    )


async def test_broker_refuses_a_user_id_that_is_not_the_connections(hub: Hub, provider: OrgLogin) -> None:
    """Impersonation fails at the broker: user_id must equal the authenticated user."""
    async with Mis(provider.amqp_url, provider.org.org_id) as mis:
        with pytest.raises(aiormq.exceptions.ChannelPreconditionFailed):
            await mis.send(REGISTER, register("10000001"), user_id="10000001")


async def test_broker_refuses_another_organisations_routing_key(hub: Hub, provider: OrgLogin) -> None:
    """Topic permissions stop a provider publishing under another organisation's routing key."""
    async with Mis(provider.amqp_url, provider.org.org_id) as mis:
        with pytest.raises(aiormq.exceptions.ChannelAccessRefused):
            await mis.send(REGISTER, register(provider.org.org_id), routing_key="10000001." + REGISTER)


async def test_provider_cannot_read_another_providers_queue(hub: Hub, add_org: AddOrg) -> None:
    """An organisation's user may consume only its own answer queue."""
    college, school = await add_org(), await add_org()
    async with Mis(school.amqp_url, school.org.org_id) as mis:
        queue = await mis.channel.get_queue(f"lrs.out.{college.org.org_id}", ensure=False)
        with pytest.raises(aiormq.exceptions.ChannelAccessRefused):
            await queue.get(fail=False)


async def test_duplicate_message_id_is_answered_once(hub: Hub, provider: OrgLogin) -> None:
    """A redelivered message is skipped; the same message_id on a different body is rejected."""
    ukprn = provider.org.org_id
    async with Mis(provider.amqp_url, ukprn) as mis:
        request_id = await mis.send(REGISTER, register(ukprn))
        first = body(await mis.answer())
        await mis.send(REGISTER, register(ukprn), message_id=request_id)
        assert await mis.no_answer(1.5)
        await mis.send(REGISTER, register(ukprn, given_name="Zara"), message_id=request_id)
        clash = body(await mis.answer())

    assert (first["response_code"], clash["reason"]) == ("WSRC0005", "duplicate_message_id")
    assert await _learner_count(hub) == 1


async def test_a_message_id_reused_for_a_type_on_another_queue_is_a_duplicate(hub: Hub, provider: OrgLogin) -> None:
    """A sender's message ids are one namespace whichever queue carries the type: an id used for a
    registration, reused for a lookup (the same queue) or an enrolment (lrs.records), is refused, not applied."""
    ukprn = provider.org.org_id
    async with Mis(provider.amqp_url, ukprn) as mis:
        request_id = await mis.send(REGISTER, register(ukprn))
        first = await mis.answer()
        await mis.send("learner.find_by_uln.v1", {"ukprn": ukprn, "uln": "1234567890"}, message_id=request_id)
        clash = await mis.answer()
        await mis.send("enrolment.publish.v1", {"ukprn": ukprn}, message_id=request_id)
        other_queue = await mis.answer()

    assert (body(first)["response_code"], body(clash)["reason"]) == ("WSRC0005", "duplicate_message_id")
    assert (other_queue.correlation_id, body(other_queue)["reason"]) == (request_id, "duplicate_message_id")
