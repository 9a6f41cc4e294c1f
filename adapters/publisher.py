"""Publishing as an organisation, the way an MIS does: its own user, user_id set, confirms.

Used by the CLI's `batch submit` and the demo; tests and benchmarks use plain aio-pika.
"""

import json
import uuid
from datetime import UTC, datetime
from typing import Any

import aio_pika
from aio_pika.abc import AbstractChannel, AbstractExchange, AbstractRobustConnection

from hub.pipeline.routing import INBOUND_EXCHANGE


class OrganisationClient:
    """An organisation's connection to the hub: publish requests, read its own queue."""

    def __init__(self, amqp_url: str, org_id: str) -> None:
        self.org_id = org_id
        self._url = amqp_url
        self._connection: AbstractRobustConnection
        self.channel: AbstractChannel
        self._exchange: AbstractExchange

    async def __aenter__(self) -> "OrganisationClient":
        self._connection = await aio_pika.connect_robust(self._url)
        self.channel = await self._connection.channel(publisher_confirms=True, on_return_raises=True)
        self._exchange = await self.channel.get_exchange(INBOUND_EXCHANGE, ensure=False)
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._connection.close()

    async def send(
        self,
        message_type: str,
        body: dict[str, Any],
        message_id: str | None = None,
        headers: dict[str, Any] | None = None,
    ) -> str:
        """Publish one request and wait for the broker's confirm; return its message_id."""
        message_id = message_id or str(uuid.uuid4())
        await self._exchange.publish(
            aio_pika.Message(
                json.dumps(body).encode(),
                content_type="application/json",
                message_id=message_id,
                type=message_type,
                user_id=self.org_id,
                timestamp=datetime.now(UTC),
                headers=headers or {},
                delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
            ),
            routing_key=f"{self.org_id}.{message_type}",
            mandatory=True,
        )
        return message_id
