"""`hub audit verify`: recompute the audit log's keyed hash chain, against an anchor and the
heads the hub published."""

import getpass
import json
from pathlib import Path

import typer

from adapters.audit_heads import read_heads
from adapters.cli.context import operator, settings
from adapters.postgres.audit import process_chain_keys, read_chain
from adapters.postgres.unit_of_work import PostgresUnitOfWork
from hub.disclosure import show_log
from hub.kernel import clock
from hub.kernel.audit import ChainHead, anchor_broken, first_broken_link


async def verify(anchor: Path, new_anchor: bool = False, heads: Path | None = None) -> int:
    settings()  # reads LRS_AUDIT_KEY into the process's chain keys
    keys = process_chain_keys()  # WeakAuditKeyError (exit 2) without LRS_AUDIT_KEY
    if not anchor.exists() and not new_anchor:
        # A deleted anchor must not quietly become a new one: that would hide a cut tail.
        typer.echo(
            f"no anchor at {anchor}: nothing to check the log's length against. If this is the first "
            "verification, or the anchor was lost and you accept that a cut before now cannot be found, "
            "pass --new-anchor",
            err=True,
        )
        return 1
    published = read_heads(heads) if heads is not None else []
    async with operator() as op, op.pool.acquire() as conn:
        chain = await read_chain(conn)
    held = json.loads(anchor.read_text()) if anchor.exists() else None
    anchored = ChainHead(held["entries"], held["hash"]) if held else None
    # Entries from before the chain was keyed verify only as far as the anchor vouches for them.
    broken = first_broken_link(chain, keys, vouched=anchored.entries if anchored else 0)
    if broken is not None:
        typer.echo(f"audit log broken at entry {broken.index + 1} of {len(chain)}: {broken.reason}", err=True)
        return 1
    hashes = [linked.hash for linked in chain]
    if anchored is not None:
        cut = anchor_broken(hashes, anchored)
        if cut:
            typer.echo(f"audit log cut short or rewritten: {cut} ({anchor})", err=True)
            return 1
    for number, head in enumerate(published, 1):
        if cut := anchor_broken(hashes, head):
            typer.echo(f"audit log cut short or rewritten since head {number} in {heads}: {cut}", err=True)
            return 1
    # The new anchor: keep the file where the database's operators cannot write.
    anchor.write_text(json.dumps({"entries": len(hashes), "hash": hashes[-1] if hashes else ""}) + "\n")
    unkeyed = sum(1 for linked in chain if linked.key_id is None)
    typer.echo(
        f"audit log intact: {len(chain)} entries"
        + (f" ({unkeyed} from before the chain was keyed)" if unkeyed else "")
        + f", anchored in {anchor}"
        + (f", {len(published)} published heads hold ({heads})" if heads is not None else "")
    )
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
        typer.echo(
            f"{e.at:%Y-%m-%d %H:%M:%S}\t{e.recipient}\t{e.decision}\t{e.what}\t{e.purpose}\t"
            f"{','.join(e.fields)}\t{e.reason}\t{versions}"
        )
    typer.echo(
        f"{len(entries)} entr{'y' if len(entries) == 1 else 'ies'} about {master}; this reading is audited as {reader}"
    )
    return 0
