"""`hub dsa ...`: data sharing agreements, as an operator approves and changes them."""

from collections.abc import Awaitable, Callable
from datetime import date

import typer

from adapters.cli.context import operator, run
from adapters.postgres.unit_of_work import PostgresUnitOfWork
from contracts.sharing import purpose_problem
from hub.kernel import clock
from hub.kernel.ports import UnitOfWork
from hub.sharing import agreements
from hub.sharing.agreements import AgreementChange
from hub.sharing.policy import Agreement, Feed, Scope

app = typer.Typer(help="Data sharing agreements with partners.", no_args_is_help=True)


def _apply(change: Callable[[UnitOfWork], Awaitable[AgreementChange]]) -> Agreement:
    async def _run() -> AgreementChange:
        async with operator() as op, PostgresUnitOfWork(op.pool) as uow:
            outcome = await change(uow)
            if outcome.applied:
                await uow.commit()
            return outcome

    outcome = run(_run())
    if not outcome.applied or outcome.agreement is None:
        typer.echo(f"refused: {outcome.reason}", err=True)
        raise typer.Exit(1)
    if outcome.recalls:
        typer.echo(f"{outcome.recalls} recall notice(s) sent for what the partner may no longer hold")
    return outcome.agreement


def _checked_purposes(purposes: list[str] | None) -> list[str] | None:
    """Refuse, before anything is connected, a purpose partners could not send (contracts.sharing)."""
    for purpose in purposes or []:
        if problem := purpose_problem(purpose):
            raise typer.BadParameter(problem)
    return purposes


_PURPOSE_HELP = "lower-case letters, digits and _, as partners send it, e.g. admissions, careers_advice"


def _describe(a: Agreement) -> str:
    return (
        f"{a.agreement_id} v{a.version} {a.status.value}: partner {a.partner}, {a.scope.value}, "
        f"{a.valid_from.isoformat()}..{a.valid_to.isoformat()}, purposes {','.join(sorted(a.purposes))}, "
        f"feeds {','.join(sorted(f.value for f in a.feeds))}, fields {','.join(sorted(a.fields))}"
    )


@app.command("approve")
def approve(
    partner: str = typer.Argument(help="the partner's id (registered with `hub org add --kind partner`)"),
    purpose: list[str] = typer.Option(
        ..., callback=_checked_purposes, help=f"a purpose it covers (repeat for several): {_PURPOSE_HELP}"
    ),
    feed: list[Feed] = typer.Option(..., help="a feed it covers (repeat)"),
    field: list[str] = typer.Option(..., help="a field the partner may receive (repeat), e.g. uln, grade"),
    scope: Scope = typer.Option(Scope.NOMINATED, help="which learners: only those who nominated it, or all sharing"),
    valid_from: str = typer.Option(date.today().isoformat(), "--from", help="first day (YYYY-MM-DD)"),
    valid_to: str = typer.Option(..., "--to", help="last day (YYYY-MM-DD)"),
    agreement_id: str = typer.Option("", "--id", help="its id (made up if omitted)"),
) -> None:
    """Approve a partner's agreement (version 1)."""
    draft = Agreement(
        agreement_id,
        partner,
        1,
        frozenset(purpose),
        frozenset(feed),
        frozenset(field),
        scope,
        date.fromisoformat(valid_from),
        date.fromisoformat(valid_to),
    )
    typer.echo("approved " + _describe(_apply(lambda uow: agreements.approve(uow, draft))))


@app.command("amend")
def amend(
    agreement_id: str,
    purpose: list[str] = typer.Option(
        None, callback=_checked_purposes, help=f"replace the purposes (repeat): {_PURPOSE_HELP}"
    ),
    feed: list[Feed] = typer.Option(None, help="replace the feeds (repeat)"),
    field: list[str] = typer.Option(None, help="replace the fields (repeat)"),
    scope: Scope = typer.Option(None, help="replace the scope"),
    valid_from: str = typer.Option(None, "--from", help="new first day"),
    valid_to: str = typer.Option(None, "--to", help="new last day"),
) -> None:
    """A new version of an agreement; what it no longer allows is recalled from the partner."""
    changes: dict[str, object] = {}
    if purpose:
        changes["purposes"] = frozenset(purpose)
    if feed:
        changes["feeds"] = frozenset(feed)
    if field:
        changes["fields"] = frozenset(field)
    if scope:
        changes["scope"] = scope
    if valid_from:
        changes["valid_from"] = date.fromisoformat(valid_from)
    if valid_to:
        changes["valid_to"] = date.fromisoformat(valid_to)
    if not changes:
        typer.echo("nothing to change", err=True)
        raise typer.Exit(2)
    typer.echo(
        "amended " + _describe(_apply(lambda uow: agreements.change(uow, agreement_id, now=clock.now(), **changes)))
    )


@app.command("suspend")
def suspend(agreement_id: str) -> None:
    """Stop the partner's feeds and answers until resumed (what it holds stays)."""
    typer.echo("suspended " + _describe(_apply(lambda uow: agreements.suspend(uow, agreement_id, now=clock.now()))))


@app.command("resume")
def resume(agreement_id: str) -> None:
    """Lift a suspension."""
    typer.echo("resumed " + _describe(_apply(lambda uow: agreements.resume(uow, agreement_id, now=clock.now()))))


@app.command("revoke")
def revoke(agreement_id: str) -> None:
    """End the agreement for good: everything the partner holds is recalled."""
    typer.echo("revoked " + _describe(_apply(lambda uow: agreements.revoke(uow, agreement_id, now=clock.now()))))


@app.command("list")
def list_() -> None:
    """Every agreement at its latest version."""

    async def _list() -> list[Agreement]:
        async with operator() as op, PostgresUnitOfWork(op.pool) as uow:
            return await uow.sharing.agreements()

    for a in sorted(run(_list()), key=lambda a: (a.partner, a.agreement_id)):
        typer.echo(_describe(a))
