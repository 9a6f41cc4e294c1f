"""`hub broker`: the RabbitMQ cluster the hub runs on, as its management API sees it."""

import typer

from adapters.cli.context import run, settings
from adapters.rabbit.admin import BrokerAdmin, Replicas
from adapters.rabbit.replication import REPLICAS, check_replicas

app = typer.Typer(no_args_is_help=True, help="The RabbitMQ cluster: nodes and the replicas of the hub's queues.")


@app.command("replicas")
def replicas() -> None:
    """List the hub's quorum queues with their replicas; exit 1 when one has fewer than
    three (or than the running nodes, if fewer) or a replica is offline."""

    async def _check() -> tuple[list[Replicas], list[str], list[str]]:
        s = settings()
        admin = BrokerAdmin(s.rabbit_management_url, s.rabbit_management_user, s.rabbit_management_password, s.vhost)
        try:
            return await check_replicas(admin)
        finally:
            await admin.close()

    queues, nodes, problems = run(_check())
    typer.echo(f"{len(nodes)} node(s) running: {', '.join(nodes)}")
    for q in sorted(queues, key=lambda q: q.queue):
        typer.echo(
            f"{q.queue}\tleader {q.leader or '-'}\t{len(q.online)}/{len(q.members)} online\t{', '.join(q.members)}"
        )
    for problem in problems:
        typer.echo(f"short: {problem}", err=True)
    if problems:
        raise typer.Exit(1)
    typer.echo(f"every quorum queue has {min(REPLICAS, len(nodes))} replica(s) online")
