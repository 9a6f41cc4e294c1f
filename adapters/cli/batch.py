"""`hub batch ...`: submit an LRS batch file as a provider, and fetch its output."""

import asyncio
from pathlib import Path

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from adapters.cli.context import operator, run, settings
from adapters.files.batch import BatchFile, BatchFileError, read_batch_file
from adapters.postgres.batches import batch_output
from adapters.publisher import OrganisationClient
from contracts.learner import RegisterLearner
from hub.pipeline.inbound import BatchRef

app = typer.Typer(help="LRS batch files (LRB_<UKPRN>_DDMMYYYYHHMM.CSV).", no_args_is_help=True)
_IN_FLIGHT = 64  # unconfirmed publishes at once


async def submit_batch(amqp_url: str, batch: BatchFile, progress: Progress | None = None) -> None:
    """Publish every row of `batch` as its provider, each confirmed by the broker."""
    task = progress.add_task("publishing", total=len(batch.rows)) if progress else None
    window = asyncio.Semaphore(_IN_FLIGHT)
    async with OrganisationClient(amqp_url, batch.ukprn) as client:

        async def _send(row_number: int, message_id: str, body: dict[str, object]) -> None:
            async with window:
                headers = BatchRef(batch.batch_id, row_number, len(batch.rows)).headers()
                await client.send(RegisterLearner.message_type, body, message_id, headers)
            if progress is not None and task is not None:
                progress.advance(task)

        await asyncio.gather(*(_send(r.row_number, r.message_id, r.body) for r in batch.rows))


@app.command("submit")
def submit(
    path: Path = typer.Argument(..., exists=True, dir_okay=False, help="the batch file"),
    as_: str = typer.Option(..., "--as", help="the submitting provider's UKPRN"),
    password: str = typer.Option(..., envvar="LRS_ORG_PASSWORD", prompt=True, hide_input=True),
) -> None:
    """Publish each learner row of an LRS batch file as `learner.register.v1`."""
    try:
        batch = read_batch_file(path, as_)
    except BatchFileError as e:
        typer.echo(f"refused: {e}", err=True)
        raise typer.Exit(2) from e
    url = settings().amqp_url_for(as_, password)
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
    with Progress(*columns) as progress:
        run(submit_batch(url, batch, progress))
    typer.echo(f"batch {batch.batch_id}: {len(batch.rows)} rows submitted")
    typer.echo(f"fetch the output with: hub batch output {batch.batch_id}")


@app.command("output")
def output(
    batch_id: str,
    out_dir: Path = typer.Option(None, help="where to write the output CSV (default: LRS_BATCH_OUTPUT_DIR)"),
    wait: float = typer.Option(0, help="seconds to wait for rows still being handled"),
) -> None:
    """Write the batch output CSV (return code and reason per row) and print the counts."""

    async def _output() -> tuple[Path, str, bool]:
        async with operator() as op:
            directory = out_dir or Path(op.settings.batch_output_dir)
            path, summary = await batch_output(op.pool, batch_id, directory, wait)
            return path, summary.line(), summary.complete

    try:
        path, line, complete = run(_output())
    except LookupError as e:
        typer.echo(str(e), err=True)
        raise typer.Exit(1) from e
    typer.echo(line)
    typer.echo(f"output: {path}")
    if not complete:
        typer.echo("some rows are still being handled; run again later for the rest", err=True)
