"""Are the hub's quorum queues replicated where a node's loss cannot lose them?

A quorum queue keeps its messages while a majority of its members is up: with three members,
any one node may die. RabbitMQ places a new quorum queue's members on every node of the
cluster at the time it is declared; a queue declared before a node joined, or a member on a
node removed since, leaves it with fewer than it should have, and nothing says so. This check
does: every queue must have a member on min(REPLICAS, nodes running) nodes, each online.
A queue short of members is grown with `rabbitmq-queues grow <node> all` (README).
"""

from adapters.rabbit.admin import BrokerAdmin, Replicas

REPLICAS = 3


def shortfalls(queues: list[Replicas], nodes: list[str], wanted: int = REPLICAS) -> list[str]:
    """What is wrong with each under-replicated queue, one line each; empty when all are right."""
    need = min(wanted, len(nodes))
    problems = []
    for q in queues:
        offline = sorted(set(q.members) - set(q.online))
        if len(q.members) < need:
            problems.append(f"{q.queue}: {len(q.members)} replica(s) of the {need} wanted ({', '.join(q.members)})")
        if offline:
            problems.append(f"{q.queue}: replica(s) offline on {', '.join(offline)}")
        elif q.leader is None:
            problems.append(f"{q.queue}: no leader")
    return problems


async def check_replicas(admin: BrokerAdmin) -> tuple[list[Replicas], list[str], list[str]]:
    """The quorum queues, the running nodes and what is short."""
    queues, nodes = await admin.replicas(), await admin.nodes()
    return queues, nodes, shortfalls(queues, nodes)
