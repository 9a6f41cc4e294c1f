"""`hub dead ...`: list and replay dead letters."""

import getpass
from datetime import UTC, datetime

import typer

from adapters.bootstrap import hub_user
from adapters.cli.context import operator, run
from adapters.postgres.dead_letter_quota import DeadLetterQuota, QuotaUse
from adapters.postgres.unit_of_work import PostgresUnitOfWork
from adapters.rabbit import dead_letters
from hub.ports import AuditEntry

app = typer.Typer(help="Dead letters: messages the hub refused or could not handle.", no_args_is_help=True)


@app.command("list")
def list_(limit: int = typer.Option(100, help="at most this many")) -> None:
    """List dead letters with their reasons (bodies are not shown: they may hold learner data)."""

    async def _list() -> tuple[list[dead_letters.DeadLetter], list[QuotaUse]]:
        async with operator() as op:
            letters = await dead_letters.list_dead_letters(op.channel, hub_user(op.settings), limit)
            quota = DeadLetterQuota(op.pool, op.settings.dead_letters_a_day, op.settings.dead_letter_bytes_a_day)
            return letters, await quota.over()

    letters, over = run(_list())
    for d in letters:
        typer.echo(f"{d.message_id}\t{d.message_type}\tfrom {d.sender or '?'}\t{d.at}\t{d.reason}")
    typer.echo(f"{len(letters)} dead letter(s)")
    for q in over:
        typer.echo(f"{q.day}: {q.dropped} refused message(s) from {q.sender or '(no user_id)'} answered but not kept")


@app.command("replay")
def replay(
    message_id: str,
    who: str = typer.Option(None, "--operator", help="who is replaying, for the audit log (default: your login)"),
) -> None:
    """Put one dead letter back on its type's command queue, as sent by the sender the broker validated.

    Events, the hub's own messages and dead letters whose sender is not known are refused. The
    replay (or its refusal) is recorded in the audit log under `operator:<name>`.
    """
    by = f"operator:{who or getpass.getuser()}"

    async def _replay() -> dead_letters.Replay:
        async with operator() as op:
            outcome = await dead_letters.replay(op.channel, message_id, hub_user(op.settings), by)
            if outcome.found:
                async with PostgresUnitOfWork(op.pool) as uow:
                    await uow.audit.append(_audit_entry(outcome, by))
                    await uow.commit()
            return outcome

    outcome = run(_replay())
    if not outcome.found:
        typer.echo(f"no dead letter with message_id {message_id}", err=True)
        raise typer.Exit(1)
    if outcome.refused:
        typer.echo(f"not replayed: {outcome.refused}", err=True)
        raise typer.Exit(1)
    typer.echo(f"replayed {message_id} ({outcome.message_type}) as {outcome.sender} onto {outcome.queue}")


def _audit_entry(outcome: dead_letters.Replay, by: str) -> AuditEntry:
    """A replay is an operator acting as an organisation: it is recorded like a disclosure."""
    return AuditEntry(
        at=datetime.now(UTC),
        recipient=by,
        uln=None,
        what="dead_letter.replay",
        purpose="operations",
        decision="refused" if outcome.refused else "allowed",
        reason=outcome.refused or f"replayed {outcome.message_type} as {outcome.sender} onto {outcome.queue}",
        fields=(),
        correlation_id=outcome.message_id,
    )
