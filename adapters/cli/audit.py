"""`hub audit verify`: recompute the audit log's hash chain."""

import getpass

import typer

from adapters.cli.context import operator
from adapters.postgres.audit import read_chain
from adapters.postgres.unit_of_work import PostgresUnitOfWork
from hub import clock
from hub.audit import first_broken_link
from hub.disclosure import show_log


async def verify() -> int:
    async with operator() as op, op.pool.acquire() as conn:
        chain = await read_chain(conn)
    broken = first_broken_link(chain)
    if broken is None:
        typer.echo(f"audit log intact: {len(chain)} entries")
        return 0
    typer.echo(f"audit log broken at entry {broken + 1} of {len(chain)}: changed, deleted or reordered", err=True)
    return 1


async def show(uln: str, who: str | None) -> int:
    reader = f"operator:{who or getpass.getuser()}"
    async with operator() as op, PostgresUnitOfWork(op.pool) as uow:
        master, entries = await show_log(uow, reader, uln, clock.now())
        await uow.commit()
    for e in entries:
        versions = (
            f"agreement {e.agreement_id} v{e.agreement_version}, consent v{e.consent_version}" if e.agreement_id else ""
        )
        typer.echo(f"{e.at:%Y-%m-%d %H:%M:%S}\t{e.recipient}\t{e.decision}\t{e.what}\t{e.purpose}\t"
                   f"{','.join(e.fields)}\t{e.reason}\t{versions}")  # fmt: skip
    typer.echo(
        f"{len(entries)} entr{'y' if len(entries) == 1 else 'ies'} about {master}; this reading is audited as {reader}"
    )
    return 0
