"""The hub connects, and reconnects, to any live node of those it is given (issue 12, item 3).

Two "nodes" here: a TCP relay in front of the machine's broker, which the test can kill as a
node dies (its port refuses from then on), and the broker itself. What is tested is the
client side: a node gone, the hub and its consumers carry on on another by themselves.
"""

import asyncio
import contextlib
from collections.abc import AsyncIterator

import pytest
from yarl import URL

from adapters.bootstrap import Hub
from adapters.rabbit.admin import BrokerAdmin, BrokerAdminError
from adapters.rabbit.nodes import node_urls
from adapters.settings import Settings
from bench.private_servers import free_port
from tests.integration.conftest import OrgLogin
from tests.integration.mis import Mis, body, register
from tests.integration.test_outage_holds import PEOPLE

REGISTER = "learner.register.v1"


class Node:
    """A port that relays to the broker until `die()`: then it refuses, as a stopped node's would."""

    def __init__(self, broker: URL) -> None:
        self.port = free_port()
        self._broker = broker
        self._server: asyncio.Server | None = None
        self._links: set[asyncio.StreamWriter] = set()

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._relay, "127.0.0.1", self.port)

    async def _relay(self, client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter) -> None:
        reader, writer = await asyncio.open_connection(self._broker.host, self._broker.port)
        self._links |= {client_writer, writer}

        async def pipe(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
            with contextlib.suppress(ConnectionError):
                while data := await source.read(65536):
                    sink.write(data)
                    await sink.drain()
            sink.close()

        await asyncio.gather(pipe(client_reader, writer), pipe(reader, client_writer))

    async def die(self) -> None:
        assert self._server is not None
        self._server.close()
        for link in self._links:
            link.transport.abort()  # connections cut, not closed politely: a node killed
        await self._server.wait_closed()


@pytest.fixture
async def doomed(settings: Settings) -> AsyncIterator[Node]:
    node = Node(URL(settings.amqp_url))
    await node.start()
    yield node
    with contextlib.suppress(Exception):
        await node.die()


@pytest.fixture
def settings(settings: Settings, doomed: Node) -> Settings:
    """The hub given the doomed node first, the broker itself as the other node."""
    url = URL(settings.amqp_url)
    return settings.model_copy(
        update={"amqp_url": str(url.with_port(doomed.port)), "amqp_nodes": f"{url.host}:{url.port}"}
    )


def test_the_nodes_share_the_first_url_s_user_and_vhost() -> None:
    s = Settings(amqp_url="amqp://hub:pw@rabbit-1:5672/lrs", amqp_nodes="rabbit-2:5672, rabbit-3, rabbit-1:5672")
    assert node_urls(s) == [
        "amqp://hub:pw@rabbit-1:5672/lrs",
        "amqp://hub:pw@rabbit-2:5672/lrs",
        "amqp://hub:pw@rabbit-3:5672/lrs",
    ]


async def test_the_node_the_hub_is_on_dies_and_the_hub_carries_on_on_another(
    hub: Hub, provider: OrgLogin, doomed: Node, settings: Settings
) -> None:
    ukprn = provider.org.org_id
    on_the_broker = URL(provider.amqp_url).with_port(URL(node_urls(settings)[1]).port)
    async with Mis(str(on_the_broker), ukprn) as mis:  # the MIS on the broker itself, not the doomed node
        first = await mis.send(REGISTER, register(ukprn, **PEOPLE[0]))
        answered = [await mis.answer()]
        await doomed.die()
        later = [await mis.send(REGISTER, register(ukprn, **person)) for person in PEOPLE[1:]]
        answered += [await mis.answer(timeout_s=60) for _ in later]

    assert sorted(a.correlation_id or "" for a in answered) == sorted([first, *later])
    assert {body(a)["response_code"] for a in answered} == {"WSRC0005"}


async def test_the_management_api_is_asked_of_the_next_node_when_one_is_down(hub: Hub, settings: Settings) -> None:
    dead = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    admin = BrokerAdmin(f"{dead},{settings.rabbit_management_url}", "guest", "guest", settings.vhost)
    try:
        assert await admin.nodes()  # answered by the live one
        queues = await admin.replicas()
        assert {q.queue for q in queues} >= {"lrs.registration", "lrs.dead"}
        assert {len(q.members) for q in queues} == {1}  # one node here: one replica each
    finally:
        await admin.close()
    with pytest.raises(BrokerAdminError, match="unreachable"):
        alone = BrokerAdmin(dead, "guest", "guest", settings.vhost)
        try:
            await alone.nodes()
        finally:
            await alone.close()
