"""The broker topology, declared in one place (aio-pika) and idempotently at every start.

- `lrs.inbound` (topic): organisations publish `<org>.<message type>`.
- `lrs.registration` (quorum): the Learner Register command queue (find, register, update,
  verify), dead-lettering to `lrs.dlx` after `delivery_limit` failed deliveries.
- `lrs.records` (quorum): the Personal Learning Record's command queue (achievements,
  enrolments, challenges), likewise; its own consumer, so a results-day flood of
  achievements never queues a college's registrations behind it.
- `lrs.sharing` (quorum): learners' choices and partners' requests (consent, feed, partner).
- `lrs.feeds` (quorum), bound to `lrs.events`: the hub's events that partners' feeds are made
  of, offered to each subscribed partner through the disclosure gate.
- `lrs.outbound` (direct) -> `lrs.out.<org>` (quorum): one queue per organisation, routing key
  = org id; only that organisation's RabbitMQ user may read it (adapters/rabbit/admin.py).
- `lrs.events` (topic): the hub's own domain events, routing key = message type.
- `lrs.dlx` (fanout) -> `lrs.dead` (quorum): dead letters, listable and replayable.
"""

import aio_pika
from aio_pika.abc import AbstractChannel, AbstractExchange, AbstractQueue, FieldValue

from hub.pipeline.routes import EVENT_HANDLERS, ROUTES
from hub.pipeline.routing import (
    DEAD_LETTER_EXCHANGE,
    EVENTS_EXCHANGE,
    FEEDS_QUEUE,
    INBOUND_EXCHANGE,
    OUTBOUND_EXCHANGE,
    RECORDS_QUEUE,
    REGISTRATION_QUEUE,
    SHARING_QUEUE,
)

__all__ = ["FEEDS_QUEUE", "RECORDS_QUEUE", "REGISTRATION_QUEUE", "SHARING_QUEUE"]

# Command queue -> the routing keys (`*.<message type>`) it is bound to: exactly the route
# table's, one per message type, so a type is bound where it is handled and nowhere else.
COMMAND_QUEUES: dict[str, tuple[str, ...]] = {
    queue: tuple(f"*.{r.contract.message_type}" for r in ROUTES if r.queue == queue)
    for queue in (REGISTRATION_QUEUE, RECORDS_QUEUE, SHARING_QUEUE)
}
# The hub's events that partners' feeds are made of (and recalls, corrections, re-keys).
FEED_EVENTS = tuple(EVENT_HANDLERS)
# Bindings of earlier versions (by routing-key prefix), removed at start: a type must reach only
# the queue the route table names.
_OLD_BINDINGS = {
    REGISTRATION_QUEUE: ("*.learner.#",),
    RECORDS_QUEUE: ("*.achievement.#", "*.enrolment.#", "*.plr.#"),
    SHARING_QUEUE: ("*.consent.#", "*.feed.#", "*.partner.#"),
    FEEDS_QUEUE: ("achievements.#", "participation.#", "learner.updated.#", "learners.merged.#"),
}
# Where `lrs.inbound` sends what no binding takes (an unknown type, a routing key that is not
# `<org>.<type>`): to the registration queue, whose consumer answers the sender with the reason
# instead of the broker dropping it unanswered. Set as a policy (adapters/rabbit/admin.py), as an
# existing exchange's arguments cannot change.
UNROUTED_EXCHANGE = "lrs.unrouted"
DEAD_LETTER_QUEUE = "lrs.dead"


def command_queue_for(message_type: str) -> str | None:
    """The command queue the route table names for `message_type`, or None (an event, or unknown).

    A replay is sent where the type belongs, never where a header of the message says.
    """
    return next((r.queue for r in ROUTES if r.contract.message_type == message_type), None)


def outbound_queue_name(org_id: str) -> str:
    """The queue an organisation reads its answers from."""
    return f"lrs.out.{org_id}"


def _quorum(extra: dict[str, FieldValue] | None = None) -> dict[str, FieldValue]:
    return {"x-queue-type": "quorum", **(extra or {})}


async def declare_topology(channel: AbstractChannel, delivery_limit: int) -> None:
    """Declare the hub's exchanges and command queues (safe to repeat)."""
    topic, direct = aio_pika.ExchangeType.TOPIC, aio_pika.ExchangeType.DIRECT
    inbound = await channel.declare_exchange(INBOUND_EXCHANGE, topic, durable=True)
    await channel.declare_exchange(OUTBOUND_EXCHANGE, direct, durable=True)
    events = await channel.declare_exchange(EVENTS_EXCHANGE, topic, durable=True)
    dlx = await channel.declare_exchange(DEAD_LETTER_EXCHANGE, aio_pika.ExchangeType.FANOUT, durable=True)
    dead = await channel.declare_queue(DEAD_LETTER_QUEUE, durable=True, arguments=_quorum())
    await dead.bind(dlx)
    unrouted = await channel.declare_exchange(UNROUTED_EXCHANGE, aio_pika.ExchangeType.FANOUT, durable=True)
    arguments = _quorum({"x-dead-letter-exchange": DEAD_LETTER_EXCHANGE, "x-delivery-limit": delivery_limit})
    sources: list[tuple[str, AbstractExchange, tuple[str, ...]]] = [
        *((queue, inbound, keys) for queue, keys in COMMAND_QUEUES.items()),
        (FEEDS_QUEUE, events, FEED_EVENTS),
    ]
    for name, source, bindings in sources:
        queue = await channel.declare_queue(name, durable=True, arguments=arguments)
        for binding in bindings:
            await queue.bind(source, binding)
        for binding in _OLD_BINDINGS[name]:
            await queue.unbind(source, binding)  # a no-op when it is not there
        if name == REGISTRATION_QUEUE:
            await queue.bind(unrouted)


async def declare_outbound_queue(channel: AbstractChannel, org_id: str) -> AbstractQueue:
    """Declare an organisation's own answer queue and bind it (safe to repeat)."""
    exchange = await channel.declare_exchange(OUTBOUND_EXCHANGE, aio_pika.ExchangeType.DIRECT, durable=True)
    queue = await channel.declare_queue(outbound_queue_name(org_id), durable=True, arguments=_quorum())
    await queue.bind(exchange, org_id)
    return queue
