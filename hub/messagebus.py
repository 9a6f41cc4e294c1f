"""The visible registry: which handler answers which message type, and who may send it."""

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

from contracts.codes import OrganisationKind
from contracts.learner import FindLearnerByDemographics, FindLearnerByUln, RegisterLearner, UpdateLearner
from hub import registration
from hub.answers import AnswerDraft
from hub.model import Organisation
from hub.ports import UnitOfWork

Handler = Callable[[UnitOfWork, Organisation, Any, date], Awaitable[AnswerDraft]]


@dataclass(frozen=True)
class Route:
    contract: type[Any]
    handler: Handler
    senders: frozenset[OrganisationKind]


_PROVIDERS = frozenset({OrganisationKind.PROVIDER})

HANDLERS: dict[str, Route] = {
    FindLearnerByUln.message_type: Route(FindLearnerByUln, registration.find_by_uln, _PROVIDERS),
    FindLearnerByDemographics.message_type: Route(
        FindLearnerByDemographics, registration.find_by_demographics, _PROVIDERS
    ),
    RegisterLearner.message_type: Route(RegisterLearner, registration.register_learner, _PROVIDERS),
    UpdateLearner.message_type: Route(UpdateLearner, registration.update_learner, _PROVIDERS),
}
