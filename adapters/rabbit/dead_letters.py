"""Dead letters: the hub's own (with the reason in headers), listing and replay.

The broker's dead-lettering (after the delivery limit) cannot add a reason, so for bad input
the hub publishes the original itself to `lrs.dlx`, with its properties and these headers,
and only then acknowledges it.

Who sent a dead letter is never read from anything its sender could write. Only the broker
(dead-lettering after the delivery limit) and the hub's own user may publish into `lrs.dlx`:
- a copy the hub made carries `user_id` = the hub's user, and the hub wrote every `x-lrs-*`
  header on it itself (whatever such headers the original carried are dropped first);
- anything else was dead-lettered by the broker, which keeps the original's properties: its
  `user_id` is the one the broker validated at first delivery, and its `x-lrs-*` headers are
  the sender's own words, ignored.
"""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import aio_pika
from aio_pika.abc import AbstractChannel, AbstractConnection, AbstractIncomingMessage
from aio_pika.exceptions import ChannelNotFoundEntity, DeliveryError, PublishError

from adapters.rabbit.topology import DEAD_LETTER_QUEUE, command_queue_for
from contracts import REQUESTS
from hub.pipeline.routing import DEAD_LETTER_EXCHANGE

REASON = "x-lrs-dead-letter-reason"
CONSUMER = "x-lrs-consumer"
SENDER = "x-lrs-sender"  # the broker-validated sender, as the hub saw it at first delivery
ROUTING_KEY = "x-lrs-routing-key"
QUEUE = "x-lrs-queue"
AT = "x-lrs-dead-lettered-at"
BODY_SIZE = "x-lrs-body-size"  # set when the body was too large to keep
REPLAYED_BY = "x-lrs-replayed-by"
FAULTS = "x-lrs-faults"  # a message put back on its queue: how often its handling failed (requeue.py)
REQUEUES = "x-lrs-requeues"  # and how often the hub put it back
# Only the hub may write these: whatever values a sender gave them are dropped. The broker
# writes the last two (on a dead letter, and on every delivery from a quorum queue).
_HUB_HEADERS = frozenset(
    {REASON, CONSUMER, SENDER, ROUTING_KEY, QUEUE, AT, BODY_SIZE, REPLAYED_BY, FAULTS, REQUEUES}
    | {"x-death", "x-delivery-count"}
)

# What is kept of a dead letter's body: a rejected 10 MB body is not kept whole (its reason,
# size and properties are); nothing the hub accepts is anywhere near this.
MAX_KEPT_BODY = 256 * 1024


class DeadLettersFullError(Exception):
    """Raised when the broker refuses a dead letter's copy: lrs.dead is at its length limit."""


async def dead_letter(
    channel: AbstractChannel,
    message: AbstractIncomingMessage,
    consumer: str,
    reason: str,
    *,
    sender: str | None,
    routing_key: str,
    hub_user: str,
) -> None:
    """Publish a copy of `message` to the dead-letter exchange with the reason; wait for the confirm.

    `sender` and `routing_key` are the ones the hub trusted for this delivery (the broker-validated
    `user_id` and the key it was published with, or for a message the hub put back on its queue
    those it recorded), never a header of the message.
    """
    headers = senders_headers(message)
    body = message.body
    if len(body) > MAX_KEPT_BODY:
        headers[BODY_SIZE] = len(body)
        body = b""
    headers.update(
        {
            REASON: reason[:1000],
            CONSUMER: consumer,
            SENDER: sender or "",
            ROUTING_KEY: short(routing_key) or "",
            QUEUE: consumer,
            AT: datetime.now(UTC).isoformat(),
        }
    )
    copy = aio_pika.Message(
        body=body,
        headers=headers,
        content_type=short(message.content_type),
        message_id=short(message.message_id),
        correlation_id=short(message.correlation_id),
        type=short(message.type),
        timestamp=message.timestamp,
        user_id=hub_user,  # marks the copy as the hub's: only the hub's user can set this
        delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
    )
    exchange = await channel.get_exchange(DEAD_LETTER_EXCHANGE, ensure=False)
    try:
        await exchange.publish(copy, routing_key=short(routing_key) or "", mandatory=True)
    except PublishError:  # returned unroutable, not refused: a fault, lrs.dead is not bound
        raise
    except DeliveryError as e:  # a nack: lrs.dead's reject-publish overflow (admin.py)
        raise DeadLettersFullError(f"{DEAD_LETTER_QUEUE} refused the dead letter (nack): it is full") from e


def kept_size(message: AbstractIncomingMessage) -> int:
    """How many bytes of `message`'s body a dead letter keeps."""
    return len(message.body) if len(message.body) <= MAX_KEPT_BODY else 0


def senders_headers(message: AbstractIncomingMessage) -> dict[str, Any]:
    """The headers its sender gave `message`, as they can be published again: none of the hub's."""
    return {k: _encodable(v) for k, v in (message.headers or {}).items() if k not in _HUB_HEADERS}


def trusted_headers(message: AbstractIncomingMessage, hub_user: str) -> dict[str, Any]:
    """`message`'s headers as they can be published again, the hub's own kept only if the hub published it."""
    if message.user_id != hub_user:
        return senders_headers(message)
    broker_s = ("x-death", "x-delivery-count")
    return {k: _encodable(v) for k, v in (message.headers or {}).items() if k not in broker_s}


def _encodable(value: Any) -> Any:
    """A header value as pamqp can publish it again: a long string that was not UTF-8 is read as
    bytes, which pamqp cannot encode, so it is kept as a byte array (the same bytes)."""
    if isinstance(value, bytes):
        return bytearray(value)
    if isinstance(value, dict):
        return {k: _encodable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_encodable(v) for v in value]
    return value


def short(value: str | None) -> str | None:
    """At most an AMQP short string's 255 bytes: a property read with U+FFFD for what was not
    UTF-8 (adapters/rabbit/wire.py) can be longer than the bytes it came from."""
    if value is None:
        return None
    return value.encode()[:255].decode(errors="ignore")


@dataclass(frozen=True)
class DeadLetter:
    """A dead letter as an operator sees it (no body: it may hold learner data)."""

    message_id: str | None
    message_type: str | None
    sender: str
    reason: str
    at: str
    size: int


def trusted_sender(message: AbstractIncomingMessage, hub_user: str) -> str | None:
    """Who sent a dead letter, from what the broker validated (see the module docstring)."""
    if message.user_id == hub_user:
        return str((message.headers or {}).get(SENDER) or "") or None
    return message.user_id or None


def describe(message: AbstractIncomingMessage, hub_user: str) -> DeadLetter:
    headers: dict[str, Any] = message.headers or {}  # `ours`: read as the hub wrote them (an int size)
    ours = message.user_id == hub_user
    reason = str(headers.get(REASON)) if ours and REASON in headers else _broker_reason(headers)
    at = str(headers.get(AT, "")) if ours else ""
    size = int(headers.get(BODY_SIZE) or len(message.body)) if ours else len(message.body)
    sender = trusted_sender(message, hub_user) or ""
    return DeadLetter(message.message_id, message.type, sender, reason, at, size)


def _broker_reason(headers: dict[str, Any]) -> str:
    deaths = headers.get("x-death") or []
    if deaths and isinstance(deaths, list) and isinstance(deaths[0], dict):
        first = deaths[0]
        return f"broker: {first.get('reason')} from {first.get('queue')} (delivery limit reached)"
    return "unknown"


def consumer_of(message: AbstractIncomingMessage, hub_user: str) -> str:
    """The queue a dead letter came from (the hub's header on its copy, the broker's x-death otherwise)."""
    headers = message.headers or {}
    if message.user_id == hub_user and CONSUMER in headers:
        return str(headers[CONSUMER])
    deaths = headers.get("x-death") or []
    if deaths and isinstance(deaths, list) and isinstance(deaths[0], dict):
        return str(deaths[0].get("queue") or "")
    return ""


def dead_lettered_at(message: AbstractIncomingMessage, hub_user: str) -> datetime | None:
    """When it was dead-lettered, as the hub's header or the broker's x-death says."""
    headers = message.headers or {}
    if message.user_id == hub_user and AT in headers:
        try:
            return datetime.fromisoformat(str(headers[AT]))
        except ValueError:
            return None
    deaths = headers.get("x-death") or []
    if deaths and isinstance(deaths, list) and isinstance(deaths[0], dict):
        at = deaths[0].get("time")
        if isinstance(at, datetime):
            return at if at.tzinfo else at.replace(tzinfo=UTC)
    return None


async def held_count(channel: AbstractChannel) -> int:
    """How many letters lrs.dead holds (a passive declare: nothing is read)."""
    # On the underlying channel: a robust channel answers a passive declare from its cache.
    underlay = await channel.get_underlay_channel()
    try:
        declared = await underlay.queue_declare(DEAD_LETTER_QUEUE, passive=True)
    except ChannelNotFoundEntity:  # no hub has declared its topology on this vhost yet (closes the channel)
        return 0
    return int(declared.message_count or 0)


@asynccontextmanager
async def _reading(connection: AbstractConnection) -> AsyncIterator[aio_pika.abc.AbstractQueue]:
    """lrs.dead on a channel of its own, every letter read from it requeued at the end.

    Reading is a delivery: each letter read has its x-delivery-count raised by one (RabbitMQ
    3.10's quorum queues count a nack, a reject and a closed channel alike; there is no way to
    read one without). Only the operator's `--peek` and `--scan` read; see admin.py for why
    that can never make the broker drop a letter.
    """
    channel = await connection.channel(publisher_confirms=True, on_return_raises=True)
    try:
        yield await channel.get_queue(DEAD_LETTER_QUEUE, ensure=False)
    finally:
        await channel.close()  # returns every letter still unacknowledged


@dataclass(frozen=True)
class Peeked:
    """A dead letter read from the queue, with its body (learner data: for the operator's eyes)."""

    letter: DeadLetter
    consumer: str
    at: datetime | None
    body: bytes


async def peek(connection: AbstractConnection, hub_user: str, limit: int) -> list[Peeked]:
    """Read up to `limit` dead letters with their bodies and put them all back."""
    peeked: list[Peeked] = []
    async with _reading(connection) as queue:
        while len(peeked) < limit:
            message = await queue.get(no_ack=False, fail=False)
            if message is None:
                break
            peeked.append(
                Peeked(
                    describe(message, hub_user),
                    consumer_of(message, hub_user),
                    dead_lettered_at(message, hub_user),
                    message.body,
                )
            )
    return peeked


@dataclass(frozen=True)
class Replay:
    """What replaying one dead letter did: `refused` says why it was not replayed."""

    message_id: str
    found: bool
    sender: str | None = None
    message_type: str | None = None
    queue: str | None = None
    refused: str | None = None


def _refusal(message: AbstractIncomingMessage, sender: str | None, hub_user: str) -> str | None:
    if sender is None:
        return "its sender is not known (no user_id was validated)"
    if sender == hub_user:
        return "it was published by the hub itself: events and the hub's own messages are never replayed"
    if message.type not in REQUESTS:
        return f"{message.type!r} is not a request an organisation may send"
    if BODY_SIZE in (message.headers or {}) and message.user_id == hub_user:
        return "its body was too large to be kept"
    return None


async def replay(
    connection: AbstractConnection, message_id: str, hub_user: str, operator: str, sender: str | None = None
) -> Replay:
    """Move one dead letter back onto the command queue of its type, as its original sender.

    The sender is `trusted_sender` (never a header its sender wrote) and the queue is the one
    the route table gives the message type (never a header either). The copy is published
    through the default exchange straight to the queue, which no organisation may write to,
    with the hub's `user_id`, so the consumer trusts its `x-lrs-sender`.

    The queue is read up to the letter (given `sender`, the first with that id from that
    sender): look the id up in the index first (dead_letter_index.py), so that an unknown id
    reads nothing. Only the last letter read is held in memory; the others are requeued
    together at the end.
    """
    async with _reading(connection) as queue:
        while True:
            message = await queue.get(no_ack=False, fail=False)
            if message is None:
                return Replay(message_id, found=False)
            found_sender = trusted_sender(message, hub_user)
            if message.message_id != message_id or (sender is not None and (found_sender or "") != sender):
                continue
            target = command_queue_for(message.type or "")
            refused = _refusal(message, found_sender, hub_user) or (None if target else "no queue takes its type")
            outcome = Replay(message_id, True, found_sender, message.type, target, refused)
            if refused or target is None or found_sender is None:
                return outcome
            original_key = (
                str((message.headers or {}).get(ROUTING_KEY) or "")
                if message.user_id == hub_user
                else message.routing_key or ""
            )
            headers = senders_headers(message) | {
                SENDER: found_sender,
                ROUTING_KEY: original_key,
                REPLAYED_BY: operator,
            }
            await queue.channel.default_exchange.publish(
                aio_pika.Message(
                    body=message.body,
                    headers=headers,
                    content_type=short(message.content_type),
                    message_id=message.message_id,
                    type=message.type,
                    user_id=hub_user,  # the hub vouches for x-lrs-sender, and only the hub may
                    delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
                ),
                routing_key=target,
                mandatory=True,
            )
            await message.ack()
            return outcome
