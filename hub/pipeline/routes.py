"""The route table: every capability's routes (hub/register, hub/records, hub/sharing), joined.
For every message type, its contract, handler, who may send it and the queue it arrives on; and
for every hub event, what handles it. The broker's bindings are built from it
(adapters/rabbit/topology.py), so a message type cannot be handled yet unbound, or bound unhandled."""

from hub.pipeline.route import Route
from hub.records import routes as records
from hub.register import routes as register
from hub.sharing import feeds
from hub.sharing import routes as sharing

ROUTES: tuple[Route, ...] = register.ROUTES + records.ROUTES + sharing.ROUTES
HANDLERS: dict[str, Route] = {r.contract.message_type: r for r in ROUTES}
# The hub's events and what handles each (all of them partners' feeds, today). An event that
# nothing handles is not published.
EVENT_HANDLERS: dict[str, feeds.EventHandler] = dict(feeds.EVENT_ROUTES)
