"""The route table is the whole truth: every contract has a route, every route its binding, every
bound event a handler, nothing else is bound; and what no binding takes is answered, not dropped."""

from urllib.parse import quote

import httpx
import pytest

from adapters.bootstrap import Hub
from contracts import EVENTS, REQUESTS
from hub.pipeline.routes import EVENT_HANDLERS, HANDLERS, ROUTES
from hub.pipeline.routing import EVENTS_EXCHANGE, INBOUND_EXCHANGE, SHARING_QUEUE
from tests.conftest import MANAGEMENT
from tests.integration.conftest import OrgLogin
from tests.integration.mis import Mis, body, register

REGISTER = "learner.register.v1"


def _bindings(vhost: str) -> set[tuple[str, str, str]]:
    response = httpx.get(f"{MANAGEMENT}/api/bindings/{quote(vhost, safe='')}", auth=("guest", "guest"), timeout=10)
    response.raise_for_status()
    return {(b["source"], b["destination"], b["routing_key"]) for b in response.json() if b["source"]}


def test_every_request_contract_has_exactly_one_route() -> None:
    """The contracts' list of requests and the route table name the same message types, once each."""
    assert sorted(HANDLERS) == sorted(REQUESTS)
    assert len(ROUTES) == len(HANDLERS)
    assert all(HANDLERS[t].contract is REQUESTS[t] for t in REQUESTS)


def test_every_handled_event_is_a_contract() -> None:
    assert set(EVENT_HANDLERS) <= set(EVENTS)


async def test_the_broker_binds_exactly_the_route_table(hub: Hub) -> None:
    """lrs.inbound binds `*.<type>` to the queue each route names and lrs.events each handled event
    to lrs.feeds; nothing else is bound to either (no prefix bindings of earlier versions)."""
    expected = {(INBOUND_EXCHANGE, r.queue, f"*.{r.contract.message_type}") for r in ROUTES}
    expected |= {(EVENTS_EXCHANGE, "lrs.feeds", t) for t in EVENT_HANDLERS}
    bound = {b for b in _bindings(hub.settings.vhost) if b[0] in (INBOUND_EXCHANGE, EVENTS_EXCHANGE)}

    assert bound == expected
    assert (INBOUND_EXCHANGE, SHARING_QUEUE, "*.learner.read_record.v1") in bound  # with the learner's choices


async def test_old_prefix_bindings_are_removed_at_start(hub: Hub) -> None:
    """A broker declared by an earlier version (bound by prefix) is brought to the route table's bindings."""
    queue = await hub.channel.get_queue("lrs.registration", ensure=False)
    inbound = await hub.channel.get_exchange(INBOUND_EXCHANGE, ensure=False)
    await queue.bind(inbound, "*.learner.#")
    async with Hub(hub.settings):
        bound = _bindings(hub.settings.vhost)
    assert (INBOUND_EXCHANGE, "lrs.registration", "*.learner.#") not in bound


@pytest.mark.parametrize(
    ("message_type", "routing_key", "reason"),
    [
        ("learner.regist.v1", "{org}.learner.regist.v1", "unknown_message_type"),
        ("nonsense", "{org}.nonsense", "unknown_message_type"),
        (REGISTER, "{org}.learner.register", "sender_mismatch"),
    ],
    ids=["a misspelt type", "no such part of the hub", "routing key without the version"],
)
async def test_a_message_no_binding_takes_is_answered_with_the_reason(
    hub: Hub, provider: OrgLogin, message_type: str, routing_key: str, reason: str
) -> None:
    """What the broker cannot route goes to the hub by the alternate exchange, and its sender is told why."""
    ukprn = provider.org.org_id
    async with Mis(provider.amqp_url, ukprn) as mis:
        request_id = await mis.send(message_type, register(ukprn), routing_key=routing_key.format(org=ukprn))
        rejection = await mis.answer()

    assert (rejection.correlation_id, body(rejection)["reason"]) == (request_id, reason)
