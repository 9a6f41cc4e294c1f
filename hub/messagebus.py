"""The visible registry: which handler answers which message type, and who may send it."""

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date
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

Handler = Callable[[UnitOfWork, Organisation, Any, date], Awaitable[Draft]]


@dataclass(frozen=True)
class Route:
    contract: type[Any]
    handler: Handler
    senders: frozenset[OrganisationKind]
    # For a bulk message (a list `items`): the item type, so that bad items are answered one by
    # one and the good ones applied (hub/bulk.py). The handler then gets the items as a list.
    items: TypeAdapter[Any] | None = None


_PROVIDERS = frozenset({OrganisationKind.PROVIDER})
_AWARDING = frozenset({OrganisationKind.AWARDING_ORGANISATION})
_PORTAL = frozenset({OrganisationKind.LEARNER_PORTAL})
_SOURCES = _PROVIDERS | _AWARDING  # organisations whose PLR entries can be challenged
_PARTNERS = frozenset({OrganisationKind.PARTNER})

HANDLERS: dict[str, Route] = {
    FindLearnerByUln.message_type: Route(FindLearnerByUln, registration.find_by_uln, _PROVIDERS),
    FindLearnerByDemographics.message_type: Route(
        FindLearnerByDemographics, registration.find_by_demographics, _PROVIDERS
    ),
    RegisterLearner.message_type: Route(RegisterLearner, registration.register_learner, _PROVIDERS),
    UpdateLearner.message_type: Route(UpdateLearner, updates.update_learner, _PROVIDERS),
    VerifyLearner.message_type: Route(VerifyLearner, verification.verify_learner, _AWARDING),
    VerifyLearners.message_type: Route(
        VerifyLearners, verification.verify_learners, _AWARDING, TypeAdapter(VerifyItem)
    ),
    SubmitAchievement.message_type: Route(SubmitAchievement, achievements.submit, _AWARDING),
    AmendAchievement.message_type: Route(AmendAchievement, achievements.amend, _AWARDING),
    WithdrawAchievement.message_type: Route(WithdrawAchievement, achievements.withdraw, _AWARDING),
    AchievementBulk.message_type: Route(AchievementBulk, achievements.bulk, _AWARDING, TypeAdapter(AchievementItem)),
    PublishEnrolment.message_type: Route(PublishEnrolment, enrolments.publish, _PROVIDERS),
    ChallengeLearningEvent.message_type: Route(ChallengeLearningEvent, challenges.raise_challenge, _PORTAL),
    ConfirmLearningEvent.message_type: Route(ConfirmLearningEvent, challenges.confirm, _SOURCES),
    SetSharing.message_type: Route(SetSharing, consent.set_sharing, _PORTAL),
    SetRestrictedView.message_type: Route(SetRestrictedView, consent.set_restricted_view, _PORTAL),
    Nominate.message_type: Route(Nominate, consent.nominate, _PORTAL),
    WithdrawNomination.message_type: Route(WithdrawNomination, consent.withdraw_nomination, _PORTAL),
    ReadOwnRecord.message_type: Route(ReadOwnRecord, consent.read_record, _PORTAL),
    PreviewView.message_type: Route(PreviewView, consent.preview, _PORTAL),
    ReadDisclosures.message_type: Route(ReadDisclosures, consent.read_disclosures, _PORTAL),
    Subscribe.message_type: Route(Subscribe, feeds.subscribe, _PARTNERS),
    Unsubscribe.message_type: Route(Unsubscribe, feeds.unsubscribe, _PARTNERS),
    Backfill.message_type: Route(Backfill, feeds.backfill, _PARTNERS),
    RequestRecord.message_type: Route(RequestRecord, partners.request_record, _PARTNERS),
    AcknowledgeNotices.message_type: Route(AcknowledgeNotices, partners.acknowledge, _PARTNERS),
}
