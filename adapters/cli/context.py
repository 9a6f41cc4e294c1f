"""What CLI commands share: the settings, and short-lived connections for operator work."""

import asyncio
from collections.abc import AsyncIterator, Coroutine
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass
from functools import cache
from typing import Any, TypeVar

import asyncpg
import psycopg
import typer
from aio_pika.abc import AbstractChannel, AbstractConnection
from aio_pika.exceptions import AMQPError

from adapters.audit_heads import HeadsFileError
from adapters.bootstrap import chain_keys_from, connect_channel, create_pool, sealer_from
from adapters.log import WeakLogHashKeyError, configure_logging
from adapters.postgres.audit import use_chain_keys
from adapters.postgres.migrate import DatabaseNotReadyError, check_database
from adapters.postgres.sealing import SealedDetailsError, WeakDataKeyError, use_sealer
from adapters.rabbit.admin import BrokerAdmin, BrokerAdminError
from adapters.settings import Settings
from hub.kernel.audit import WeakAuditKeyError

T = TypeVar("T")


@cache
def settings() -> Settings:
    s = Settings()
    configure_logging(s.log_level, s.log_json, s.log_hash_key)
    # Without a strong LRS_DATA_KEY, only a command that reads or writes learner details fails
    # (exit 2, through `run`, saying what to set): `hub org list` needs no key.
    with suppress(WeakDataKeyError):
        use_sealer(sealer_from(s))
    # Likewise LRS_AUDIT_KEY, for a command that writes or verifies audit entries.
    with suppress(WeakAuditKeyError):
        use_chain_keys(chain_keys_from(s))
    return s


def run(coroutine: Coroutine[Any, Any, T]) -> T:
    """Run a command; a service that cannot be reached is one line on stderr and exit 2."""
    try:
        return asyncio.run(coroutine)
    except (
        DatabaseNotReadyError,
        WeakLogHashKeyError,
        WeakDataKeyError,
        WeakAuditKeyError,
        SealedDetailsError,
        HeadsFileError,
    ) as e:
        typer.echo(f"error: {e}", err=True)
        raise typer.Exit(2) from e
    except (OSError, psycopg.OperationalError, asyncpg.PostgresError, AMQPError, BrokerAdminError) as e:
        typer.echo(f"error: {type(e).__name__}: {str(e).splitlines()[0] if str(e) else e!r}", err=True)
        typer.echo("are PostgreSQL and RabbitMQ running? (`make services`; settings: LRS_* variables)", err=True)
        raise typer.Exit(2) from e


@dataclass
class Operator:
    settings: Settings
    pool: asyncpg.Pool
    connection: AbstractConnection
    channel: AbstractChannel
    admin: BrokerAdmin


@asynccontextmanager
async def operator() -> AsyncIterator[Operator]:
    """Database, broker and management API, as the hub's own user, for one command.

    Never creates or migrates the database (only `hub migrate`, `hub serve` and `hub demo`
    do): a missing or unmigrated one is a DatabaseNotReadyError, which `run` reports.
    """
    s = settings()
    await asyncio.to_thread(check_database, s.database_url)
    admin = BrokerAdmin(s.rabbit_management_url, s.rabbit_management_user, s.rabbit_management_password, s.vhost)
    pool = await create_pool(s)
    connection, channel = await connect_channel(s)
    try:
        yield Operator(s, pool, connection, channel, admin)
    finally:
        await connection.close()
        await pool.close()
        await admin.close()
