"""The route table: for every message type, its contract, handler, who may send it and the queue
it arrives on; and for every hub event, what handles it. The broker's bindings are built from it
(adapters/rabbit/topology.py), so a message type cannot be handled yet unbound, or bound unhandled."""

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import TypeAdapter

from contracts.codes import OrganisationKind
from contracts.learner import FindLearnerByDemographics, FindLearnerByUln, RegisterLearner, UpdateLearner
from contracts.plr import (
    AchievementBulk,
    AchievementItem,
    AmendAchievement,
    ChallengeLearningEvent,
    ConfirmLearningEvent,
    PublishEnrolment,
    SubmitAchievement,
    VerifyItem,
    VerifyLearner,
    VerifyLearners,
    WithdrawAchievement,
)
from contracts.sharing import (
    AcknowledgeNotices,
    Backfill,
    Nominate,
    PreviewView,
    ReadDisclosures,
    ReadOwnRecord,
    RequestRecord,
    SetRestrictedView,
    SetSharing,
    Subscribe,
    Unsubscribe,
    WithdrawNomination,
)
from hub import achievements, challenges, consent, enrolments, feeds, partners, registration, updates, verification
from hub.answers import Draft
from hub.model import Organisation
from hub.ports import UnitOfWork
from hub.routing import RECORDS_QUEUE, REGISTRATION_QUEUE, SHARING_QUEUE

# A handler is given the moment the pipeline took the message: the one clock reading its work uses.
Handler = Callable[[UnitOfWork, Organisation, Any, datetime], Awaitable[Draft]]


@dataclass(frozen=True)
class Route:
    contract: type[Any]
    handler: Handler
    senders: frozenset[OrganisationKind]
    queue: str
    # For a bulk message (a list `items`): the item type, so that bad items are answered one by
    # one and the good ones applied (hub/bulk.py). The handler then gets the items as a list.
    items: TypeAdapter[Any] | None = None


_PROVIDERS = frozenset({OrganisationKind.PROVIDER})
_AWARDING = frozenset({OrganisationKind.AWARDING_ORGANISATION})
_PORTAL = frozenset({OrganisationKind.LEARNER_PORTAL})
_SOURCES = _PROVIDERS | _AWARDING  # organisations whose PLR entries can be challenged
_PARTNERS = frozenset({OrganisationKind.PARTNER})

_REGISTER, _RECORDS, _SHARING = REGISTRATION_QUEUE, RECORDS_QUEUE, SHARING_QUEUE
ROUTES: tuple[Route, ...] = (
    Route(FindLearnerByUln, registration.find_by_uln, _PROVIDERS, _REGISTER),
    Route(FindLearnerByDemographics, registration.find_by_demographics, _PROVIDERS, _REGISTER),
    Route(RegisterLearner, registration.register_learner, _PROVIDERS, _REGISTER),
    Route(UpdateLearner, updates.update_learner, _PROVIDERS, _REGISTER),
    Route(VerifyLearner, verification.verify_learner, _AWARDING, _REGISTER),
    Route(VerifyLearners, verification.verify_learners, _AWARDING, _REGISTER, TypeAdapter(VerifyItem)),
    Route(SubmitAchievement, achievements.submit, _AWARDING, _RECORDS),
    Route(AmendAchievement, achievements.amend, _AWARDING, _RECORDS),
    Route(WithdrawAchievement, achievements.withdraw, _AWARDING, _RECORDS),
    Route(AchievementBulk, achievements.bulk, _AWARDING, _RECORDS, TypeAdapter(AchievementItem)),
    Route(PublishEnrolment, enrolments.publish, _PROVIDERS, _RECORDS),
    Route(ChallengeLearningEvent, challenges.raise_challenge, _PORTAL, _RECORDS),
    Route(ConfirmLearningEvent, challenges.confirm, _SOURCES, _RECORDS),
    Route(SetSharing, consent.set_sharing, _PORTAL, _SHARING),
    Route(SetRestrictedView, consent.set_restricted_view, _PORTAL, _SHARING),
    Route(Nominate, consent.nominate, _PORTAL, _SHARING),
    Route(WithdrawNomination, consent.withdraw_nomination, _PORTAL, _SHARING),
    # A learner's reads of her record go with her choices, which they show.
    Route(ReadOwnRecord, consent.read_record, _PORTAL, _SHARING),
    Route(PreviewView, consent.preview, _PORTAL, _SHARING),
    Route(ReadDisclosures, consent.read_disclosures, _PORTAL, _SHARING),
    Route(Subscribe, feeds.subscribe, _PARTNERS, _SHARING),
    Route(Unsubscribe, feeds.unsubscribe, _PARTNERS, _SHARING),
    Route(Backfill, feeds.backfill, _PARTNERS, _SHARING),
    Route(RequestRecord, partners.request_record, _PARTNERS, _SHARING),
    Route(AcknowledgeNotices, partners.acknowledge, _PARTNERS, _SHARING),
)
HANDLERS: dict[str, Route] = {r.contract.message_type: r for r in ROUTES}
# The hub's events and what handles each (all of them partners' feeds, today). An event that
# nothing handles is not published.
EVENT_HANDLERS: dict[str, feeds.EventHandler] = dict(feeds.EVENT_ROUTES)
