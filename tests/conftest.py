"""Fixtures for tests that use the real PostgreSQL and RabbitMQ.

Each test gets its own database (copied from a template migrated once per session) and its
own RabbitMQ virtual host, so tests never see each other's data.
"""

import asyncio
import os
import secrets
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest
from yarl import URL

from adapters.postgres.audit import use_chain_keys
from adapters.postgres.migrate import apply_migrations
from adapters.postgres.sealing import DetailsSealer, use_sealer
from adapters.rabbit.admin import BrokerAdmin
from adapters.settings import Settings
from hub.kernel.audit import ChainKeys

PG_SERVER = os.environ.get("LRS_TEST_PG", "postgresql://postgres@127.0.0.1:5432")
AMQP_SERVER = os.environ.get("LRS_TEST_AMQP", "amqp://guest:guest@127.0.0.1:5672")
MANAGEMENT = os.environ.get("LRS_TEST_MANAGEMENT", "http://127.0.0.1:15672")
# The session's LRS_DATA_KEY: the hubs the tests start (in process or not) and the units of
# work the tests open themselves seal and open learner details under the same key.
DATA_KEY = f"tests-{secrets.token_hex(32)}"
# Likewise the session's LRS_AUDIT_KEY, which keys the audit chain.
AUDIT_KEY = f"tests-{secrets.token_hex(32)}"


@pytest.fixture(scope="session", autouse=True)
def _sealing() -> None:
    use_sealer(DetailsSealer(DATA_KEY))
    use_chain_keys(ChainKeys(AUDIT_KEY))


async def _admin_sql(*statements: str) -> None:
    conn = await asyncpg.connect(f"{PG_SERVER}/postgres")
    try:
        for statement in statements:
            await conn.execute(statement)
    finally:
        await conn.close()


@pytest.fixture(scope="session")
async def template_database() -> AsyncIterator[str]:
    name = f"lrs_tpl_{os.getpid()}"
    await _admin_sql(f"DROP DATABASE IF EXISTS {name}", f"CREATE DATABASE {name}")
    await asyncio.to_thread(apply_migrations, f"{PG_SERVER}/{name}")
    yield name
    await _admin_sql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.fixture
async def database_url(template_database: str) -> AsyncIterator[str]:
    name = f"lrs_t_{secrets.token_hex(6)}"
    await _admin_sql(f"CREATE DATABASE {name} TEMPLATE {template_database}")
    yield f"{PG_SERVER}/{name}"
    await _admin_sql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.fixture
async def vhost() -> AsyncIterator[str]:
    name = f"lrs-t-{secrets.token_hex(6)}"
    admin = BrokerAdmin(MANAGEMENT, "guest", "guest", name)
    await admin.ensure_vhost()
    await admin.grant_full_access("guest")
    yield name
    await admin.delete_vhost()
    await admin.close()


@pytest.fixture
def settings(database_url: str, vhost: str, tmp_path: Path) -> Settings:
    return Settings(
        database_url=database_url,
        amqp_url=str(URL(AMQP_SERVER).with_path(f"/{vhost}")),
        rabbit_management_url=MANAGEMENT,
        log_json=True,
        log_level="WARNING",
        log_hash_key=f"tests-{secrets.token_hex(16)}",  # the hub refuses to start without a strong key
        data_key=DATA_KEY,  # nor without a strong data key
        audit_key=AUDIT_KEY,  # nor an audit key
        audit_heads_file=str(tmp_path / "audit-heads.jsonl"),
    )


def new_ukprn() -> str:
    """A fresh 8-digit UKPRN, so RabbitMQ users (global, not per vhost) never clash."""
    return f"1{secrets.randbelow(10**7):07d}"
