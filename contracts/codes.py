"""Code lists and response codes of the Learning Records Service (see DOMAIN.md)."""

from enum import IntEnum, StrEnum


class Gender(IntEnum):
    NOT_KNOWN = 0
    MALE = 1
    FEMALE = 2
    NOT_SPECIFIED = 9


class VerificationType(IntEnum):
    NONE_PROVIDED = 0
    RELATIONSHIP_WITH_SCHOOL = 1
    PASSPORT = 2
    DRIVING_LICENCE = 3
    ID_CARD = 4
    NATIONAL_INSURANCE_CARD = 5
    CERTIFICATE_OF_ENTITLEMENT_TO_FUNDING = 6
    BANK_OR_CREDIT_CARD = 7
    OTHER = 999


class AbilityToShare(IntEnum):
    NOTICE_NOT_SEEN = 0
    SEEN_MAY_SHARE = 1
    SEEN_MAY_NOT_SHARE = 2


class ResponseCode(StrEnum):
    """LRS web service response codes the hub answers with."""

    NO_MATCH = "WSRC0001"
    TOO_MANY_MATCHES = "WSRC0002"
    POSSIBLE_MATCHES = "WSRC0003"
    EXACT_MATCH = "WSRC0004"
    LEARNER_REGISTERED = "WSRC0005"
    LEARNER_UPDATED = "WSRC0006"
    RECORD_CHANGED_SINCE = "WSRC0013"
    INSUFFICIENT_DATA = "WSRC0015"
    ULN_NOT_FOUND = "WSRC0019"
    NO_CHANGES = "WSRC0020"
    SAME_MANDATORY_FIELDS_EXIST = "WSRC0021"
    LINKED_LEARNER = "WSRC0022"
    INVALID_ULN = "WSEC0136"
    OPTED_OUT = "WSEC0206"
    NOT_VERIFIED = "WSEC0208"
    # The hub's own codes start HUB: the LRS publishes none for these outcomes.
    UPDATE_NOT_PERMITTED = "HUB0001"  # the update changes fields only the registering provider may change


class AchievementStatus(StrEnum):
    PROVISIONAL = "Provisional"
    FINAL = "Final"


class LanguageForAssessment(StrEnum):
    ENGLISH = "English"
    WELSH = "Welsh"
    IRISH = "Irish"
    SCOTTISH_GAELIC = "Scottish Gaelic"


class ParticipationOutcome(IntEnum):
    """The ILR's Outcome codes for a learning aim."""

    ACHIEVED = 1
    PARTIAL_ACHIEVEMENT = 2
    NO_ACHIEVEMENT = 3
    NOT_YET_KNOWN = 8


class BatchReturnCode(StrEnum):
    """Per-row return codes of an LRS batch output file."""

    NEW = "RC001"
    EXISTING = "RC002"
    POSSIBLE_MATCHES = "RC003"
    NOT_FOUND = "RC004"
    INSUFFICIENT_DATA = "RC006"
    INCORRECT_FORMAT = "RC011"
    INCORRECT_IDENTIFIER = "RC012"
    OUTSIDE_AGE_RANGE = "RC013"


class OrganisationKind(StrEnum):
    PROVIDER = "provider"
    AWARDING_ORGANISATION = "awarding_organisation"
    PARTNER = "partner"
    # The learner-facing front end: it authenticates learners and speaks for them.
    LEARNER_PORTAL = "learner_portal"
