"""Learner Register contracts: the MIS's four requests, the hub's answer, the hub's events.

Version 1 of each is published: change them only compatibly; an incompatible change is a new
contract with a new `message_type`.
"""

from datetime import date
from typing import Annotated, Any, Literal

from pydantic import Field, SerializerFunctionWrapHandler, StringConstraints, model_serializer, model_validator
from pydantic.json_schema import SkipJsonSchema

from contracts.base import Contract
from contracts.codes import AbilityToShare, Gender, ResponseCode, VerificationType
from contracts.fields import (
    AbilityToShareCode,
    Email,
    GenderCode,
    MisIdentifier,
    Name,
    Nationality,
    Notes,
    OptionalName,
    OrgId,
    Postcode,
    ScottishCandidateNumber,
    Text254,
    Text255,
    Uln,
    VerificationTypeCode,
)


class Demographics(Contract):
    """The five mandatory fields of a find, with the optional ones that narrow it."""

    given_name: Name
    family_name: Name
    date_of_birth: date
    gender: GenderCode
    last_known_postcode: Postcode
    previous_family_name: OptionalName | None = None
    school_at_age_16: Text254 | None = None
    place_of_birth: OptionalName | None = None
    email_address: Email | None = None


class LearnerDetails(Demographics):
    """Everything a provider may record about a learner, beyond the demographics."""

    middle_other_name: OptionalName | None = None
    preferred_given_name: OptionalName | None = None
    family_name_at_age_16: OptionalName | None = None
    last_known_address_line1: Text254 | None = None
    last_known_address_line2: Text254 | None = None
    last_known_address_town: OptionalName | None = None
    last_known_address_county_or_city: OptionalName | None = None
    nationality: Nationality | None = None
    scottish_candidate_number: ScottishCandidateNumber | None = None
    ability_to_share: AbilityToShareCode = AbilityToShare.NOTICE_NOT_SEEN
    verification_type: VerificationTypeCode
    other_verification_description: Text255 | None = None
    notes: Notes | None = None

    @model_validator(mode="after")
    def _other_verification_is_described(self) -> "LearnerDetails":
        if self.verification_type == VerificationType.OTHER and not self.other_verification_description:
            raise ValueError("other_verification_description is required when verification_type is 999")
        return self


class FindLearnerByUln(Contract):
    """Verify a ULN against the learner's family and given name (LRS learnerByULN)."""

    message_type = "learner.find_by_uln.v1"
    ukprn: OrgId
    uln: Uln
    given_name: Name
    family_name: Name


class FindLearnerByDemographics(Contract):
    """Search the register on demographics (LRS learnerByDemographics)."""

    message_type = "learner.find_by_demographics.v1"
    ukprn: OrgId
    demographics: Demographics


class RegisterLearner(Contract):
    """Find the learner, or issue a new ULN when nobody matches (LRS registerSingleLearner).

    After a possible-match answer, send it again with either `confirmed_uln` (this candidate
    is the learner) or `create_anyway_reason` (none of them is: issue a new ULN; the reason is
    kept for review). A new ULN is never issued over an exact match.
    """

    message_type = "learner.register.v1"
    ukprn: OrgId
    mis_identifier: MisIdentifier | None = None
    learner: LearnerDetails
    confirmed_uln: Uln | None = None
    create_anyway_reason: Annotated[Text255, StringConstraints(min_length=10)] | None = None

    @model_validator(mode="after")
    def _one_resolution(self) -> "RegisterLearner":
        if self.confirmed_uln and self.create_anyway_reason:
            raise ValueError("send confirmed_uln or create_anyway_reason, not both")
        return self


def _no_default(schema: dict[str, Any]) -> None:
    schema.pop("default", None)  # absent means "keep", not "null"


def _kept() -> Any:
    """A field that may be left out (then kept) but never sent as null (it cannot be cleared)."""
    return Field(default=None, json_schema_extra=_no_default)


# The fields every learner has: an update may change them, never clear them.
MANDATORY_FIELDS = (
    "given_name",
    "family_name",
    "date_of_birth",
    "gender",
    "last_known_postcode",
    "verification_type",
    "ability_to_share",
)


class LearnerChanges(Contract):
    """The learner fields an update changes; every field of a registration may appear.

    A field left out keeps its value in the register. An optional field sent as null is
    cleared. A mandatory field (given_name, family_name, date_of_birth, gender,
    last_known_postcode, verification_type, ability_to_share) cannot be cleared: null is
    refused. `{"last_known_postcode": "SE1 7PB"}` changes the postcode and nothing else.
    """

    given_name: Name | SkipJsonSchema[None] = _kept()
    family_name: Name | SkipJsonSchema[None] = _kept()
    date_of_birth: date | SkipJsonSchema[None] = _kept()
    gender: GenderCode | SkipJsonSchema[None] = _kept()
    last_known_postcode: Postcode | SkipJsonSchema[None] = _kept()
    previous_family_name: OptionalName | None = None
    school_at_age_16: Text254 | None = None
    place_of_birth: OptionalName | None = None
    email_address: Email | None = None
    middle_other_name: OptionalName | None = None
    preferred_given_name: OptionalName | None = None
    family_name_at_age_16: OptionalName | None = None
    last_known_address_line1: Text254 | None = None
    last_known_address_line2: Text254 | None = None
    last_known_address_town: OptionalName | None = None
    last_known_address_county_or_city: OptionalName | None = None
    nationality: Nationality | None = None
    scottish_candidate_number: ScottishCandidateNumber | None = None
    ability_to_share: AbilityToShareCode | SkipJsonSchema[None] = _kept()
    verification_type: VerificationTypeCode | SkipJsonSchema[None] = _kept()
    other_verification_description: Text255 | None = None
    notes: Notes | None = None

    @model_validator(mode="after")
    def _mandatory_not_cleared(self) -> "LearnerChanges":
        cleared = [n for n in MANDATORY_FIELDS if n in self.model_fields_set and getattr(self, n) is None]
        if cleared:
            raise ValueError(f"{', '.join(cleared)} cannot be cleared: leave a field out to keep it")
        return self

    @model_serializer(mode="wrap")
    def _only_the_fields_sent(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        # Absent and null mean different things here: dumping must not turn one into the other.
        return {k: v for k, v in handler(self).items() if k in self.model_fields_set}

    def changes(self) -> dict[str, Any]:
        """The fields sent, by name: a value to set, or None to clear."""
        return {name: getattr(self, name) for name in sorted(self.model_fields_set)}


class UpdateLearner(Contract):
    """Change some of a registered learner's details (LRS updateSingleLearner).

    `learner` carries only the fields to change: a field left out is kept, an optional field
    sent as null is cleared (see LearnerChanges). It used to replace the whole record: a sender
    of complete records gets the same result, except that the fields it leaves out are kept
    rather than cleared. `version` is the learner's version as last obtained; a
    newer one in the register answers WSRC0013 rather than overwriting someone else's change.
    Which fields a provider may change depends on whether it registered the learner (README,
    "learner.update.v1").
    """

    message_type = "learner.update.v1"
    ukprn: OrgId
    uln: Uln
    version: int = Field(ge=1)
    learner: LearnerChanges


class Candidate(Contract):
    """A learner that may be the one asked for, with the fields that differ from the request.

    `agreement` says how each field compared (exact, nickname, similar, part, previous,
    swapped, day_month_swapped, close, sector, district, area, unknown, differs) and `score`
    is their weighted sum (at most 14.5), so a provider can choose among candidates.
    """

    uln: Uln
    given_name: str
    family_name: str
    date_of_birth: date
    gender: Gender
    last_known_postcode: str
    differing_fields: list[str]
    score: float | None = None
    agreement: dict[str, str] = {}


class LearnerView(Contract):
    """The learner's register details a provider receives about a learner it submitted."""

    uln: Uln
    version: int
    given_name: str
    family_name: str
    date_of_birth: date
    gender: Gender
    last_known_postcode: str
    linked_ulns: list[str] = []


class LearnerAnswer(Contract):
    """The hub's answer to any of the four learner requests; `correlation_id` is the request's."""

    message_type = "learner.answer.v1"
    request_type: str
    response_code: ResponseCode
    description: str
    uln: Uln | None = None
    learner: LearnerView | None = None
    candidates: list[Candidate] = []
    mis_identifier: str | None = None
    # Why an exact match matched: how each field agreed, and the weighted score.
    score: float | None = None
    agreement: dict[str, str] = {}


class RejectionError(Contract):
    """One thing wrong with a message: where (`loc`) and what."""

    loc: str
    message: str


class MessageRejected(Contract):
    """The hub refused a message; it was dead-lettered and nothing of it was applied."""

    message_type = "message.rejected.v1"
    reason: Literal[
        "malformed_json",
        "invalid_contract",
        "unknown_message_type",
        "unknown_sender",
        "sender_not_allowed",
        "sender_mismatch",
        "duplicate_message_id",
        "invalid_header",  # an AMQP header (the batch headers) is not what the contract says
        "too_large",  # the body is over the hub's limit, refused before it is parsed
    ]
    request_type: str | None = None
    errors: list[RejectionError] = []


class LearnerRegistered(Contract):
    """Event: a new ULN was issued."""

    message_type = "learner.registered.v1"
    uln: Uln
    registered_by: OrgId


class LearnerUpdated(Contract):
    """Event: a learner's details changed."""

    message_type = "learner.updated.v1"
    uln: Uln
    version: int
    updated_by: OrgId


class LearnersMerged(Contract):
    """Event: an operator merged a duplicate; `linked_uln` now resolves to `master_uln` everywhere."""

    message_type = "learners.merged.v1"
    master_uln: Uln
    linked_uln: Uln


class LearnersUnmerged(Contract):
    """Event: a wrong merge was reversed; `linked_uln` is a learner of its own again."""

    message_type = "learners.unmerged.v1"
    master_uln: Uln
    linked_uln: Uln
