"""Putting a delivery back on its queue as a new message, counting only the message's own failures.

RabbitMQ 3.10's quorum queues count every return of a delivery towards the delivery limit: a
nack, and a channel that closed holding it, alike. A hub killed again and again as its
consumers start (a crash loop) would so make poison of every good message it held each time.
So the hub never returns a delivery to retry it. It publishes a copy to the same queue (the
default exchange, which no organisation may publish to) with the hub's `user_id`, carrying in
headers only the hub may write the sender and routing key it trusted at first delivery, how
often the message's own handling failed (`FAULTS`) and how often the hub put it back
(`REQUEUES`), and then acknowledges the delivery. The consumer dead-letters a message once
`FAULTS` reaches the delivery limit (consumer.py).

A delivery the broker returned (its `x-delivery-count` above 0: the process that held it
stopped) is put back the same way before it is handled, so its broker count starts again.
A message that itself kills the hub would then go round for ever: after `MAX_REQUEUES` the hub
no longer puts it back, and the broker's delivery limit dead-letters it.

Killed between the copy's confirm and the ack, the hub leaves two copies: the inbox recognises
the second as a redelivery (same sender, id and body).
"""

from dataclasses import dataclass

import aio_pika
from aio_pika.abc import AbstractChannel, AbstractIncomingMessage

from adapters.rabbit import dead_letters

# A message in flight at this many stops of the hub is taken for one that stops it. A crash loop
# of the hub itself costs each message it holds one put-back per crash, so this is far above
# the crash loops an operator lets run, and below a night of one message killing the hub.
MAX_REQUEUES = 20


@dataclass(frozen=True)
class Counts:
    """What the hub has recorded on a delivery: its failed handlings, and how often it was put back."""

    faults: int = 0
    requeues: int = 0


def counts(raw: AbstractIncomingMessage, hub_user: str) -> Counts:
    """The hub's counts on `raw`; on anything the hub did not publish, none (a sender's headers count nothing)."""
    if raw.user_id != hub_user:
        return Counts()
    headers = raw.headers or {}
    return Counts(_count(headers.get(dead_letters.FAULTS)), _count(headers.get(dead_letters.REQUEUES)))


def returned(raw: AbstractIncomingMessage) -> bool:
    """Whether the broker delivered `raw` before: the hub never returns a delivery itself."""
    return _count((raw.headers or {}).get("x-delivery-count")) > 0


async def put_back(
    channel: AbstractChannel,
    raw: AbstractIncomingMessage,
    queue: str,
    *,
    sender: str | None,
    routing_key: str,
    hub_user: str,
    counts: Counts,
) -> None:
    """Publish `raw` again to `queue` as the hub, with the trusted sender and key and `counts`; wait for the confirm."""
    # On the hub's own copy every x-lrs-* header is the hub's (a replay's operator, say): kept.
    headers = dead_letters.trusted_headers(raw, hub_user) | {
        dead_letters.SENDER: sender or "",
        dead_letters.ROUTING_KEY: dead_letters.short(routing_key) or "",
        dead_letters.FAULTS: counts.faults,
        dead_letters.REQUEUES: counts.requeues,
    }
    copy = aio_pika.Message(
        body=raw.body,
        headers=headers,
        content_type=dead_letters.short(raw.content_type),
        message_id=dead_letters.short(raw.message_id),
        correlation_id=dead_letters.short(raw.correlation_id),
        type=dead_letters.short(raw.type),
        timestamp=raw.timestamp,
        user_id=hub_user,  # the hub vouches for the sender header, and only the hub may
        delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
    )
    await channel.default_exchange.publish(copy, routing_key=queue, mandatory=True)


def _count(value: object) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else 0
