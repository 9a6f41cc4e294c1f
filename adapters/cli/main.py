"""The `hub` command: run the hub, manage organisations, check ULNs, batch files, dead letters."""

import asyncio
import secrets
import signal
from pathlib import Path

import typer

from adapters.bootstrap import Hub
from adapters.cli import batch, broker, dead, dsa, learners, org, plr
from adapters.cli.context import run, settings
from adapters.cli.notices import notices
from adapters.postgres.migrate import apply_migrations, ensure_database
from adapters.postgres.sealing import WeakDataKeyError, require_strong_data_key
from hub.kernel.audit import MIN_AUDIT_KEY_LENGTH
from hub.register.uln import check_uln

app = typer.Typer(help="Learner records hub: a message-driven Learning Records Service.", no_args_is_help=True)
app.add_typer(org.app, name="org")
app.add_typer(batch.app, name="batch")
app.add_typer(dead.app, name="dead")
app.add_typer(learners.app, name="learners")
app.add_typer(plr.app, name="plr")
app.add_typer(dsa.app, name="dsa")
app.add_typer(broker.app, name="broker")
app.command("notices")(notices)
uln_app = typer.Typer(help="ULN rules.", no_args_is_help=True)
app.add_typer(uln_app, name="uln")
audit_app = typer.Typer(help="The disclosure audit log.", no_args_is_help=True)
app.add_typer(audit_app, name="audit")


@app.command()
def serve() -> None:
    """Run the hub until interrupted: migrations, topology, consumers and outbox relay."""

    async def _serve() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        async with Hub(settings()):
            await stop.wait()

    run(_serve())


@app.command()
def migrate() -> None:
    """Apply pending database migrations."""
    ensure_database(settings().database_url)
    applied = apply_migrations(settings().database_url)
    typer.echo(f"{applied} migration(s) applied")


@app.command()
def demo() -> None:
    """Run the hub's main job end to end against the local services and print every outcome."""
    from adapters.demo import run_demo
    from adapters.log import configure_logging

    # The demo sets its own key: its database is new each run, so its pseudonyms need to stay
    # the same only within the run, and nobody has to configure a secret to try the hub.
    s = settings().model_copy(update={"log_hash_key": secrets.token_hex(32)})
    # Its learners' details are sealed under LRS_DATA_KEY if one is set (so that `hub plr show`
    # can read the demo's database afterwards), else under a key of the run's own.
    if not _strong_data_key(s.data_key):
        s = s.model_copy(update={"data_key": secrets.token_hex(32), "data_retired_keys": ""})
    # Likewise its audit chain is keyed with LRS_AUDIT_KEY if one is set (so that `hub audit
    # verify` can check it afterwards), else with a key of the run's own.
    if len(s.audit_key) < MIN_AUDIT_KEY_LENGTH:
        s = s.model_copy(update={"audit_key": secrets.token_hex(32), "audit_retired_keys": ""})
    configure_logging("WARNING", s.log_json, s.log_hash_key)  # the demo's tables are its output
    raise typer.Exit(run(run_demo(s)))


def _strong_data_key(key: str) -> bool:
    try:
        require_strong_data_key(key)
    except WeakDataKeyError:
        return False
    return True


@uln_app.command("check")
def uln_check(uln: str) -> None:
    """Exit 0 if ULN is valid, 1 (saying why) if it is not."""
    verdict = check_uln(uln)
    if verdict.valid:
        typer.echo(f"{uln}: valid")
        return
    typer.echo(f"{uln}: invalid: {verdict.reason}", err=True)
    raise typer.Exit(1)


@audit_app.command("verify")
def audit_verify(
    anchor: Path = typer.Option(
        ...,
        help="a file holding the log's length and last hash from the previous verification, kept where the "
        "database's users cannot write: checked (a cut-off or rewritten tail fails) and then moved forward",
    ),
    new_anchor: bool = typer.Option(
        False, "--new-anchor", help="start a new anchor when FILE does not exist (else a missing anchor fails)"
    ),
    heads: Path = typer.Option(
        None, help="the chain heads `hub serve` published (LRS_AUDIT_HEADS_FILE): each must still hold"
    ),
) -> None:
    """Check the audit log's keyed hash chain; exit 1 at the first entry changed, deleted, moved or forged."""
    from adapters.cli.audit import verify

    raise typer.Exit(run(verify(anchor, new_anchor, heads)))


@audit_app.command("show")
def audit_show(
    uln: str,
    who: str = typer.Option(None, "--operator", help="who is reading, for the audit log (default: your login)"),
) -> None:
    """Every audit entry about a learner (and ULNs linked to them); the reading is audited too."""
    from adapters.cli.audit import show

    raise typer.Exit(run(show(uln, who)))


if __name__ == "__main__":
    app()
