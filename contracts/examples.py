"""One realistic, valid example per message type, keyed by `message_type`.

The AsyncAPI document and the README show these; a test checks that every contract in the
registries has one and that it validates against its published JSON Schema, so a new
contract needs an example here before its documentation is complete.
"""

from datetime import date

from contracts.base import Contract
from contracts.codes import AbilityToShare, Gender, ResponseCode, VerificationType
from contracts.learner import (
    Demographics,
    FindLearnerByDemographics,
    FindLearnerByUln,
    LearnerAnswer,
    LearnerDetails,
    LearnerRegistered,
    LearnersMerged,
    LearnersUnmerged,
    LearnerUpdated,
    LearnerView,
    MessageRejected,
    RegisterLearner,
    RejectionError,
    UpdateLearner,
)

# A college (UKPRN 10030488) and one learner with a ULN whose check digit is valid.
UKPRN = "10030488"
ULN = "9276308686"

_DEMOGRAPHICS = Demographics(
    given_name="Amira",
    family_name="Okafor",
    date_of_birth=date(2008, 4, 12),
    gender=Gender.FEMALE,
    last_known_postcode="SW1A 1AA",
)

_DETAILS = LearnerDetails(
    **_DEMOGRAPHICS.model_dump(exclude_none=True),
    school_at_age_16="Westminster City School",
    last_known_address_line1="1 Example Street",
    last_known_address_town="London",
    nationality="GBR",
    ability_to_share=AbilityToShare.SEEN_MAY_SHARE,
    verification_type=VerificationType.PASSPORT,
)

EXAMPLES: dict[str, Contract] = {
    example.message_type: example
    for example in (
        FindLearnerByUln(ukprn=UKPRN, uln=ULN, given_name="Amira", family_name="Okafor"),
        FindLearnerByDemographics(ukprn=UKPRN, demographics=_DEMOGRAPHICS),
        RegisterLearner(ukprn=UKPRN, mis_identifier="STU-2024-00417", learner=_DETAILS),
        UpdateLearner(
            ukprn=UKPRN,
            uln=ULN,
            version=1,
            learner=_DETAILS.model_copy(update={"last_known_postcode": "M1 1AE"}),
        ),
        LearnerAnswer(
            request_type=RegisterLearner.message_type,
            response_code=ResponseCode.LEARNER_REGISTERED,
            description="Learner registered: a new ULN was issued",
            uln=ULN,
            learner=LearnerView(
                uln=ULN,
                version=1,
                given_name="Amira",
                family_name="Okafor",
                date_of_birth=date(2008, 4, 12),
                gender=Gender.FEMALE,
                last_known_postcode="SW1A 1AA",
            ),
            mis_identifier="STU-2024-00417",
        ),
        MessageRejected(
            reason="invalid_contract",
            request_type=RegisterLearner.message_type,
            errors=[
                RejectionError(
                    loc="learner.last_known_postcode",
                    message="String should match pattern of a UK postcode",
                )
            ],
        ),
        LearnerRegistered(uln=ULN, registered_by=UKPRN),
        LearnerUpdated(uln=ULN, version=2, updated_by=UKPRN),
        LearnersMerged(master_uln=ULN, linked_uln="1000000043"),
        LearnersUnmerged(master_uln=ULN, linked_uln="1000000043"),
    )
}
