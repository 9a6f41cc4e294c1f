"""`hub org ...`: the organisation register and each organisation's broker user."""

import secrets

import typer

from adapters.cli.context import operator, run
from adapters.organisations import OrganisationExistsError, UnknownOrganisationError, add_organisation, reset_password
from adapters.postgres.repositories import PostgresOrganisations
from contracts.codes import OrganisationKind
from hub.kernel.model import Organisation, OrganisationStatus

app = typer.Typer(help="Organisations: providers, awarding organisations, partners.", no_args_is_help=True)


@app.command("add")
def add(
    org_id: str = typer.Argument(help="UKPRN (8 digits) or awarding organisation id (6 digits)"),
    kind: OrganisationKind = typer.Option(..., help="what the organisation is"),
    name: str = typer.Option(..., help="the organisation's name"),
    password: str = typer.Option(
        None, envvar="LRS_ORG_PASSWORD", help="its RabbitMQ password (generated and printed if omitted)"
    ),
) -> None:
    """Register a new organisation and the RabbitMQ user it publishes as (its id); a registered id is refused."""
    if not org_id.isdigit() or len(org_id) not in (6, 8):
        typer.echo("org id must be a UKPRN (8 digits) or an awarding organisation id (6 digits)", err=True)
        raise typer.Exit(2)
    generated = password is None
    password = password or secrets.token_urlsafe(18)

    async def _add() -> None:
        async with operator() as op:
            await add_organisation(op.pool, op.channel, op.admin, Organisation(org_id, kind, name), password)

    try:
        run(_add())
    except OrganisationExistsError as e:
        o = e.existing
        typer.echo(
            f"organisation {org_id} is already registered ({o.kind.value}, {o.status.value}, {o.name}): nothing "
            f"changed; use `hub org reset-password {org_id}`, `hub org activate {org_id}` or "
            f"`hub org suspend {org_id}` (an organisation's kind never changes)",
            err=True,
        )
        raise typer.Exit(1) from e
    typer.echo(f"organisation {org_id} ({kind.value}) registered; RabbitMQ user {org_id}, queue lrs.out.{org_id}")
    if generated:
        typer.echo(f"password: {password}")


@app.command("reset-password")
def reset_password_(
    org_id: str,
    password: str = typer.Option(
        None, envvar="LRS_ORG_PASSWORD", help="the new RabbitMQ password (generated and printed if omitted)"
    ),
) -> None:
    """Give an organisation's RabbitMQ user a new password; its open connections are closed."""
    generated = password is None
    password = password or secrets.token_urlsafe(18)

    async def _reset() -> None:
        async with operator() as op:
            await reset_password(op.pool, op.admin, org_id, password)

    try:
        run(_reset())
    except UnknownOrganisationError as e:
        typer.echo(f"no organisation {org_id}", err=True)
        raise typer.Exit(1) from e
    typer.echo(f"organisation {org_id}: RabbitMQ password changed, its open connections closed")
    if generated:
        typer.echo(f"password: {password}")


def _set_status(org_id: str, status: OrganisationStatus) -> None:
    async def _update() -> bool:
        async with operator() as op, op.pool.acquire() as conn:
            repo = PostgresOrganisations(conn)
            found = await repo.get(org_id)
            if found is None:
                return False
            await repo.add(Organisation(found.org_id, found.kind, found.name, status))
            return True

    if not run(_update()):
        typer.echo(f"no organisation {org_id}", err=True)
        raise typer.Exit(1)
    typer.echo(f"organisation {org_id} is now {status.value}")


@app.command("suspend")
def suspend(org_id: str) -> None:
    """Suspend an organisation: its messages are refused with a reason until reactivated."""
    _set_status(org_id, OrganisationStatus.SUSPENDED)


@app.command("activate")
def activate(org_id: str) -> None:
    """Reactivate a suspended organisation."""
    _set_status(org_id, OrganisationStatus.ACTIVE)


@app.command("list")
def list_() -> None:
    """List the organisation register."""

    async def _list() -> list[Organisation]:
        async with operator() as op, op.pool.acquire() as conn:
            return await PostgresOrganisations(conn).list()

    for o in run(_list()):
        typer.echo(f"{o.org_id}\t{o.kind.value}\t{o.status.value}\t{o.name}")
