"""`hub notices`: recall, correction and re-key notices partners have not acknowledged."""

import typer

from adapters.cli.context import operator, run
from adapters.postgres.sharing import PostgresSharing
from hub.kernel.ports import NoticeRecord


def notices(partner: str = typer.Option(None, help="only this partner's")) -> None:
    """List the notices partners have not acknowledged yet, oldest first."""

    async def _list() -> list[NoticeRecord]:
        async with operator() as op, op.pool.acquire() as conn:
            return await PostgresSharing(conn).unacknowledged(partner)

    found = run(_list())
    for n in found:
        row = (f"{n.at:%Y-%m-%d %H:%M}", n.partner, n.kind, n.notice_id, n.uln or "", ",".join(n.keys), n.reason)
        typer.echo("\t".join(row))
    typer.echo(f"{len(found)} notice(s) not acknowledged")
