"""The wire: every message the hub takes or gives, as pydantic v2 models. Imports nothing of ours."""

from contracts.base import Contract
from contracts.learner import (
    FindLearnerByDemographics,
    FindLearnerByUln,
    LearnerAnswer,
    LearnerRegistered,
    LearnersMerged,
    LearnersUnmerged,
    LearnerUpdated,
    MessageRejected,
    RegisterLearner,
    UpdateLearner,
)
from contracts.plr import (
    AchievementBulk,
    AchievementsAmended,
    AchievementsRecorded,
    AchievementsWithdrawn,
    AmendAchievement,
    ChallengeAnswer,
    ChallengeLearningEvent,
    ChallengeNotice,
    ChallengeOutcome,
    ChallengeRaised,
    ChallengeResolved,
    ConfirmLearningEvent,
    LearningEventOutcomes,
    ParticipationRecorded,
    PublishEnrolment,
    SubmitAchievement,
    Verification,
    VerifyLearner,
    VerifyLearners,
    WithdrawAchievement,
)
from contracts.sharing import (
    AcknowledgeNotices,
    Backfill,
    BackfillDone,
    ConsentAnswer,
    Delivery,
    Disclosures,
    Nominate,
    Notice,
    NoticesAcknowledged,
    OwnRecord,
    PartnerRecord,
    Preview,
    PreviewView,
    ReadDisclosures,
    ReadOwnRecord,
    RequestRecord,
    SetRestrictedView,
    SetSharing,
    Subscribe,
    SubscriptionAnswer,
    Unsubscribe,
    WithdrawNomination,
)

# Messages organisations send to the hub, by their AMQP `type`.
REQUESTS: dict[str, type[Contract]] = {
    m.message_type: m
    for m in (
        FindLearnerByUln,
        FindLearnerByDemographics,
        RegisterLearner,
        UpdateLearner,
        VerifyLearner,
        VerifyLearners,
        SubmitAchievement,
        AmendAchievement,
        WithdrawAchievement,
        AchievementBulk,
        PublishEnrolment,
        ChallengeLearningEvent,
        ConfirmLearningEvent,
        SetSharing,
        SetRestrictedView,
        Nominate,
        WithdrawNomination,
        ReadOwnRecord,
        PreviewView,
        ReadDisclosures,
        Subscribe,
        Unsubscribe,
        Backfill,
        RequestRecord,
        AcknowledgeNotices,
    )
}
# Messages the hub sends to organisations.
ANSWERS: dict[str, type[Contract]] = {
    m.message_type: m
    for m in (
        LearnerAnswer,
        MessageRejected,
        Verification,
        LearningEventOutcomes,
        ChallengeAnswer,
        ChallengeNotice,
        ChallengeOutcome,
        ConsentAnswer,
        OwnRecord,
        Preview,
        Disclosures,
        SubscriptionAnswer,
        BackfillDone,
        Delivery,
        PartnerRecord,
        Notice,
        NoticesAcknowledged,
    )
}
# The hub's own domain events on `lrs.events`.
EVENTS: dict[str, type[Contract]] = {
    m.message_type: m
    for m in (
        LearnerRegistered,
        LearnerUpdated,
        LearnersMerged,
        LearnersUnmerged,
        AchievementsRecorded,
        AchievementsAmended,
        AchievementsWithdrawn,
        ParticipationRecorded,
        ChallengeRaised,
        ChallengeResolved,
    )
}

__all__ = ["ANSWERS", "EVENTS", "REQUESTS", "Contract"]
