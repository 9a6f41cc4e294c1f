"""`hub dead ...`: list and replay dead letters.

Listing reads the dead-letter index (adapters/postgres/dead_letter_index.py), never the queue:
each read of a quorum queue raises the letter's delivery count. `--peek` and `--scan` do read
lrs.dead (each letter read is delivered once more, and put back); they are for what the index
lacks and for an operator who must see a body.
"""

import getpass
from datetime import UTC, datetime, timedelta

import typer

from adapters.bootstrap import hub_user
from adapters.cli.context import Operator, operator, run
from adapters.postgres.dead_letter_index import DeadLetterIndex, IndexedLetter
from adapters.postgres.dead_letter_quota import DeadLetterQuota, QuotaUse
from adapters.postgres.unit_of_work import PostgresUnitOfWork
from adapters.rabbit import dead_letters
from hub.kernel.ports import AuditEntry
from hub.kernel.vocabulary import Purpose, What

app = typer.Typer(help="Dead letters: messages the hub refused or could not handle.", no_args_is_help=True)


def _when(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%MZ")


@app.command("list")
def list_(
    limit: int = typer.Option(100, help="at most this many, those that expire first"),
    peek: bool = typer.Option(
        False, "--peek", help="also read them from lrs.dead and show their bodies (learner data: audited)"
    ),
    who: str = typer.Option(None, "--operator", help="who is peeking, for the audit log (default: your login)"),
) -> None:
    """List dead letters with their reasons and when each expires (from the index: lrs.dead is not read).

    With --peek the letters are read from lrs.dead (each is delivered once more and put back),
    their bodies shown, any the index lacked added to it, and the reading audited.
    """

    async def _list() -> tuple[list[IndexedLetter], int, int, list[QuotaUse], list[dead_letters.Peeked], int]:
        async with operator() as op:
            index = DeadLetterIndex(op.pool)
            peeked = await _peek(op, index, limit, f"operator:{who or getpass.getuser()}") if peek else []
            letters, indexed = await index.list(limit), await index.count()
            held = await dead_letters.held_count(op.channel)
            quota = DeadLetterQuota(op.pool, op.settings.dead_letters_a_day, op.settings.dead_letter_bytes_a_day)
            return letters, indexed, held, await quota.over(), peeked, op.settings.dead_letter_keep_days

    letters, indexed, held, over, peeked, keep_days = run(_list())
    keep = timedelta(days=keep_days)
    for d in letters:
        copies = f" ({d.copies} copies)" if d.copies > 1 else ""
        typer.echo(
            f"{d.message_id}\t{d.message_type}\tfrom {d.sender or '?'}\tsince {_when(d.first_seen_at)}"
            f"\texpires {_when(d.first_seen_at + keep)}\t{d.reason}{copies}"
        )
    typer.echo(f"{len(letters)} dead letter(s) listed of {indexed} indexed; lrs.dead holds {held}")
    if held > indexed:
        typer.echo(f"{held - indexed} held letter(s) not in the index: `hub dead list --peek` reads and indexes them")
    for p in peeked:
        typer.echo(f"--- {p.letter.message_id} from {p.letter.sender or '?'} ({p.letter.reason})")
        typer.echo(p.body.decode(errors="backslashreplace") if p.body else f"(body not kept: {p.letter.size} bytes)")
    for q in over:
        typer.echo(f"{q.day}: {q.dropped} refused message(s) from {q.sender or '(no user_id)'} answered but not kept")


async def _peek(op: Operator, index: DeadLetterIndex, limit: int, by: str) -> list[dead_letters.Peeked]:
    """Read letters with their bodies, index those the index lacks, and audit the reading."""
    peeked = await dead_letters.peek(op.connection, hub_user(op.settings), limit)
    now = datetime.now(UTC)
    for p in peeked:
        at = p.at or now
        letter = p.letter
        await index.add_missing(
            IndexedLetter(
                sender=letter.sender,
                message_id=letter.message_id or "",
                message_type=letter.message_type,
                consumer=p.consumer,
                reason=letter.reason,
                size=letter.size,
                copies=1,
                first_seen_at=at,
                last_seen_at=at,
            )
        )
    async with PostgresUnitOfWork(op.pool) as uow:
        ids = ", ".join(p.letter.message_id or "?" for p in peeked)
        await uow.audit.append(
            AuditEntry.of(
                allowed=True,
                at=now,
                recipient=by,
                what=What.DEAD_LETTER_PEEK,
                purpose=Purpose.OPERATIONS,
                reason=f"read {len(peeked)} dead letters' bodies: {ids}"[:1000],
            )
        )
        await uow.commit()
    return peeked


@app.command("replay")
def replay(
    message_id: str,
    who: str = typer.Option(None, "--operator", help="who is replaying, for the audit log (default: your login)"),
    sender: str = typer.Option(None, "--sender", help="the sender, when several sent a dead letter with this id"),
    scan: bool = typer.Option(False, "--scan", help="read lrs.dead for it even if the index does not know it"),
) -> None:
    """Put one dead letter back on its type's command queue, as sent by the sender the broker validated.

    The id is looked up in the dead-letter index: one it does not know is refused without
    reading lrs.dead (`--scan` reads the queue for it anyway). Events, the hub's own messages
    and dead letters whose sender is not known are refused. The replay (or its refusal) is
    recorded in the audit log under `operator:<name>`.
    """
    by = f"operator:{who or getpass.getuser()}"

    async def _replay() -> dead_letters.Replay | str:
        async with operator() as op:
            index = DeadLetterIndex(op.pool)
            indexed = [d for d in await index.find(message_id) if sender is None or d.sender == sender]
            if not indexed and not scan:
                return f"no dead letter with message_id {message_id} in the index (--scan reads lrs.dead for it)"
            if len(indexed) > 1:
                senders = ", ".join(d.sender or "''" for d in indexed)
                return f"dead letters with message_id {message_id} from several senders ({senders}): give --sender"
            wanted = indexed[0].sender if indexed else sender
            outcome = await dead_letters.replay(op.connection, message_id, hub_user(op.settings), by, wanted)
            if outcome.found:
                async with PostgresUnitOfWork(op.pool) as uow:
                    await uow.audit.append(_audit_entry(outcome, by))
                    await uow.commit()
                if not outcome.refused:
                    await index.forget(outcome.sender or "", message_id)
            elif indexed:
                return (
                    f"{message_id} is in the index but no longer in lrs.dead"
                    " (expired, or its copy was refused while lrs.dead was full)"
                )
            return outcome

    outcome = run(_replay())
    if isinstance(outcome, str):
        typer.echo(outcome, err=True)
        raise typer.Exit(1)
    if not outcome.found:
        typer.echo(f"no dead letter with message_id {message_id}", err=True)
        raise typer.Exit(1)
    if outcome.refused:
        typer.echo(f"not replayed: {outcome.refused}", err=True)
        raise typer.Exit(1)
    typer.echo(f"replayed {message_id} ({outcome.message_type}) as {outcome.sender} onto {outcome.queue}")


def _audit_entry(outcome: dead_letters.Replay, by: str) -> AuditEntry:
    """A replay is an operator acting as an organisation: it is recorded like a disclosure."""
    return AuditEntry.of(
        allowed=not outcome.refused,
        at=datetime.now(UTC),
        recipient=by,
        what=What.DEAD_LETTER_REPLAY,
        purpose=Purpose.OPERATIONS,
        reason=outcome.refused or f"replayed {outcome.message_type} as {outcome.sender} onto {outcome.queue}",
        correlation_id=outcome.message_id,
    )
