"""Connecting to any live node of a RabbitMQ cluster.

aio-pika's robust connection reconnects after a failure, but always to the one URL it was
given: with that node down it would try it for ever while the cluster's other nodes serve.
`nodes_connection` makes a robust connection class that, at each (re)connection, tries the
cluster's nodes in turn, starting from the one it last reached; `nodes_broker` gives
FastStream's broker the same class. Channels, consumers and declarations are restored by
aio-pika on whichever node it reaches; the hub's quorum queues have replicas on the others.

aio-pika has no public hook for this: the class overrides the robust connection's one
transport-connecting step (a private name, `_RobustConnection__connect_transport`, pinned
by the lock file; tests/integration/test_broker_nodes.py fails if it ever changes).
"""

from collections.abc import Sequence
from typing import Any

from aio_pika import RobustConnection
from aio_pika.exceptions import CONNECTION_EXCEPTIONS
from faststream.rabbit import RabbitBroker
from yarl import URL

from adapters.settings import Settings


def node_urls(settings: Settings) -> list[str]:
    """LRS_AMQP_URL, then the same user and vhost on each of LRS_AMQP_NODES' other nodes."""
    first = URL(settings.amqp_url)
    others = [n.strip() for n in settings.amqp_nodes.split(",") if n.strip()]
    urls = [first]
    for node in others:
        host, _, port = node.rpartition(":") if ":" in node else (node, "", "")
        urls.append(first.with_host(host).with_port(int(port) if port else first.port))
    return [str(u) for u in dict.fromkeys(urls)]


def nodes_connection(urls: Sequence[str]) -> type[RobustConnection]:
    """A robust connection class that reconnects to any of `urls` that is up."""
    nodes = tuple(URL(u) for u in urls)

    class NodesConnection(RobustConnection):
        _node = 0  # the node reached last: tried first next time

        async def _RobustConnection__connect_transport(self) -> None:
            last: BaseException | None = None
            for step in range(len(nodes)):
                node = (self._node + step) % len(nodes)
                self.url = nodes[node]
                try:
                    await RobustConnection._RobustConnection__connect_transport(self)  # type: ignore[attr-defined]
                except CONNECTION_EXCEPTIONS as e:
                    last = e
                    continue
                self._node = node
                return
            assert last is not None
            raise last

    return NodesConnection


def nodes_broker(urls: Sequence[str], **options: Any) -> RabbitBroker:
    """FastStream's broker, connecting (and reconnecting) to any of `urls` that is up."""
    broker = RabbitBroker(urls[0], **options)
    # FastStream passes these to aio_pika.connect_robust, which takes the connection's class.
    broker._connection_kwargs["connection_class"] = nodes_connection(urls)
    return broker
