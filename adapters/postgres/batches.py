"""Batch output: the rows the hub answered for a batch, as the LRS output file."""

import asyncio
import time
from collections import Counter
from pathlib import Path

import asyncpg

from adapters.files.batch import BatchSummary, output_path, write_output
from adapters.postgres.connection import AnyConnection


async def summarise(conn: AnyConnection, batch_id: str) -> BatchSummary:
    total = await conn.fetchval("SELECT total_rows FROM batch WHERE batch_id = $1", batch_id)
    if total is None:
        raise LookupError(f"no batch {batch_id} (no row of it has been handled yet)")
    counts = await conn.fetch("SELECT return_code, count(*) FROM batch_row WHERE batch_id = $1 GROUP BY 1", batch_id)
    counter: Counter[str] = Counter({r[0]: r[1] for r in counts})
    return BatchSummary(total, sum(counter.values()), counter)


async def batch_output(
    pool: asyncpg.Pool, batch_id: str, directory: Path, wait_s: float = 0
) -> tuple[Path, BatchSummary]:
    """Write the output file for `batch_id`, waiting up to `wait_s` for unanswered rows."""
    deadline = time.monotonic() + wait_s
    async with pool.acquire() as conn:
        while True:
            try:
                summary = await summarise(conn, batch_id)
                if summary.complete:
                    break
            except LookupError:
                if time.monotonic() >= deadline:
                    raise
            if time.monotonic() >= deadline:
                break
            await asyncio.sleep(0.2)
        rows = await conn.fetch(
            "SELECT row_number, mis_identifier, return_code, response_code, uln, reason "
            "FROM batch_row WHERE batch_id = $1 ORDER BY row_number",
            batch_id,
        )
    path = output_path(directory, batch_id)
    write_output(
        path,
        [
            {
                "RowNumber": r["row_number"],
                "MISIdentifier": r["mis_identifier"] or "",
                "ReturnCode": r["return_code"],
                "ResponseCode": r["response_code"] or "",
                "ULN": r["uln"] or "",
                "Reason": r["reason"],
            }
            for r in rows
        ],
    )
    return path, summary
