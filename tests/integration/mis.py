"""A provider's MIS for tests: plain aio-pika, publishing as the organisation's own user."""

import asyncio
import json
import time
import uuid
from typing import Any

import aio_pika
from aio_pika.abc import AbstractChannel, AbstractIncomingMessage, AbstractRobustConnection

ANSWER_TIMEOUT_S = 15


class Mis:
    def __init__(self, amqp_url: str, org_id: str) -> None:
        self.url, self.org_id = amqp_url, org_id
        self.connection: AbstractRobustConnection
        self.channel: AbstractChannel

    async def __aenter__(self) -> "Mis":
        self.connection = await aio_pika.connect_robust(self.url)
        self.channel = await self.connection.channel(publisher_confirms=True)
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.connection.close()

    async def send(
        self,
        message_type: str,
        body: dict[str, Any] | bytes,
        *,
        message_id: str | None = None,
        routing_key: str | None = None,
        user_id: str | None = None,
        headers: dict[str, Any] | None = None,
    ) -> str:
        """Publish as this organisation; returns the message_id."""
        message_id = message_id if message_id is not None else str(uuid.uuid4())
        exchange = await self.channel.get_exchange("lrs.inbound", ensure=False)
        await exchange.publish(
            aio_pika.Message(
                body if isinstance(body, bytes) else json.dumps(body).encode(),
                content_type="application/json",
                message_id=message_id or None,
                type=message_type,
                user_id=user_id or self.org_id,
                headers=headers or {},
                delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
            ),
            routing_key=routing_key or f"{self.org_id}.{message_type}",
        )
        return message_id

    async def answer(self, timeout_s: float = ANSWER_TIMEOUT_S) -> AbstractIncomingMessage:
        """The next message on this organisation's own queue."""
        queue = await self.channel.get_queue(f"lrs.out.{self.org_id}", ensure=False)
        # The deadline is checked between reads, never by cancelling one: aiormq closes a channel
        # whose call was cancelled, and a cancelled no-ack read may have taken a message with it.
        deadline = time.monotonic() + timeout_s
        while (message := await queue.get(no_ack=True, fail=False)) is None:
            if time.monotonic() >= deadline:
                raise TimeoutError(f"no answer on lrs.out.{self.org_id} within {timeout_s} s")
            await asyncio.sleep(0.05)
        return message

    async def no_answer(self, wait_s: float = 1.0) -> bool:
        """True when nothing arrives on this organisation's queue within `wait_s`."""
        try:
            await self.answer(wait_s)
        except TimeoutError:
            return True
        return False


def body(message: AbstractIncomingMessage) -> Any:
    return json.loads(message.body)


async def dead_letter(channel: AbstractChannel, timeout_s: float = ANSWER_TIMEOUT_S) -> AbstractIncomingMessage:
    """The next dead letter (read as the hub's user)."""
    queue = await channel.get_queue("lrs.dead", ensure=False)
    async with asyncio.timeout(timeout_s):
        while (message := await queue.get(no_ack=True, fail=False)) is None:
            await asyncio.sleep(0.05)
    return message


AMELIA: dict[str, Any] = {
    "given_name": "Amelia",
    "family_name": "Okafor",
    "date_of_birth": "2008-04-12",
    "gender": 2,
    "last_known_postcode": "SW1A 1AA",
    "verification_type": 2,
}


def register(ukprn: str, **learner: Any) -> dict[str, Any]:
    return {"ukprn": ukprn, "learner": AMELIA | learner}
