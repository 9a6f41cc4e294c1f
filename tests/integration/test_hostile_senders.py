"""A hostile organisation with its own real broker user: forged replays, stolen message ids,
headers and bodies shaped to make the hub fault. Each is refused, with an answer to its sender."""

import asyncio
import json
import uuid
from typing import Any

import aio_pika
import pytest

from adapters.bootstrap import Hub
from adapters.files.batch import _ROW_NAMESPACE
from adapters.postgres.dead_letter_index import DeadLetterIndex
from adapters.rabbit import dead_letters
from hub.pipeline.inbound import MAX_BODY_BYTES
from tests.integration.conftest import AddOrg, OrgLogin
from tests.integration.mis import Mis, body, dead_letter, register

REGISTER = "learner.register.v1"
FAILED_5 = "delivery limit reached: failed 5 times (RaiseError)"  # the hub's dead letter, at the limit
DIFFERENT_LEARNERS = [
    {"given_name": "Ada", "family_name": "Lovelace", "date_of_birth": "2007-12-10", "last_known_postcode": "N1 9GU"},
    {"given_name": "Bea", "family_name": "Mwangi", "date_of_birth": "2009-03-01", "last_known_postcode": "LS1 4AP"},
]


async def _fault_everything_from(hub: Hub, sender: str) -> None:
    """Make every message from `sender` fault (as in a database outage): its inbox row is refused."""
    async with hub.pool.acquire() as conn:
        await conn.execute(
            "CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'boom'; END $$"
        )
        await conn.execute(
            f"CREATE TRIGGER refuse BEFORE INSERT ON inbox FOR EACH ROW WHEN (NEW.sender = '{sender}')"
            " EXECUTE FUNCTION refuse()"
        )


async def _heal(hub: Hub) -> None:
    async with hub.pool.acquire() as conn:
        await conn.execute("DROP TRIGGER refuse ON inbox")


async def _learners_registered_by(hub: Hub, org_id: str) -> int:
    async with hub.pool.acquire() as conn:
        count: int = await conn.fetchval("SELECT count(*) FROM learner WHERE registered_by = $1", org_id)
        return count


async def test_replay_is_applied_as_the_sender_the_broker_validated_never_a_forged_header(
    hub: Hub, add_org: AddOrg
) -> None:
    """An attacker's message dead-lettered by the delivery limit, with headers naming the victim as
    sender, is replayed as the attacker: the victim's queue gets nothing, the attacker a rejection."""
    victim, attacker = await add_org(), await add_org()
    forged = {
        dead_letters.SENDER: victim.org.org_id,
        dead_letters.ROUTING_KEY: f"{victim.org.org_id}.{REGISTER}",
        dead_letters.QUEUE: "lrs.registration",
        dead_letters.FAULTS: 100,  # counts only the hub may keep: ignored, the limit is not
        dead_letters.REQUEUES: 1000,
    }
    await _fault_everything_from(hub, attacker.org.org_id)
    async with Mis(attacker.amqp_url, attacker.org.org_id) as mis:
        request_id = await mis.send(REGISTER, register(victim.org.org_id), headers=forged)
        letters = await _dead_letters_when_any(hub)
        index = await DeadLetterIndex(hub.pool).find(request_id)
        indexed = [(d.sender, d.reason) for d in index]
        await _heal(hub)
        replayed = await dead_letters.replay(hub.connection, request_id, "guest", "operator:test")
        rejection = await mis.answer()
    async with Mis(victim.amqp_url, victim.org.org_id) as victim_mis:
        victim_untouched = await victim_mis.no_answer(1.5)

    assert [(d.message_id, d.sender, d.reason) for d in letters] == [(request_id, attacker.org.org_id, FAILED_5)]
    assert indexed == [(attacker.org.org_id, FAILED_5)]
    assert (replayed.found, replayed.sender, replayed.queue, replayed.refused) == (
        True,
        attacker.org.org_id,
        "lrs.registration",
        None,
    )
    assert (rejection.correlation_id, body(rejection)["reason"]) == (request_id, "sender_mismatch")
    assert (victim_untouched, await _learners_registered_by(hub, victim.org.org_id)) == (True, 0)


async def _dead_letters_when_any(hub: Hub, timeout_s: float = 30) -> list[dead_letters.DeadLetter]:
    """Wait for lrs.dead to hold something, without taking it."""
    async with asyncio.timeout(timeout_s):
        while not (letters := [p.letter for p in await dead_letters.peek(hub.connection, "guest", 100)]):
            await asyncio.sleep(0.2)
    return letters


async def test_an_event_shaped_message_is_never_replayed(hub: Hub, provider: OrgLogin) -> None:
    """A message shaped as a hub event, with headers pointing its replay at the feeds queue as the
    hub, is refused by replay, and the feeds consumer refuses any replayed event."""
    event = {"event_id": str(uuid.uuid4()), "uln": "9276308686", "achievements": []}
    forged = {dead_letters.SENDER: "guest", dead_letters.QUEUE: "lrs.feeds"}
    async with Mis(provider.amqp_url, provider.org.org_id) as mis:
        request_id = await mis.send(
            "achievements.recorded.v1", event, routing_key=f"{provider.org.org_id}.learner.x", headers=forged
        )
        rejection = await mis.answer()
    await _dead_letters_when_any(hub)
    replayed = await dead_letters.replay(hub.connection, request_id, "guest", "operator:test")

    # Straight onto the feeds queue as a replay by the hub would be: still refused.
    event_id = str(uuid.uuid4())
    await hub.channel.default_exchange.publish(
        aio_pika.Message(
            json.dumps(event).encode(),
            message_id=event_id,
            type="achievements.recorded.v1",
            user_id="guest",
            headers={dead_letters.SENDER: "guest", dead_letters.REPLAYED_BY: "operator:test"},
        ),
        routing_key="lrs.feeds",
    )
    while (refused_event := await dead_letter(hub.channel)).message_id != event_id:
        pass  # the refused replay's dead letter is still there, first

    assert body(rejection)["reason"] == "unknown_message_type"
    assert (replayed.sender, replayed.refused) == (
        provider.org.org_id,
        "'achievements.recorded.v1' is not a request an organisation may send",
    )
    assert (refused_event.headers or {})[dead_letters.REASON] == "events are never accepted from a replay"


async def test_another_organisation_cannot_swallow_my_request_with_my_message_id(hub: Hub, add_org: AddOrg) -> None:
    """An attacker sending first with the victim's message_id, even with the victim's exact bytes,
    neither makes the victim's request a duplicate nor swallows it."""
    victim, attacker = await add_org(), await add_org()
    request_id = str(uuid.uuid4())
    exact = json.dumps(register(victim.org.org_id)).encode()
    async with Mis(attacker.amqp_url, attacker.org.org_id) as mis:
        await mis.send(REGISTER, exact, message_id=request_id)
        attacker_answer = body(await mis.answer())["reason"]
    async with Mis(victim.amqp_url, victim.org.org_id) as mis:
        await mis.send(REGISTER, exact, message_id=request_id)
        answer = await mis.answer()

    assert attacker_answer == "sender_mismatch"
    assert (answer.correlation_id, body(answer)["response_code"]) == (request_id, "WSRC0005")


async def test_predictable_batch_row_ids_sent_first_by_another_organisation_change_nothing(
    hub: Hub, add_org: AddOrg
) -> None:
    """Batch row message ids are derived from the file name and row; another organisation sending
    them first does not make the victim's rows fail."""
    victim, attacker = await add_org(), await add_org()
    batch_id = f"LRB_{victim.org.org_id}_021220260900"
    ids = [str(uuid.uuid5(_ROW_NAMESPACE, f"{batch_id}/{row}")) for row in (1, 2)]  # as adapters/files/batch.py
    async with Mis(attacker.amqp_url, attacker.org.org_id) as mis:
        for message_id in ids:
            await mis.send(REGISTER, register(attacker.org.org_id), message_id=message_id)
        for _ in ids:
            await mis.answer()
    async with Mis(victim.amqp_url, victim.org.org_id) as mis:
        for row, message_id in enumerate(ids, start=1):
            headers = {"x-lrs-batch-id": batch_id, "x-lrs-batch-row": str(row), "x-lrs-batch-rows": "2"}
            learner = register(victim.org.org_id, **DIFFERENT_LEARNERS[row - 1])
            await mis.send(REGISTER, learner, message_id=message_id, headers=headers)
        codes = [body(await mis.answer())["response_code"] for _ in ids]

    assert codes == ["WSRC0005", "WSRC0005"]


@pytest.mark.parametrize(
    ("case", "headers", "loc"),
    [
        ("negative row", {"x-lrs-batch-row": -1}, "x-lrs-batch-row"),
        ("huge row", {"x-lrs-batch-row": 2**40}, "x-lrs-batch-row"),
        ("10 KB batch id", {"x-lrs-batch-id": "LRB_" + "1" * 10_000}, "x-lrs-batch-id"),
        ("invalid UTF-8 batch id", {"x-lrs-batch-id": bytearray(b"LRB_\xff\xfe")}, "x-lrs-batch-id"),
        ("row past the end", {"x-lrs-batch-row": 3}, "x-lrs-batch-row"),
        ("a header missing", {"x-lrs-batch-rows": None}, "x-lrs-batch-rows"),
    ],
)
async def test_bad_batch_headers_are_refused_naming_the_header(
    hub: Hub, provider: OrgLogin, case: str, headers: dict[str, Any], loc: str
) -> None:
    """Batch headers are validated like bodies: a bad one gets an invalid_header rejection at once."""
    ukprn = provider.org.org_id
    good: dict[str, Any] = {"x-lrs-batch-id": f"LRB_{ukprn}_021220260900", "x-lrs-batch-row": 1, "x-lrs-batch-rows": 2}
    sent = {k: v for k, v in (good | headers).items() if v is not None}
    async with Mis(provider.amqp_url, ukprn) as mis:
        request_id = await mis.send(REGISTER, register(ukprn), headers=sent)
        rejection = await mis.answer()
        dead = await dead_letter(hub.channel)

    assert (rejection.correlation_id, body(rejection)["reason"], body(rejection)["errors"][0]["loc"]) == (
        request_id,
        "invalid_header",
        loc,
    )
    assert str((dead.headers or {})[dead_letters.REASON]).startswith("invalid_header")


@pytest.mark.parametrize(
    ("case", "payload", "reason"),
    [
        ("deeply nested JSON", b"[" * 5000 + b"]" * 5000, "malformed_json"),
        ("invalid UTF-8", b'{"ukprn": "\xff"}', "malformed_json"),
        ("body over the limit", b'{"x": "' + b"a" * MAX_BODY_BYTES + b'"}', "too_large"),
    ],
)
async def test_bodies_that_used_to_fault_are_refused_at_once(
    hub: Hub, provider: OrgLogin, case: str, payload: bytes, reason: str
) -> None:
    """Bodies that once raised inside the hub (and were retried to the delivery limit) get a rejection
    naming the problem, with no retry; the oversized one is not kept whole in the dead letters."""
    async with Mis(provider.amqp_url, provider.org.org_id) as mis:
        request_id = await mis.send(REGISTER, payload)
        rejection = await mis.answer()
        dead = await dead_letter(hub.channel)

    assert (rejection.correlation_id, body(rejection)["reason"]) == (request_id, reason)
    assert "x-death" not in (dead.headers or {})  # the hub's own copy, not the broker's after retries
    assert len(dead.body) == (0 if len(payload) > dead_letters.MAX_KEPT_BODY else len(payload))


@pytest.mark.parametrize("text", ["before\u0000after", "bell\u0007", "C1\u0085"], ids=["NUL", "BEL", "NEL"])
async def test_a_control_character_is_refused_not_a_fault(hub: Hub, provider: OrgLogin, text: str) -> None:
    """A control character in free text (valid JSON; PostgreSQL cannot store NUL) is refused at once."""
    ukprn = provider.org.org_id
    async with Mis(provider.amqp_url, ukprn) as mis:
        request_id = await mis.send(REGISTER, register(ukprn, notes=text))
        rejection = await mis.answer()

    assert (rejection.correlation_id, body(rejection)["reason"]) == (request_id, "invalid_contract")
    assert body(rejection)["errors"][0]["loc"] == "learner.notes"
    assert await _learners_registered_by(hub, ukprn) == 0


async def test_a_nul_in_the_amqp_type_is_refused_not_a_fault(hub: Hub, provider: OrgLogin) -> None:
    """A type property with a NUL, routed to the registration queue, is answered unknown_message_type."""
    ukprn = provider.org.org_id
    async with Mis(provider.amqp_url, ukprn) as mis:
        request_id = await mis.send(f"{REGISTER}\u0000", register(ukprn), routing_key=f"{ukprn}.{REGISTER}")
        rejection = await mis.answer()

    assert (rejection.correlation_id, body(rejection)["reason"]) == (request_id, "unknown_message_type")
    assert body(rejection)["request_type"] is None
    assert await _learners_registered_by(hub, ukprn) == 0
