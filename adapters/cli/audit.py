"""`hub audit verify`: recompute the audit log's hash chain."""

import getpass
import json
from pathlib import Path

import typer

from adapters.cli.context import operator
from adapters.postgres.audit import read_chain
from adapters.postgres.unit_of_work import PostgresUnitOfWork
from hub import clock
from hub.audit import anchor_broken, first_broken_link
from hub.disclosure import show_log


async def verify(anchor: Path | None = None) -> int:
    async with operator() as op, op.pool.acquire() as conn:
        chain = await read_chain(conn)
    broken = first_broken_link(chain)
    if broken is not None:
        typer.echo(f"audit log broken at entry {broken + 1} of {len(chain)}: changed, deleted or reordered", err=True)
        return 1
    hashes = [stored for _, stored in chain]
    if anchor is not None and anchor.exists():
        held = json.loads(anchor.read_text())
        cut = anchor_broken(hashes, held["entries"], held["hash"])
        if cut:
            typer.echo(f"audit log cut short: {cut} ({anchor})", err=True)
            return 1
    if anchor is not None:  # the new anchor: keep the file where the database's operators cannot write
        anchor.write_text(json.dumps({"entries": len(hashes), "hash": hashes[-1] if hashes else ""}) + "\n")
    typer.echo(f"audit log intact: {len(chain)} entries" + (f", anchored in {anchor}" if anchor else ""))
    return 0


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
