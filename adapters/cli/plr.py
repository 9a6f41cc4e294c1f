"""`hub plr show <ULN>`: an operator reads a learner's Personal Learning Record (audited)."""

import getpass
import json
from datetime import UTC, datetime

import typer
from rich.console import Console
from rich.table import Table

from adapters.cli.context import operator, run
from adapters.postgres.unit_of_work import PostgresUnitOfWork
from contracts.plr import LearningEventView
from hub.disclosure import show_record

app = typer.Typer(help="Personal Learning Records.", no_args_is_help=True)

# What each kind of entry shows in the table's "what" column.
_SUMMARY = {
    "achievement": ("qualification_type", "subject", "subject_code", "level", "grade", "status", "award_date"),
    "participation": (
        "learning_aim_reference",
        "learning_aim_title",
        "start_date",
        "planned_end_date",
        "actual_end_date",
        "outcome",
    ),
}


@app.command("show")
def show(
    uln: str,
    as_json: bool = typer.Option(False, "--json", help="one JSON object per entry instead of a table"),
    who: str = typer.Option(None, "--operator", help="who is reading, for the audit log (default: your login)"),
) -> None:
    """Print every entry of a learner's PLR: source, status, date loaded, whether under challenge.

    The reading is recorded in the audit log under `operator:<name>`, as any disclosure is.
    """
    reader = f"operator:{who or getpass.getuser()}"

    async def _show() -> tuple[str | None, list[LearningEventView]]:
        async with operator() as op, PostgresUnitOfWork(op.pool) as uow:
            found = await show_record(uow, reader, uln, datetime.now(UTC))
            await uow.commit()
            return found

    master, entries = run(_show())
    if master is None:
        typer.echo(f"no learner has ULN {uln}", err=True)
        raise typer.Exit(1)
    if as_json:
        for e in entries:
            typer.echo(json.dumps(e.model_dump(mode="json")))
        return
    title = f"PLR of {master}" + (f" (ULN {uln} is linked to it)" if master != uln else "")
    table = Table(title=title)
    for column in ("loaded", "kind", "source", "ref", "v", "what", "status"):
        table.add_column(column)
    for e in entries:
        what = " ".join(str(e.fields[f]) for f in _SUMMARY[e.kind] if e.fields.get(f) is not None)
        status = "withdrawn" if e.withdrawn else "current"
        if e.under_challenge:
            status += ", UNDER CHALLENGE"
        table.add_row(
            e.date_loaded.strftime("%Y-%m-%d %H:%M"),
            e.kind,
            f"{e.source} {e.source_org}",
            e.source_ref,
            str(e.version),
            what,
            status,
        )
    Console().print(table)
    typer.echo(f"{len(entries)} entr{'y' if len(entries) == 1 else 'ies'}; this reading is audited as {reader}")
