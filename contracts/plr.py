"""Personal Learning Record contracts: verification, achievements, enrolments, challenges.

Awarding organisations verify learners and submit, amend and withdraw achievements (singly or
up to 1,000 in a bulk message); providers publish enrolments, which become participation
records; the learner portal raises challenges. Every request is answered on the sender's own
queue; the hub's events about the PLR go to `lrs.events`.

Version 1 of each is published: change them only compatibly.
"""

from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import Field, StringConstraints, model_validator

from contracts.base import Contract
from contracts.codes import AchievementStatus, LanguageForAssessment, ParticipationOutcome, ResponseCode
from contracts.fields import GenderCode, Name, OrgId, Text255, Uln
from contracts.learner import RejectionError

_PRINTABLE = r"^[^\x00-\x1f\x7f]*$"

SourceRef = Annotated[
    str,
    Field(description="The sending organisation's own id for the record (a result id, an enrolment id)"),
    StringConstraints(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9._:/-]*$"),
]
SubjectCode = Annotated[
    str,
    Field(
        description="A learning aim reference (50079116), an Ofqual qualification number (600/1166/X) "
        "or a unit code (K/501/5773)"
    ),
    StringConstraints(pattern=r"^([0-9A-Z]{8}|[0-9]{3}/[0-9]{4}/[0-9A-Z]|[A-Z]/[0-9]{3}/[0-9]{4})$"),
]
LearningAimReference = Annotated[
    str, Field(description="A learning aim reference, e.g. 50079116"), StringConstraints(pattern=r"^[0-9A-Z]{8}$")
]
Level = Annotated[
    str,
    Field(description="Qualification level: E (entry), E1-E3, or 1 to 8"),
    StringConstraints(pattern=r"^(E[1-3]?|[1-8])$"),
]
Grade = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=20, pattern=_PRINTABLE)]
Title = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=255, pattern=_PRINTABLE)]
QualificationType = Annotated[
    str,
    Field(description="e.g. GCSE, GCE A Level, GCE AS Level, BTEC National, Functional Skills, NVQ"),
    StringConstraints(strip_whitespace=True, min_length=1, max_length=50, pattern=_PRINTABLE),
]
ChallengeReason = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=1000)]
EventId = Annotated[
    str,
    Field(description="The hub's id of a learning event (a UUID)"),
    StringConstraints(pattern=r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"),
]
Version = Annotated[
    int,
    Field(
        ge=1,
        le=2_147_483_647,
        description="The sender's sequence number for this record: a higher one supersedes, a lower one "
        "arriving late is refused as stale",
    ),
]


# --- Verifying learners (awarding organisations) -------------------------------------------


class VerifyItem(Contract):
    """One learner to verify: the ULN with the names, and the birth date and gender if known."""

    uln: Uln
    given_name: Name
    family_name: Name
    date_of_birth: date | None = None
    gender: GenderCode | None = None
    ref: SourceRef | None = Field(default=None, description="the sender's own reference, echoed back")


class VerifyLearner(VerifyItem):
    """Verify one learner (LRS verifyLearner)."""

    message_type = "learner.verify.v1"


class VerifyLearners(Contract):
    """Verify up to 5,000 learners in one message (LRS verify batch)."""

    message_type = "learner.verify_batch.v1"
    items: list[VerifyItem] = Field(min_length=1, max_length=5000)


class VerificationResult(Contract):
    """How one learner verified: WSRC0004 exact, WSRC0022 linked (`uln` is the master),
    WSEC0208 not verified, WSEC0136 invalid ULN; `errors` when the item itself was malformed.
    `reason` "too_many_attempts" with WSEC0208: the sender failed to verify this learner too
    often lately, so the item was not checked (added compatibly to version 1)."""

    index: int
    ref: str | None = None
    supplied_uln: str | None = None
    response_code: ResponseCode | None
    description: str
    uln: Uln | None = None
    errors: list[RejectionError] = []
    reason: Literal["too_many_attempts"] | None = None


class Verification(Contract):
    """The answer to a verify or a verify batch: one result per item, in order."""

    message_type = "learner.verification.v1"
    request_type: str
    items: list[VerificationResult]


# --- Achievements (awarding organisations) ----------------------------------------------------


class AchievementRecord(Contract):
    """An achievement as an awarding organisation sends it (the AO itself is the sender)."""

    result_id: SourceRef
    version: Version = 1
    uln: Uln
    given_name: Name
    family_name: Name
    date_of_birth: date
    subject_code: SubjectCode
    subject: Title
    level: Level
    qualification_type: QualificationType
    grade: Grade
    award_date: date
    status: AchievementStatus
    credits: int | None = Field(default=None, ge=0, le=999)
    language_for_assessment: LanguageForAssessment = LanguageForAssessment.ENGLISH
    provider_ukprn: OrgId | None = Field(default=None, description="the centre the learner took it at")


class SubmitAchievement(AchievementRecord):
    """Record a new achievement in the learner's PLR."""

    message_type = "achievement.submit.v1"
    action: Literal["submit"] = "submit"


class AmendAchievement(AchievementRecord):
    """Replace an achievement this organisation sent (a re-mark): the whole record, a higher version."""

    message_type = "achievement.amend.v1"
    action: Literal["amend"] = "amend"
    event_id: EventId | None = Field(default=None, description="the hub's id from the receipt, if known")


class WithdrawAchievement(Contract):
    """Withdraw an achievement this organisation sent; a later amendment can reinstate it."""

    message_type = "achievement.withdraw.v1"
    action: Literal["withdraw"] = "withdraw"
    result_id: SourceRef
    event_id: EventId | None = Field(default=None, description="the hub's id from the receipt, if known")
    version: Version
    reason: Title


AchievementItem = Annotated[SubmitAchievement | AmendAchievement | WithdrawAchievement, Field(discriminator="action")]


class AchievementBulk(Contract):
    """Up to 1,000 submissions, amendments and withdrawals; applied in order, each answered."""

    message_type = "achievement.bulk.v1"
    items: list[AchievementItem] = Field(min_length=1, max_length=1000)


ItemReason = Literal[
    "invalid_item",
    "invalid_uln",
    "unknown_uln",  # no longer sent: a ULN nobody has is not_verified, so answers tell no ULN exists
    "not_verified",
    "unknown_record",
    "not_yours",
    "duplicate",
    "stale_version",
    "date_out_of_range",
    "grade_outside_scale",
    "unknown_challenge",
    "too_many_attempts",  # the sender failed to verify this learner too often: not checked
]


class ItemOutcome(Contract):
    """What became of one item: applied (`event_id`, the `uln` it is recorded against) or rejected."""

    index: int
    action: str
    ref: str | None = None
    outcome: Literal["recorded", "amended", "withdrawn", "confirmed", "rejected"]
    reason: ItemReason | None = None
    response_code: ResponseCode | None = None
    description: str = ""
    uln: Uln | None = None
    event_id: str | None = None
    version: int | None = None
    errors: list[RejectionError] = []


class LearningEventOutcomes(Contract):
    """The receipt for an achievement, bulk, enrolment or confirmation: one outcome per item."""

    message_type = "plr.outcomes.v1"
    request_type: str
    applied: int
    rejected: int
    items: list[ItemOutcome]


# --- Enrolments (providers) -------------------------------------------------------------------


class PublishEnrolment(Contract):
    """A learner's enrolment on a learning aim; it becomes a participation record in the PLR.

    Publish it again with a higher `version` when it changes (the actual end date and the
    outcome once known)."""

    message_type = "enrolment.publish.v1"
    ukprn: OrgId
    enrolment_id: SourceRef
    version: Version = 1
    uln: Uln
    given_name: Name
    family_name: Name
    date_of_birth: date
    learning_aim_reference: LearningAimReference
    learning_aim_title: Title | None = None
    start_date: date
    planned_end_date: date
    actual_end_date: date | None = None
    outcome: ParticipationOutcome | None = None

    @model_validator(mode="after")
    def _dates_in_order(self) -> "PublishEnrolment":
        if self.planned_end_date < self.start_date:
            raise ValueError("planned_end_date is before start_date")
        if self.actual_end_date is not None and self.actual_end_date < self.start_date:
            raise ValueError("actual_end_date is before start_date")
        return self


# --- Challenges (the learner portal, and the organisation that sent the entry) -----------------


class ChallengeLearningEvent(Contract):
    """A learner says an entry of their PLR is wrong (sent by the learner portal for them)."""

    message_type = "plr.challenge.v1"
    uln: Uln
    event_id: EventId
    reason: ChallengeReason


class ChallengeAnswer(Contract):
    """The answer to a challenge: the entry is now under challenge, or why not."""

    message_type = "plr.challenge_answer.v1"
    uln: Uln
    event_id: str
    # withdrawn_event: the entry was withdrawn, so its sender can no longer resolve a challenge.
    outcome: Literal["under_challenge", "already_under_challenge", "unknown_event", "withdrawn_event"]
    challenge_id: str | None = None
    description: str | None = None  # why, in words, when the challenge was not opened


class ChallengeNotice(Contract):
    """To the organisation that sent an entry: a learner challenges it. Amend, withdraw or confirm it."""

    message_type = "plr.challenge_notice.v1"
    challenge_id: str
    event_id: str
    kind: Literal["achievement", "participation"]
    source_ref: str
    uln: Uln
    reason: str
    raised_at: datetime


class ConfirmLearningEvent(Contract):
    """The organisation that sent a challenged entry stands by it: the challenge is resolved."""

    message_type = "plr.challenge_confirm.v1"
    challenge_id: EventId
    note: Text255 | None = None


class ChallengeOutcome(Contract):
    """To the learner portal: a challenge it raised was resolved."""

    message_type = "plr.challenge_outcome.v1"
    challenge_id: str
    event_id: str
    uln: Uln
    resolution: Literal["amended", "withdrawn", "confirmed"]
    note: str | None = None


# --- The PLR as read -----------------------------------------------------------------------


class LearningEventView(Contract):
    """One entry of a PLR: what it records, who sent it, when it was loaded, whether challenged."""

    event_id: str
    kind: Literal["achievement", "participation"]
    uln: Uln
    source: Literal["AO", "ILR"]
    source_org: str
    source_ref: str
    version: int
    withdrawn: bool
    under_challenge: bool
    date_loaded: datetime
    fields: dict[str, str | int | None]


# --- Events on lrs.events ---------------------------------------------------------------------


class AchievementEvent(Contract):
    """An achievement as recorded in the PLR (no demographics: those were only for checking)."""

    event_id: str
    uln: Uln
    awarding_organisation: OrgId
    result_id: str
    version: int
    subject_code: str
    subject: str
    level: str
    qualification_type: str
    grade: str
    award_date: date
    status: AchievementStatus
    credits: int | None = None
    language_for_assessment: LanguageForAssessment
    provider_ukprn: str | None = None


class AchievementsRecorded(Contract):
    """Event: achievements were recorded (one event per message handled, listing them all)."""

    message_type = "achievements.recorded.v1"
    items: list[AchievementEvent]


class AchievementsAmended(Contract):
    """Event: achievements were replaced by higher versions (or reinstated after a withdrawal)."""

    message_type = "achievements.amended.v1"
    items: list[AchievementEvent]


class WithdrawnAchievement(Contract):
    event_id: str
    uln: Uln
    awarding_organisation: OrgId
    result_id: str
    version: int
    reason: str


class AchievementsWithdrawn(Contract):
    """Event: achievements were withdrawn by the organisation that sent them."""

    message_type = "achievements.withdrawn.v1"
    items: list[WithdrawnAchievement]


class ParticipationRecorded(Contract):
    """Event: a provider's enrolment was recorded (or replaced by a higher version)."""

    message_type = "participation.recorded.v1"
    event_id: str
    uln: Uln
    provider: OrgId
    enrolment_id: str
    version: int
    learning_aim_reference: str
    start_date: date
    planned_end_date: date
    actual_end_date: date | None = None
    outcome: ParticipationOutcome | None = None
    learning_aim_title: str | None = None


class ChallengeRaised(Contract):
    """Event: a learner challenged an entry of their PLR."""

    message_type = "plr.challenge_raised.v1"
    challenge_id: str
    event_id: str
    uln: Uln
    source_org: OrgId


class ChallengeResolved(Contract):
    """Event: a challenge was resolved by the organisation that sent the entry."""

    message_type = "plr.challenge_resolved.v1"
    challenge_id: str
    event_id: str
    uln: Uln
    resolution: Literal["amended", "withdrawn", "confirmed"]
