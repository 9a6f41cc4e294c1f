"""Dead letters: the hub's own (with the reason in headers), listing and replay.

The broker's dead-lettering (after the delivery limit) cannot add a reason, so for bad input
the hub publishes the original itself to `lrs.dlx`, with its properties and these headers,
and only then acknowledges it.
"""

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import aio_pika
from aio_pika.abc import AbstractChannel, AbstractIncomingMessage

from adapters.rabbit.topology import DEAD_LETTER_QUEUE, REGISTRATION_QUEUE
from hub.routing import DEAD_LETTER_EXCHANGE

REASON = "x-lrs-dead-letter-reason"
CONSUMER = "x-lrs-consumer"
SENDER = "x-lrs-sender"  # the original user_id: a replay cannot publish as that user
ROUTING_KEY = "x-lrs-routing-key"
QUEUE = "x-lrs-queue"
AT = "x-lrs-dead-lettered-at"


async def dead_letter(channel: AbstractChannel, message: AbstractIncomingMessage, consumer: str, reason: str) -> None:
    """Publish a copy of `message` to the dead-letter exchange with the reason; wait for the confirm."""
    headers: dict[str, Any] = dict(message.headers or {})
    headers.update(
        {
            REASON: reason[:1000],
            CONSUMER: consumer,
            SENDER: message.user_id or "",
            ROUTING_KEY: message.routing_key or "",
            QUEUE: consumer,  # the command queue it came from, where a replay returns it
            AT: datetime.now(UTC).isoformat(),
        }
    )
    copy = aio_pika.Message(
        body=message.body,
        headers=headers,
        content_type=message.content_type,
        message_id=message.message_id,
        correlation_id=message.correlation_id,
        type=message.type,
        timestamp=message.timestamp,
        delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
    )
    exchange = await channel.get_exchange(DEAD_LETTER_EXCHANGE, ensure=False)
    await exchange.publish(copy, routing_key=message.routing_key or "", mandatory=True)


@dataclass(frozen=True)
class DeadLetter:
    """A dead letter as an operator sees it (no body: it may hold learner data)."""

    message_id: str | None
    message_type: str | None
    sender: str
    reason: str
    at: str
    size: int


def describe(message: AbstractIncomingMessage) -> DeadLetter:
    headers = message.headers or {}
    reason = str(headers.get(REASON) or _broker_reason(headers))
    sender = str(headers.get(SENDER) or message.user_id or "")
    return DeadLetter(message.message_id, message.type, sender, reason, str(headers.get(AT, "")), len(message.body))


def _broker_reason(headers: dict[str, Any]) -> str:
    deaths = headers.get("x-death") or []
    if deaths and isinstance(deaths, list):
        first = deaths[0]
        return f"broker: {first.get('reason')} from {first.get('queue')} (delivery limit reached)"
    return "unknown"


async def list_dead_letters(channel: AbstractChannel, limit: int = 100) -> list[DeadLetter]:
    """Peek at dead letters without removing them (they are requeued after reading)."""
    queue = await channel.get_queue(DEAD_LETTER_QUEUE, ensure=False)
    seen: list[AbstractIncomingMessage] = []
    try:
        while len(seen) < limit:
            message = await queue.get(no_ack=False, fail=False)
            if message is None:
                break
            seen.append(message)
        return [describe(m) for m in seen]
    finally:
        for m in seen:
            await m.nack(requeue=True)


async def replay(channel: AbstractChannel, message_id: str, hub_user: str) -> bool:
    """Move one dead letter back onto its command queue, keeping its original sender.

    Published through the default exchange straight to the queue, which no organisation may
    write to, so the hub trusts `x-lrs-sender` only on messages its own user published.
    """
    queue = await channel.get_queue(DEAD_LETTER_QUEUE, ensure=False)
    held: list[AbstractIncomingMessage] = []
    try:
        while True:
            message = await queue.get(no_ack=False, fail=False)
            if message is None:
                return False
            if message.message_id != message_id:
                held.append(message)
                continue
            headers = dict(message.headers or {})
            target = str(headers.get(QUEUE) or REGISTRATION_QUEUE)
            headers.pop("x-death", None)
            if not headers.get(SENDER) and message.user_id:
                headers[SENDER] = message.user_id
            await channel.default_exchange.publish(
                aio_pika.Message(
                    body=message.body,
                    headers=headers,
                    content_type=message.content_type,
                    message_id=message.message_id,
                    type=message.type,
                    user_id=hub_user,  # the hub vouches for x-lrs-sender, and only the hub may
                    delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
                ),
                routing_key=target,
                mandatory=True,
            )
            await message.ack()
            return True
    finally:
        for m in held:
            await m.nack(requeue=True)
