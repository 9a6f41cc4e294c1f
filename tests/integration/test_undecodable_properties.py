"""AMQP properties any client can send that aio-pika cannot: invalid UTF-8, no message_id at all.

RabbitMQ passes short strings on unchecked. Before adapters/rabbit/wire.py, one message whose
message_id, type or a header name was not UTF-8 closed the hub's connection at every delivery
(pamqp raised in aiormq's frame reader) until the delivery limit; and aio-pika clients cannot
send a message without a message_id (aiormq invents one), so that rejection was never tried.
"""

import json
from typing import Any

import aio_pika
import pytest

from adapters.bootstrap import Hub
from bench.fuzzing import RawStr, wire_message_id
from tests.integration.conftest import OrgLogin
from tests.integration.mis import Mis, body, dead_letter, register

REGISTER = "learner.register.v1"


async def _publish_raw(mis: Mis, *, message_id: str | None, type_: str, headers: dict[str, Any]) -> bytes:
    """Publish with properties exactly as given (past aio-pika's str() and aiormq's default id); the body."""
    message = aio_pika.Message(
        json.dumps(register(mis.org_id)).encode(),
        content_type="application/json",
        user_id=mis.org_id,
        headers=headers,
        delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
    )
    message.message_id, message.type = wire_message_id(message_id), type_
    exchange = await mis.channel.get_exchange("lrs.inbound", ensure=False)
    await exchange.publish(message, routing_key=f"{mis.org_id}.{REGISTER}")
    return message.body


@pytest.mark.parametrize(
    ("message_id", "type_", "headers", "reason", "message"),
    [
        pytest.param(
            RawStr(b"\xff\xfe-id"), REGISTER, {}, "invalid_contract", "printable ASCII", id="message_id not UTF-8"
        ),
        pytest.param(
            RawStr(b"\xff" * 255), REGISTER, {}, "invalid_contract", "printable", id="message_id 255 bytes not UTF-8"
        ),
        pytest.param("t-1", RawStr(REGISTER.encode() + b"\xff"), {}, "unknown_message_type", "", id="type not UTF-8"),
        pytest.param(
            "h-1", REGISTER, {RawStr(b"x-\xff"): 1}, "invalid_header", "not UTF-8", id="a header name not UTF-8"
        ),
        pytest.param(None, REGISTER, {}, "invalid_contract", "message_id property is required", id="no message_id"),
        pytest.param("", REGISTER, {}, "invalid_contract", "message_id property is required", id="an empty message_id"),
    ],
)
async def test_undecodable_or_missing_property_is_refused_and_the_hub_keeps_its_connection(
    hub: Hub,
    provider: OrgLogin,
    message_id: str | None,
    type_: str,
    headers: dict[str, Any],
    reason: str,
    message: str,
) -> None:
    """Answered with a rejection, dead-lettered once with the reason, nothing applied; the next request is answered."""
    async with Mis(provider.amqp_url, provider.org.org_id) as mis:
        sent = await _publish_raw(mis, message_id=message_id, type_=type_, headers=headers)
        rejection = await mis.answer()
        dead = await dead_letter(hub.channel)
        await mis.send(REGISTER, register(provider.org.org_id))
        after = body(await mis.answer())
    async with hub.pool.acquire() as conn:
        learners = await conn.fetchval("SELECT count(*) FROM learner")

    rejected = body(rejection)
    assert (rejection.type, rejected["reason"]) == ("message.rejected.v1", reason)
    assert message in " ".join(e["message"] for e in rejected["errors"])
    # An id the hub may not echo is not echoed: the sender tells the answer by its queue alone.
    assert rejection.correlation_id is None or rejection.correlation_id == message_id
    assert str((dead.headers or {})["x-lrs-dead-letter-reason"]).startswith(reason)
    assert (dead.body, after["response_code"], learners) == (sent, "WSRC0005", 1)
