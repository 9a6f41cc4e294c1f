"""The inbound adapter: a FastStream subscriber that turns a delivery into one hub call.

Deliveries are handled by a MicroBatcher (several in one transaction when they arrive
together). It alone maps outcomes to the broker: handled -> ack; bad input -> dead-letter copy with the
reason, then ack; a transient fault (a service away) -> held and tried again, however long; a
fault of the message -> after a pause, put back on its queue with its failures counted
(requeue.py), then ack, until the delivery limit: then a dead-letter copy, then ack. A delivery
the broker returned (the process that held it stopped) is put back before it is handled, so
that stops of the hub never count towards a message's limit. Every dead letter the hub makes
is indexed (dead_letter_index.py) once the broker confirmed it. When lrs.dead is full and
refuses the copy, the message is put back on its queue (an error is logged), so it is still
there, or in lrs.dead at last, never lost.
"""

import asyncio
import time
from collections.abc import Awaitable, Callable
from contextlib import suppress
from typing import Any, TypeVar

import structlog
from aio_pika.abc import AbstractChannel, AbstractIncomingMessage
from faststream import AckPolicy
from faststream.message import StreamMessage
from faststream.rabbit import Channel, RabbitBroker, RabbitQueue
from faststream.rabbit.message import RabbitMessage

from adapters.log import pseudonym
from adapters.postgres.dead_letter_index import DeadLetterIndex
from adapters.postgres.dead_letter_quota import DeadLetterQuota
from adapters.postgres.errors import is_transient
from adapters.rabbit import dead_letters, requeue, wire
from adapters.rabbit.batcher import MicroBatcher
from adapters.rabbit.topology import COMMAND_QUEUES
from hub.pipeline.inbound import Handled, HeaderError, InboundMessage, read_batch

log = structlog.get_logger("lrs.inbound")
T = TypeVar("T")
_RETRY_PAUSE_S = 0.5
REQUESTS_INBOX = "requests"  # the inbox's consumer name of every command queue's deliveries
_MAX_HOLD_PAUSE_S = 30.0  # the longest wait between tries of a message held through an outage
_FULL_PAUSE_S = 5.0  # lrs.dead full: room comes from an operator, not in half a second


async def _undecoded(message: StreamMessage[Any]) -> StreamMessage[Any]:
    # FastStream would parse JSON bodies itself and fail outside our handler on a malformed
    # one; the hub validates bodies, so the handler gets the delivery as it is. (With the
    # broker's apply_types=False this also spares FastStream's dependency injection, which
    # resolved the message through a thread pool on every delivery.)
    return message


def _shown(value: str | None) -> str | None:
    """A property as logged: one that is not printable ASCII is escaped, so it never reaches a terminal as sent."""
    if value is None or (value.isascii() and value.isprintable()):
        return value
    return ascii(value)[:300]


def to_inbound(raw: AbstractIncomingMessage, consumer: str, hub_user: str) -> InboundMessage:
    """Read identity from the broker-checked user_id; trust replay headers only from the hub."""
    headers = dict(raw.headers or {})
    sender, routing_key, replay = raw.user_id, raw.routing_key or "", False
    if raw.user_id == hub_user and dead_letters.SENDER in headers:
        # Only the hub's user can publish with this user_id: a replay (adapters/rabbit/dead_letters.py)
        # or a message the hub put back on its queue (requeue.py), as the sender it trusted then.
        sender = str(headers[dead_letters.SENDER]) or None
        routing_key = str(headers.get(dead_letters.ROUTING_KEY, ""))
        replay = dead_letters.REPLAYED_BY in headers
    batch, invalid_header = None, None
    try:
        if wire.UNDECODABLE_HEADERS in headers:
            raise HeaderError("headers", "the header table holds a name that is not UTF-8")
        batch = read_batch(headers)
    except HeaderError as e:
        invalid_header = e
    return InboundMessage(
        consumer=consumer,
        message_id=raw.message_id or "",
        message_type=raw.type,
        sender=sender,
        body=raw.body,
        routing_key=routing_key,
        batch=batch,
        replay=replay,
        invalid_header=invalid_header,
    )


def register_consumer(
    broker: RabbitBroker,
    queue: str,
    batcher: MicroBatcher,
    channel: AbstractChannel,
    hub_user: str,
    prefetch: int,
    quota: DeadLetterQuota,
    index: DeadLetterIndex,
    delivery_limit: int,
) -> None:
    """Subscribe a command queue (declared by adapters/rabbit/topology.py)."""
    # A sender's message ids are one namespace whichever command queue carries the type, so an id
    # reused for another type is a duplicate, not a second request; the hub's events have their own.
    inbox = REQUESTS_INBOX if queue in COMMAND_QUEUES else queue

    @broker.subscriber(
        RabbitQueue(queue, declare=False),
        channel=Channel(prefetch_count=prefetch),  # messages handled concurrently, each its own task
        ack_policy=AckPolicy.MANUAL,
        no_reply=True,
        decoder=_undecoded,
    )
    async def command(message: RabbitMessage) -> None:  # the delivery itself: see _undecoded
        """A request from an organisation: handled by hub.pipeline.inbound with its queue's other deliveries."""
        raw = message.raw_message
        inbound = to_inbound(raw, inbox, hub_user)
        started = time.perf_counter()
        shown_id, shown_type = _shown(inbound.message_id), _shown(inbound.message_type)
        bound = log.bind(message_id=shown_id, type=shown_type, sender=inbound.sender)
        reason: str | None = None

        async def handle() -> Handled:
            nonlocal reason
            handled = await batcher.submit(inbound)
            reason = handled.dead_letter_reason
            if reason and await _to_keep(handled.duplicate, inbound, raw, quota, index):
                await dead_letter(reason)
            return handled

        async def dead_letter(why: str) -> None:
            await dead_letters.dead_letter(
                channel, raw, queue, why, sender=inbound.sender, routing_key=inbound.routing_key, hub_user=hub_user
            )
            # Indexed once the broker confirmed the copy: the index lists what lrs.dead holds.
            await _index(index, inbound, raw, queue, why)

        async def put_back(counts: requeue.Counts) -> None:
            try:
                await requeue.put_back(
                    channel,
                    raw,
                    queue,
                    sender=inbound.sender,
                    routing_key=inbound.routing_key,
                    hub_user=hub_user,
                    counts=counts,
                )
            except Exception as e:  # noqa: BLE001 - the broker took no copy: it gets this delivery back
                bound.warning("message not put back, returned to the broker", error=type(e).__name__)
                with suppress(Exception):  # a closed channel has returned it already
                    await message.nack(requeue=True)  # counted by the broker: put back fresh when redelivered
                return
            await message.ack()

        held = requeue.counts(raw, hub_user)
        if requeue.returned(raw) and held.requeues < requeue.MAX_REQUEUES:
            # The process that held this delivery stopped before it was acknowledged; the broker
            # counted that against the message. Put back fresh: only the message's own failures count.
            bound.info("returned delivery put back", requeues=held.requeues + 1)
            await put_back(requeue.Counts(held.faults, held.requeues + 1))
            return

        try:
            handled = await _held_through_outages(handle, bound)
        except dead_letters.DeadLettersFullError:
            bound.error(
                "lrs.dead is full: this message stays on its queue and is retried; replay or remove dead letters,"
                " or raise LRS_DEAD_LETTER_MAX",
                queue=queue,
            )
            await _refund_quietly(quota, inbound, raw, bound)  # counted again when it is retried
            await asyncio.sleep(_FULL_PAUSE_S)
            await put_back(held)  # not the message's failure: nothing more is counted
            return
        except Exception as e:  # noqa: BLE001 - a fault of this message: retried, up to the delivery limit
            faults = held.faults + 1
            retry = faults < delivery_limit
            bound.warning("message failed", error=type(e).__name__, detail=str(e)[:200], faults=faults, retry=retry)
            await asyncio.sleep(_RETRY_PAUSE_S)
            if retry:
                await put_back(requeue.Counts(faults, held.requeues))
                return
            why = f"delivery limit reached: failed {faults} times ({type(e).__name__})"
            try:
                # Kept whatever the sender's quota: it is not refused input but what the hub could not handle.
                await _held_through_outages(lambda: dead_letter(why), bound)
            except Exception as not_kept:  # noqa: BLE001 - lrs.dead full, or the index refused: kept on its queue
                bound.error("a message that failed was not dead-lettered: it stays on its queue", error=repr(not_kept))
                await asyncio.sleep(_FULL_PAUSE_S)
                await put_back(requeue.Counts(faults, held.requeues))
                return
            await message.ack()
            return
        await message.ack()
        bound.info(
            "message handled",
            outcome="dead_lettered" if handled.dead_letter_reason else "duplicate" if handled.duplicate else "applied",
            code=handled.answer_code,
            reason=handled.dead_letter_reason,
            uln=pseudonym(handled.uln),
            ms=round((time.perf_counter() - started) * 1000, 1),
        )


async def _held_through_outages(handle: Callable[[], Awaitable[T]], bound: Any) -> T:
    """Handle a delivery, trying again for as long as a fault is transient.

    A transient fault (the database away, a concurrent change that won) says nothing of the
    message. Nacked, it would count as a failed delivery, and a few of them would make a good
    message poison; so it is held and tried again, backing off, however long the outage lasts.
    Held deliveries fill the prefetch window: the broker sends no more meanwhile. Only a fault
    of the message itself is raised, to be retried by the broker up to the delivery limit.
    Handling again is safe: the inbox recognises what was already handled.
    """
    pause = _RETRY_PAUSE_S
    while True:
        try:
            return await handle()
        except Exception as e:
            if not is_transient(e):
                raise
            bound.warning("holding the message while a service is away", error=type(e).__name__, retry_in_s=pause)
        await asyncio.sleep(pause)
        pause = min(pause * 2, _MAX_HOLD_PAUSE_S)


async def _refund_quietly(
    quota: DeadLetterQuota, inbound: InboundMessage, raw: AbstractIncomingMessage, bound: Any
) -> None:
    try:
        await quota.refund(inbound.sender or "", dead_letters.kept_size(raw))
    except Exception as e:  # noqa: BLE001 - at worst the sender's quota counts this letter twice
        bound.warning("dead-letter quota not refunded", error=type(e).__name__)


async def _to_keep(
    duplicate: bool,
    inbound: InboundMessage,
    raw: AbstractIncomingMessage,
    quota: DeadLetterQuota,
    index: DeadLetterIndex,
) -> bool:
    """Whether to keep a dead letter: not again if already kept (a sender's resend of the same
    message, a redelivery), and within the sender's quota."""
    if duplicate and await index.holds(inbound.sender, raw.message_id):
        return False
    return await quota.admit(inbound.sender or "", dead_letters.kept_size(raw))


async def _index(
    index: DeadLetterIndex, inbound: InboundMessage, raw: AbstractIncomingMessage, queue: str, reason: str
) -> None:
    await index.record(
        sender=inbound.sender,
        message_id=raw.message_id,
        message_type=raw.type,
        consumer=queue,
        reason=reason,
        size=len(raw.body),
    )
