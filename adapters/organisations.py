"""Registering an organisation: the register row, its RabbitMQ user and its answer queue."""

import asyncpg
from aio_pika.abc import AbstractChannel

from adapters.postgres.repositories import PostgresOrganisations
from adapters.rabbit.admin import BrokerAdmin
from adapters.rabbit.topology import declare_outbound_queue
from hub.model import Organisation


async def add_organisation(
    pool: asyncpg.Pool, channel: AbstractChannel, admin: BrokerAdmin, organisation: Organisation, password: str
) -> None:
    """Add or update an organisation, with a broker user that can publish only as itself."""
    await admin.add_organisation_user(organisation.org_id, password)
    await declare_outbound_queue(channel, organisation.org_id)
    async with pool.acquire() as conn:
        await PostgresOrganisations(conn).add(organisation)
