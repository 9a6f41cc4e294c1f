"""What a route is: a message type's contract, its handler, who may send it and the queue it
arrives on. Each capability declares its own routes (hub/*/routes.py); hub/pipeline/routes.py
joins them into the one table everything else is derived from."""

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import TypeAdapter

from contracts.codes import OrganisationKind
from hub.kernel.model import Organisation
from hub.kernel.ports import UnitOfWork
from hub.pipeline.drafts import Draft

# A handler is given the moment the pipeline took the message: the one clock reading its work uses.
Handler = Callable[[UnitOfWork, Organisation, Any, datetime], Awaitable[Draft]]


@dataclass(frozen=True)
class Route:
    contract: type[Any]
    handler: Handler
    senders: frozenset[OrganisationKind]
    queue: str
    # For a bulk message (a list `items`): the item type, so that bad items are answered one by
    # one and the good ones applied (hub/pipeline/items.py). The handler then gets the items as a list.
    items: TypeAdapter[Any] | None = None


PROVIDERS = frozenset({OrganisationKind.PROVIDER})
AWARDING = frozenset({OrganisationKind.AWARDING_ORGANISATION})
PORTAL = frozenset({OrganisationKind.LEARNER_PORTAL})
SOURCES = PROVIDERS | AWARDING  # organisations whose PLR entries can be challenged
PARTNERS = frozenset({OrganisationKind.PARTNER})
