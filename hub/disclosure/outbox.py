"""The gate's way out: the only place an outbound message is built (a test proves it).

Everything here is queued only after `decide` allowed it and `audit` recorded the decision.
"""

from contracts.base import Contract
from hub.kernel.model import Organisation
from hub.kernel.ports import OutboundMessage, UnitOfWork
from hub.pipeline.routing import OUTBOUND_EXCHANGE


async def queue(
    uow: UnitOfWork,
    recipient: Organisation,
    message: Contract,
    correlation_id: str | None,
    headers: dict[str, str] | None = None,
) -> None:
    """Put `message` in the outbox for `recipient`'s own queue; the relay publishes it after commit."""
    await uow.outbox.add(
        OutboundMessage(
            exchange=OUTBOUND_EXCHANGE,
            routing_key=recipient.org_id,
            message_type=message.message_type,
            body=message.model_dump(mode="json"),
            correlation_id=correlation_id,
            headers=headers or {},
        )
    )
