"""The asyncpg adapters: transactions, the audit chain, migrations, against the real PostgreSQL."""

import asyncio
from datetime import UTC, datetime

import asyncpg
import pytest

from adapters.bootstrap import Hub
from adapters.postgres.audit import process_chain_keys, read_chain
from adapters.postgres.migrate import apply_migrations
from adapters.postgres.unit_of_work import PostgresUnitOfWork
from contracts.codes import OrganisationKind
from hub.kernel.audit import ChainBreak, first_broken_link
from hub.kernel.model import Organisation
from hub.kernel.ports import AuditEntry


def _entry(n: int) -> AuditEntry:
    return AuditEntry(datetime.now(UTC), "10030488", None, "learner.answer", "registration", "allowed", "", (), str(n))


async def test_unit_of_work_rolls_back_unless_committed(hub: Hub) -> None:
    """Leaving `async with` without commit leaves nothing behind; committing keeps it."""
    org = Organisation("10030488", OrganisationKind.PROVIDER, "Rolled back")
    async with PostgresUnitOfWork(hub.pool) as uow:
        await uow.organisations.add(org)
    async with PostgresUnitOfWork(hub.pool) as uow:
        assert await uow.organisations.get("10030488") is None
        await uow.organisations.add(org)
        await uow.commit()
    async with PostgresUnitOfWork(hub.pool) as uow:
        assert await uow.organisations.get("10030488") == org


async def test_concurrent_appends_keep_one_unbroken_chain(hub: Hub) -> None:
    """Forty transactions appending audit entries at once still form one verifiable hash chain."""

    async def append(n: int) -> None:
        async with PostgresUnitOfWork(hub.pool) as uow:
            await uow.audit.append(_entry(n))
            await uow.commit()

    await asyncio.gather(*(append(n) for n in range(40)))
    async with hub.pool.acquire() as conn:
        chain = await read_chain(conn)

    assert (len(chain), first_broken_link(chain, process_chain_keys())) == (40, None)


async def test_tampering_with_the_audit_log_is_refused_or_detected(hub: Hub) -> None:
    """The table refuses updates and deletes; a change made behind the trigger's back breaks the chain."""
    for n in range(3):
        async with PostgresUnitOfWork(hub.pool) as uow:
            await uow.audit.append(_entry(n))
            await uow.commit()
    async with hub.pool.acquire() as conn:
        with pytest.raises(asyncpg.RaiseError, match="append only"):
            await conn.execute("UPDATE audit_log SET recipient = 'someone' WHERE seq = 2")
        with pytest.raises(asyncpg.RaiseError, match="append only"):
            await conn.execute("DELETE FROM audit_log WHERE seq = 2")
        with pytest.raises(asyncpg.RaiseError, match="append only"):
            await conn.execute("TRUNCATE audit_log")
        async with conn.transaction():
            await conn.execute("ALTER TABLE audit_log DISABLE TRIGGER audit_log_append_only")
            await conn.execute("UPDATE audit_log SET recipient = 'someone' WHERE seq = 2")
            await conn.execute("ALTER TABLE audit_log ENABLE TRIGGER audit_log_append_only")
        chain = await read_chain(conn)

    assert first_broken_link(chain, process_chain_keys()) == ChainBreak(
        1, "changed, deleted, reordered or appended without the key"
    )


def test_migrations_apply_once(database_url: str) -> None:
    """A migrated database has nothing left to apply."""
    assert apply_migrations(database_url) == 0
