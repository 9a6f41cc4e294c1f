"""`hub audit verify`: recompute the audit log's hash chain."""

import typer

from adapters.cli.context import operator
from adapters.postgres.audit import read_chain
from hub.audit import first_broken_link


async def verify() -> int:
    async with operator() as op, op.pool.acquire() as conn:
        chain = await read_chain(conn)
    broken = first_broken_link(chain)
    if broken is None:
        typer.echo(f"audit log intact: {len(chain)} entries")
        return 0
    typer.echo(f"audit log broken at entry {broken + 1} of {len(chain)}: changed, deleted or reordered", err=True)
    return 1
