"""`hub learners ...`: merge and unmerge duplicates, list likely ones, seal details at rest, re-key (operators)."""

from collections.abc import Awaitable, Callable

import typer

from adapters.bootstrap import sealer_from
from adapters.cli.context import operator, run, settings
from adapters.postgres.reindex import reindex_block_keys
from adapters.postgres.sealing import SealingReport, seal_learner_rows
from adapters.postgres.unit_of_work import PostgresUnitOfWork
from hub.kernel.ports import UnitOfWork
from hub.register import linking
from hub.register.linking import LikelyDuplicate, LinkOutcome

app = typer.Typer(help="The Learner Register: linked learners and duplicates.", no_args_is_help=True)


def _apply(change: Callable[[UnitOfWork, str, str], Awaitable[LinkOutcome]], master: str, linked: str) -> LinkOutcome:
    async def _run() -> LinkOutcome:
        async with operator() as op, PostgresUnitOfWork(op.pool) as uow:
            outcome = await change(uow, master, linked)
            await uow.commit()
            return outcome

    outcome = run(_run())
    if not outcome.applied:
        typer.echo(f"refused: {outcome.reason}", err=True)
        raise typer.Exit(1)
    return outcome


@app.command("merge")
def merge(master: str, linked: str) -> None:
    """Merge LINKED into MASTER: LINKED stays valid and resolves to MASTER (WSRC0022)."""
    _apply(linking.merge_learners, master, linked)
    typer.echo(f"{linked} is now linked to {master}; a learners.merged event is queued")


@app.command("unmerge")
def unmerge(master: str, linked: str) -> None:
    """Reverse a wrong merge: LINKED becomes a learner of its own again."""
    _apply(linking.unmerge_learners, master, linked)
    typer.echo(f"{linked} is no longer linked to {master}; a learners.unmerged event is queued")


@app.command("duplicates")
def duplicates(recent: int = typer.Option(1000, help="look for duplicates of the most recently registered")) -> None:
    """List likely duplicates already in the register, best first, with how their fields agree."""

    async def _find() -> list[LikelyDuplicate]:
        async with operator() as op, PostgresUnitOfWork(op.pool) as uow:
            return await linking.likely_duplicates(uow, await uow.learners.recent(recent))

    pairs = run(_find())
    for p in pairs:
        agreed = ", ".join(f"{f} {level}" for f, level in p.agreement.items())
        typer.echo(f"{p.uln}\t{p.other_uln}\tscore {p.score:g}\t{agreed}")
    typer.echo(f"{len(pairs)} likely duplicate pair(s)")


@app.command("seal")
def seal() -> None:
    """Seal, under LRS_DATA_KEY, contact details and notes of rows written in clear or under a retired key."""

    async def _seal() -> SealingReport:
        sealer = sealer_from(settings())  # before connecting: without a strong key, nothing to do (exit 2)
        async with operator() as op:
            return await seal_learner_rows(op.pool, sealer)

    report = run(_seal())
    typer.echo(
        f"{report.sealed} learner row(s) sealed that were in clear, {report.resealed} re-sealed from a retired key"
    )
    if report.unopened:
        unopened = " ".join(report.unopened)
        typer.echo(f"{len(report.unopened)} row(s) do not open and were left as they are: {unopened}", err=True)
        raise typer.Exit(1)


@app.command("reindex")
def reindex() -> None:
    """Index learners written under an older set of blocking keys under the current one (after `hub migrate`)."""

    async def _reindex() -> int:
        async with operator() as op:
            return await reindex_block_keys(op.pool)

    typer.echo(f"{run(_reindex())} learner row(s) re-keyed under the current blocking keys")
