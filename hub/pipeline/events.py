"""The one way the hub's own events reach `lrs.events`: through the outbox, in the unit of work
that raised them, so an event goes out if and only if its cause was committed."""

from contracts.base import Contract
from hub.kernel.ports import OutboundMessage, UnitOfWork
from hub.pipeline.routing import EVENTS_EXCHANGE


async def publish_event(uow: UnitOfWork, event: Contract) -> None:
    """Queue `event` on lrs.events, routed by its type."""
    body = event.model_dump(mode="json")
    await uow.outbox.add(OutboundMessage(EVENTS_EXCHANGE, event.message_type, event.message_type, body))
