"""A running hub per test, and organisations with their own RabbitMQ users."""

import asyncio
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass

import pytest
from typer.testing import CliRunner, Result

from adapters.bootstrap import Hub
from adapters.cli import context
from adapters.cli.main import app
from adapters.organisations import add_organisation
from adapters.postgres import audit, sealing
from adapters.rabbit.admin import BrokerAdmin
from adapters.settings import Settings
from contracts.codes import OrganisationKind
from hub.kernel.model import Organisation
from tests.conftest import AUDIT_KEY, new_ukprn


@dataclass(frozen=True)
class OrgLogin:
    org: Organisation
    password: str
    amqp_url: str


@pytest.fixture
async def hub(settings: Settings) -> AsyncIterator[Hub]:
    async with Hub(settings) as running:
        yield running


@pytest.fixture
async def broker_admin(settings: Settings) -> AsyncIterator[BrokerAdmin]:
    admin = BrokerAdmin(settings.rabbit_management_url, "guest", "guest", settings.vhost)
    yield admin
    await admin.close()


AddOrg = Callable[..., Awaitable[OrgLogin]]


@pytest.fixture
async def add_org(hub: Hub, broker_admin: BrokerAdmin, settings: Settings) -> AsyncIterator[AddOrg]:
    users: list[str] = []  # RabbitMQ users are global: delete them after the test

    async def _add(kind: OrganisationKind = OrganisationKind.PROVIDER, org_id: str | None = None) -> OrgLogin:
        org = Organisation(org_id or new_ukprn(), kind, f"Test {kind.value}")
        password = secrets.token_urlsafe(12)
        await add_organisation(hub.pool, hub.channel, broker_admin, org, password)
        users.append(org.org_id)
        return OrgLogin(org, password, settings.amqp_url_for(org.org_id, password))

    yield _add
    for user in users:
        await broker_admin.delete_user(user)


@pytest.fixture
async def provider(add_org: AddOrg) -> OrgLogin:
    return await add_org(OrganisationKind.PROVIDER)


Cli = Callable[..., Awaitable[Result]]


@pytest.fixture
def cli(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Cli:
    """Run `hub ARGS...` in a thread with the test's settings and the given LRS_* variables."""
    monkeypatch.setattr(context, "configure_logging", lambda *args, **kwargs: None)
    # The command sets the process's sealer and chain keys to its own: the tests' come back afterwards.
    monkeypatch.setattr(sealing, "_process_sealer", sealing._process_sealer)
    monkeypatch.setattr(audit, "_process_keys", audit._process_keys)

    async def _run(*args: str, **env: str) -> Result:
        base = {
            "LRS_DATABASE_URL": settings.database_url,
            "LRS_AMQP_URL": settings.amqp_url,
            "LRS_RABBIT_MANAGEMENT_URL": settings.rabbit_management_url,
            "LRS_LOG_LEVEL": "WARNING",
            "LRS_AUDIT_KEY": AUDIT_KEY,
        }
        context.settings.cache_clear()
        result = await asyncio.to_thread(CliRunner().invoke, app, list(args), env=base | env)
        context.settings.cache_clear()
        return result

    return _run
