"""Registering an organisation: the register row, its RabbitMQ user and its answer queue.

An organisation is added once. Re-adding one is refused rather than treated as an update:
it used to reactivate a suspended organisation, change its kind and reset its password, all
silently. Each of those is now an explicit command (`hub org suspend`, `activate`,
`reset-password`); the kind never changes, because what an organisation may send and receive
(and the audit entries about it) depend on it.
"""

import asyncpg
from aio_pika.abc import AbstractChannel

from adapters.postgres.repositories import PostgresOrganisations
from adapters.rabbit.admin import BrokerAdmin
from adapters.rabbit.topology import declare_outbound_queue
from hub.kernel.model import Organisation


class OrganisationExistsError(Exception):
    """Raised when adding an organisation whose id is already in the register (nothing was changed)."""

    def __init__(self, existing: Organisation) -> None:
        super().__init__(f"organisation {existing.org_id} is already registered")
        self.existing = existing


class UnknownOrganisationError(Exception):
    """Raised when an organisation named by an operator is not in the register."""


async def _registered(pool: asyncpg.Pool, org_id: str) -> Organisation | None:
    async with pool.acquire() as conn:
        return await PostgresOrganisations(conn).get(org_id)


async def add_organisation(
    pool: asyncpg.Pool, channel: AbstractChannel, admin: BrokerAdmin, organisation: Organisation, password: str
) -> None:
    """Add a new organisation, with a broker user that can publish only as itself.

    Raises OrganisationExistsError, before touching the broker, if the id is registered.
    """
    existing = await _registered(pool, organisation.org_id)
    if existing is not None:
        raise OrganisationExistsError(existing)
    await admin.add_organisation_user(organisation.org_id, password)
    await declare_outbound_queue(channel, organisation.org_id)
    async with pool.acquire() as conn:
        await PostgresOrganisations(conn).add(organisation)


async def reset_password(pool: asyncpg.Pool, admin: BrokerAdmin, org_id: str, password: str) -> Organisation:
    """Give a registered organisation's broker user a new password and close its open connections.

    Open connections are closed because a reset usually means the old password leaked: a
    connection made with it must not outlive it. Raises UnknownOrganisationError.
    """
    organisation = await _registered(pool, org_id)
    if organisation is None:
        raise UnknownOrganisationError(org_id)
    await admin.set_password(org_id, password)
    await admin.close_connections_of(org_id)
    return organisation
