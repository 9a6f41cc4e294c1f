"""The Personal Learning Record's routes: verification, achievements, enrolments, challenges."""

from pydantic import TypeAdapter

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
from hub.pipeline.route import AWARDING, PORTAL, PROVIDERS, SOURCES, Route
from hub.pipeline.routing import RECORDS_QUEUE, REGISTRATION_QUEUE
from hub.records import achievements, challenges, enrolments, verification

ROUTES: tuple[Route, ...] = (
    # Verification reads the register, and arrives on its queue (the broker's bindings are as before).
    Route(VerifyLearner, verification.verify_learner, AWARDING, REGISTRATION_QUEUE),
    Route(VerifyLearners, verification.verify_learners, AWARDING, REGISTRATION_QUEUE, TypeAdapter(VerifyItem)),
    Route(SubmitAchievement, achievements.submit, AWARDING, RECORDS_QUEUE),
    Route(AmendAchievement, achievements.amend, AWARDING, RECORDS_QUEUE),
    Route(WithdrawAchievement, achievements.withdraw, AWARDING, RECORDS_QUEUE),
    Route(AchievementBulk, achievements.bulk, AWARDING, RECORDS_QUEUE, TypeAdapter(AchievementItem)),
    Route(PublishEnrolment, enrolments.publish, PROVIDERS, RECORDS_QUEUE),
    Route(ChallengeLearningEvent, challenges.raise_challenge, PORTAL, RECORDS_QUEUE),
    Route(ConfirmLearningEvent, challenges.confirm, SOURCES, RECORDS_QUEUE),
)
