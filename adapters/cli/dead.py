"""`hub dead ...`: list and replay dead letters."""

import typer

from adapters.bootstrap import hub_user
from adapters.cli.context import operator, run
from adapters.rabbit import dead_letters

app = typer.Typer(help="Dead letters: messages the hub refused or could not handle.", no_args_is_help=True)


@app.command("list")
def list_(limit: int = typer.Option(100, help="at most this many")) -> None:
    """List dead letters with their reasons (bodies are not shown: they may hold learner data)."""

    async def _list() -> list[dead_letters.DeadLetter]:
        async with operator() as op:
            return await dead_letters.list_dead_letters(op.channel, limit)

    letters = run(_list())
    for d in letters:
        typer.echo(f"{d.message_id}\t{d.message_type}\tfrom {d.sender or '?'}\t{d.at}\t{d.reason}")
    typer.echo(f"{len(letters)} dead letter(s)")


@app.command("replay")
def replay(message_id: str) -> None:
    """Put one dead letter back on its command queue, as sent by its original sender."""

    async def _replay() -> bool:
        async with operator() as op:
            return await dead_letters.replay(op.channel, message_id, hub_user(op.settings))

    if not run(_replay()):
        typer.echo(f"no dead letter with message_id {message_id}", err=True)
        raise typer.Exit(1)
    typer.echo(f"replayed {message_id}")
