"""Every contract test runs twice: over the in-memory fakes and over the PostgreSQL adapters.

PostgreSQL is one database for the whole session (a copy of the migrated template), reached
through the adapters' own unit of work: no hub, no broker. The tests share it, so each makes
fresh ids and reads back only its own rows.
"""

import secrets
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass

import asyncpg
import pytest

from adapters.postgres.repositories import IssueNumbers
from adapters.postgres.unit_of_work import PostgresUnitOfWork
from hub.kernel.ports import UnitOfWork
from tests.conftest import PG_SERVER, _admin_sql
from tests.unit.fakes import FakeUnitOfWorkFactory

from .peek import FakePeek, Peek, PostgresPeek

NewUow = Callable[[], UnitOfWork]
# What a write that breaks a key raises: the fakes' AssertionError (the caller's bug) or the database's own.
KEY_VIOLATION = (AssertionError, asyncpg.IntegrityConstraintViolationError)


@dataclass(frozen=True)
class Backend:
    """One implementation of the ports, and a look at what the ports write but never read back."""

    name: str
    new_uow: NewUow
    peek: Peek


@pytest.fixture(scope="session")
async def ports_pool(template_database: str) -> AsyncIterator[asyncpg.Pool]:
    name = f"lrs_ports_{secrets.token_hex(6)}"
    await _admin_sql(f"CREATE DATABASE {name} TEMPLATE {template_database}")
    pool = await asyncpg.create_pool(f"{PG_SERVER}/{name}", min_size=2, max_size=6)
    assert pool is not None
    yield pool
    await pool.close()
    await _admin_sql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.fixture(scope="session")
def issue_numbers() -> IssueNumbers:
    """Shared by the session's units of work, as a running hub shares its own."""
    return IssueNumbers()


@pytest.fixture(params=["fake", "postgres"])
def backend(request: pytest.FixtureRequest) -> Backend:
    """The fakes (fresh and empty for each test), or the session's PostgreSQL database."""
    if request.param == "fake":
        fakes = FakeUnitOfWorkFactory()
        return Backend("fake", fakes, FakePeek(fakes))
    pool: asyncpg.Pool = request.getfixturevalue("ports_pool")
    numbers: IssueNumbers = request.getfixturevalue("issue_numbers")
    return Backend("postgres", lambda: PostgresUnitOfWork(pool, numbers), PostgresPeek(pool))


@pytest.fixture
def new_uow(backend: Backend) -> NewUow:
    return backend.new_uow
