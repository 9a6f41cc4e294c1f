"""The Learner Register's routes: a provider finds, registers and updates learners."""

from contracts.learner import FindLearnerByDemographics, FindLearnerByUln, RegisterLearner, UpdateLearner
from hub.pipeline.route import PROVIDERS, Route
from hub.pipeline.routing import REGISTRATION_QUEUE
from hub.register import registration, updates

ROUTES: tuple[Route, ...] = (
    Route(FindLearnerByUln, registration.find_by_uln, PROVIDERS, REGISTRATION_QUEUE),
    Route(FindLearnerByDemographics, registration.find_by_demographics, PROVIDERS, REGISTRATION_QUEUE),
    Route(RegisterLearner, registration.register_learner, PROVIDERS, REGISTRATION_QUEUE),
    Route(UpdateLearner, updates.update_learner, PROVIDERS, REGISTRATION_QUEUE),
)
