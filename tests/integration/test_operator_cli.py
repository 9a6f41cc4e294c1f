"""The operator's `hub` commands against the real PostgreSQL and RabbitMQ, run with typer's CliRunner.

`hub org add` registers only new organisations (re-adding would silently reactivate, re-kind
and re-key one); changes are explicit commands. Commands other than `hub migrate`, `hub serve`
and `hub demo` never create or migrate a database.
"""

import asyncio
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable

import aio_pika
import asyncpg
import httpx
import pytest
from aiormq.exceptions import AuthenticationError, ProbableAuthenticationError
from typer.testing import CliRunner, Result

from adapters.bootstrap import Hub
from adapters.cli import context
from adapters.cli.main import app
from adapters.postgres.migrate import MIGRATIONS
from adapters.postgres.repositories import PostgresOrganisations
from adapters.rabbit.admin import BrokerAdmin
from adapters.settings import Settings
from contracts.codes import OrganisationKind
from hub.kernel.model import Organisation, OrganisationStatus
from tests.conftest import MANAGEMENT, PG_SERVER, new_ukprn

Cli = Callable[..., Awaitable[Result]]
MIGRATION_COUNT = len(list(MIGRATIONS.glob("*.sql")))


def _environment(settings: Settings, **overrides: str) -> dict[str, str]:
    return {
        "LRS_DATABASE_URL": settings.database_url,
        "LRS_AMQP_URL": settings.amqp_url,
        "LRS_RABBIT_MANAGEMENT_URL": settings.rabbit_management_url,
        "LRS_LOG_LEVEL": "WARNING",
    } | overrides


@pytest.fixture
async def cli(settings: Settings, broker_admin: BrokerAdmin, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Cli]:
    """Run `hub ARGS...` in a thread (it runs its own event loop) with the test's settings."""
    # The command runs in this process: it must not point the process's logging (and the
    # running hub's pseudonym key) at CliRunner's short-lived streams and its own settings.
    monkeypatch.setattr(context, "configure_logging", lambda *args, **kwargs: None)
    created: list[str] = []

    async def _run(*args: str, **env: str) -> Result:
        context.settings.cache_clear()  # settings are read once per process; each call is a new "process"
        result = await asyncio.to_thread(CliRunner().invoke, app, list(args), env=_environment(settings, **env))
        context.settings.cache_clear()
        if args[:2] == ("org", "add"):
            created.append(args[2])
        return result

    yield _run
    for user in created:  # RabbitMQ users are global: remove the ones this test made
        await broker_admin.delete_user(user)


async def _can_connect(settings: Settings, user: str, password: str) -> bool:
    try:
        connection = await aio_pika.connect(settings.amqp_url_for(user, password))
    except (AuthenticationError, ProbableAuthenticationError):
        return False
    await connection.close()
    return True


async def _registered(hub: Hub, org_id: str) -> Organisation | None:
    async with hub.pool.acquire() as conn:
        return await PostgresOrganisations(conn).get(org_id)


def _password_printed(result: Result) -> str:
    [line] = [line for line in result.output.splitlines() if line.startswith("password: ")]
    return line.removeprefix("password: ")


# --- hub org: add refuses an existing id; changes are explicit -------------------------------


async def test_adding_an_existing_organisation_is_refused_and_changes_nothing(
    hub: Hub, cli: Cli, settings: Settings
) -> None:
    """Re-adding a suspended provider exits 1 naming the explicit commands; kind, status, password stay."""
    org_id = new_ukprn()
    assert (
        await cli("org", "add", org_id, "--kind", "provider", "--name", "College", "--password", "old-pw")
    ).exit_code == 0
    assert (await cli("org", "suspend", org_id)).exit_code == 0
    again = await cli("org", "add", org_id, "--kind", "partner", "--name", "Renamed", "--password", "new-pw")
    assert (again.exit_code, again.output) == (
        1,
        f"organisation {org_id} is already registered (provider, suspended, College): nothing changed; use "
        f"`hub org reset-password {org_id}`, `hub org activate {org_id}` or `hub org suspend {org_id}` "
        "(an organisation's kind never changes)\n",
    )
    suspended = Organisation(org_id, OrganisationKind.PROVIDER, "College", OrganisationStatus.SUSPENDED)
    assert await _registered(hub, org_id) == suspended
    assert (await _can_connect(settings, org_id, "old-pw"), await _can_connect(settings, org_id, "new-pw")) == (
        True,
        False,
    )


async def test_reset_password_prints_a_new_password_the_broker_accepts_instead_of_the_old(
    hub: Hub, cli: Cli, settings: Settings
) -> None:
    """`hub org reset-password` prints a new password the broker takes instead of the old; the register stays."""
    org_id = new_ukprn()
    await cli("org", "add", org_id, "--kind", "awarding_organisation", "--name", "Board", "--password", "old-pw")
    result = await cli("org", "reset-password", org_id)
    assert result.exit_code == 0, result.output
    new_password = _password_printed(result)
    assert len(new_password) >= 20
    assert (await _can_connect(settings, org_id, new_password), await _can_connect(settings, org_id, "old-pw")) == (
        True,
        False,
    )
    assert await _registered(hub, org_id) == Organisation(org_id, OrganisationKind.AWARDING_ORGANISATION, "Board")


async def _until(check: Callable[[], Awaitable[bool]], what: str, timeout_s: float = 10) -> None:
    for _ in range(int(timeout_s / 0.1)):
        if await check():
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"not within {timeout_s}s: {what}")


async def _listed(user: str) -> bool:
    async with httpx.AsyncClient(auth=("guest", "guest"), timeout=10) as client:
        return bool((await client.get(f"{MANAGEMENT}/api/connections/username/{user}")).json())


async def _closed(connection: aio_pika.abc.AbstractConnection) -> bool:
    try:
        channel = await connection.channel()
    except RuntimeError:  # aiormq's way of saying the broker closed the connection
        return True
    await channel.close()
    return False


async def test_reset_password_closes_connections_made_with_the_old_password(
    hub: Hub, cli: Cli, settings: Settings
) -> None:
    """A connection the organisation opened with its old password is closed by `hub org reset-password`."""
    org_id = new_ukprn()
    await cli("org", "add", org_id, "--kind", "provider", "--name", "College", "--password", "old-pw")
    connection = await aio_pika.connect(settings.amqp_url_for(org_id, "old-pw"))
    try:
        await _until(lambda: _listed(org_id), "the management API lists the connection")
        assert (await cli("org", "reset-password", org_id, "--password", "new-pw")).exit_code == 0
        await _until(lambda: _closed(connection), "the broker closes the old connection")
    finally:
        await connection.close()


async def test_reset_password_of_an_unknown_organisation_exits_1(hub: Hub, cli: Cli) -> None:
    """`hub org reset-password` of an id not in the register says so and exits 1."""
    org_id = new_ukprn()
    result = await cli("org", "reset-password", org_id)
    assert (result.exit_code, result.output) == (1, f"no organisation {org_id}\n")


# --- hub dsa: purposes as the wire defines them -------------------------------------------------


async def test_approving_an_agreement_for_a_purpose_the_wire_refuses_exits_2(hub: Hub, cli: Cli) -> None:
    """`hub dsa approve --purpose "careers advice"` is a usage error naming the rule; no agreement is saved."""
    partner = new_ukprn()
    await cli("org", "add", partner, "--kind", "partner", "--name", "University", "--password", "pw")
    result = await cli("dsa", "approve", partner, "--purpose", "careers advice", "--feed", "achievements",
                       "--field", "uln", "--to", "2030-01-01")  # fmt: skip
    assert result.exit_code == 2
    assert "purpose 'careers advice' is not valid" in " ".join(result.output.split())
    async with hub.pool.acquire() as conn:
        assert await conn.fetchval("SELECT count(*) FROM agreement") == 0


# --- only migrate and serve create or migrate a database ------------------------------------------


async def _database_exists(name: str) -> bool:
    conn = await asyncpg.connect(f"{PG_SERVER}/postgres")
    try:
        return bool(await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name))
    finally:
        await conn.close()


@pytest.mark.parametrize("command", [["org", "list"], ["dsa", "list"], ["notices"], ["learners", "duplicates"]])
async def test_a_read_only_command_on_a_mistyped_database_creates_nothing(
    hub: Hub, cli: Cli, command: list[str]
) -> None:
    """A command other than migrate or serve, on a database that does not exist, exits 2 saying so, creating none."""
    name = f"lrs_typo_{secrets.token_hex(4)}"
    result = await cli(*command, LRS_DATABASE_URL=f"{PG_SERVER}/{name}")
    assert (result.exit_code, result.output) == (
        2,
        f"error: database {name!r} does not exist: check LRS_DATABASE_URL, or run `hub migrate` to create it\n",
    )
    assert await _database_exists(name) is False


async def test_a_command_on_an_unmigrated_database_does_not_migrate_it(hub: Hub, cli: Cli) -> None:
    """`hub org list` on an empty database exits 2 telling to run `hub migrate`, and adds no table."""
    name = f"lrs_empty_{secrets.token_hex(4)}"
    admin = await asyncpg.connect(f"{PG_SERVER}/postgres")
    await admin.execute(f"CREATE DATABASE {name}")
    try:
        result = await cli("org", "list", LRS_DATABASE_URL=f"{PG_SERVER}/{name}")
        assert (result.exit_code, result.output) == (
            2,
            f"error: database {name!r} is not migrated ({MIGRATION_COUNT} migration(s) pending, from 0001_foundation): "
            "run `hub migrate`\n",
        )
        conn = await asyncpg.connect(f"{PG_SERVER}/{name}")
        tables = await conn.fetchval("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'")
        await conn.close()
        assert tables == 0
    finally:
        await admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        await admin.close()


async def test_migrate_creates_and_migrates_a_new_database(cli: Cli, settings: Settings) -> None:
    """`hub migrate` on a database that does not exist creates it and applies every migration."""
    name = f"lrs_new_{secrets.token_hex(4)}"
    try:
        result = await cli("migrate", LRS_DATABASE_URL=f"{PG_SERVER}/{name}")
        assert (result.exit_code, result.output) == (0, f"{MIGRATION_COUNT} migration(s) applied\n")
        listed = await cli("org", "list", LRS_DATABASE_URL=f"{PG_SERVER}/{name}")
        assert (listed.exit_code, listed.output) == (0, "")
    finally:
        admin = await asyncpg.connect(f"{PG_SERVER}/postgres")
        await admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        await admin.close()
