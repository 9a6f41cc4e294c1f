"""One realistic, valid example per message type, keyed by `message_type`.

The AsyncAPI document and the README show these; a test checks that every contract in the
registries has one and that it validates against its published JSON Schema, so a new
contract needs an example here before its documentation is complete.
"""

from datetime import UTC, date, datetime

from contracts.base import Contract
from contracts.codes import (
    AbilityToShare,
    AchievementStatus,
    Gender,
    LanguageForAssessment,
    ParticipationOutcome,
    ResponseCode,
    VerificationType,
)
from contracts.learner import (
    Demographics,
    FindLearnerByDemographics,
    FindLearnerByUln,
    LearnerAnswer,
    LearnerChanges,
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
from contracts.plr import (
    AchievementBulk,
    AchievementEvent,
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
    ItemOutcome,
    LearningEventOutcomes,
    ParticipationRecorded,
    PublishEnrolment,
    SubmitAchievement,
    Verification,
    VerificationResult,
    VerifyItem,
    VerifyLearner,
    VerifyLearners,
    WithdrawAchievement,
    WithdrawnAchievement,
)
from contracts.sharing import (
    AcknowledgeNotices,
    Backfill,
    BackfillDone,
    ConsentAnswer,
    ConsentView,
    DecisionStamp,
    DeliveredItem,
    Delivery,
    DisclosureEntry,
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

# A college (UKPRN 10030488) and one learner with a ULN whose check digit is valid.
UKPRN = "10030488"
ULN = "9276308686"

_DEMOGRAPHICS = Demographics(
    given_name="Amelia",
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

# An awarding organisation (AQA's id), one GCSE result of that learner, its PLR entry, a challenge.
AO = "100062"
PORTAL = "900001"
EVENT_ID = "3f2b8c1e-6a4d-4e0b-9b7a-2d5c8e1f0a93"
CHALLENGE_ID = "b71c2e90-51f3-4c1a-8d2e-6f0a9c3b4d12"
_GCSE = SubmitAchievement(
    result_id="AQA-2026-8300-0417",
    uln=ULN,
    given_name="Amelia",
    family_name="Okafor",
    date_of_birth=date(2008, 4, 12),
    subject_code="601/4447/6",
    subject="GCSE Mathematics",
    level="2",
    qualification_type="GCSE",
    grade="7",
    award_date=date(2026, 8, 20),
    status=AchievementStatus.FINAL,
    language_for_assessment=LanguageForAssessment.ENGLISH,
    provider_ukprn=UKPRN,
)
_REMARK = AmendAchievement(**(_GCSE.model_dump(exclude={"action"}) | {"version": 2, "grade": "8"}))
_WITHDRAW = WithdrawAchievement(result_id=_GCSE.result_id, version=3, reason="Entered in error by the centre")
_RECORDED = AchievementEvent(
    event_id=EVENT_ID,
    uln=ULN,
    awarding_organisation=AO,
    result_id=_GCSE.result_id,
    version=1,
    subject_code="601/4447/6",
    subject="GCSE Mathematics",
    level="2",
    qualification_type="GCSE",
    grade="7",
    award_date=date(2026, 8, 20),
    status=AchievementStatus.FINAL,
    language_for_assessment=LanguageForAssessment.ENGLISH,
    provider_ukprn=UKPRN,
)
_RAISED_AT = datetime(2026, 9, 2, 10, 15, tzinfo=UTC)

EXAMPLES: dict[str, Contract] = {
    example.message_type: example
    for example in (
        FindLearnerByUln(ukprn=UKPRN, uln=ULN, given_name="Amelia", family_name="Okafor"),
        FindLearnerByDemographics(ukprn=UKPRN, demographics=_DEMOGRAPHICS),
        RegisterLearner(ukprn=UKPRN, mis_identifier="STU-2024-00417", learner=_DETAILS),
        UpdateLearner(
            ukprn=UKPRN,
            uln=ULN,
            version=1,
            learner=LearnerChanges(last_known_postcode="M1 1AE"),  # only what changes: the rest is kept
        ),
        LearnerAnswer(
            request_type=RegisterLearner.message_type,
            response_code=ResponseCode.LEARNER_REGISTERED,
            description="Learner registered: a new ULN was issued",
            uln=ULN,
            learner=LearnerView(
                uln=ULN,
                version=1,
                given_name="Amelia",
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
        VerifyLearner(uln=ULN, given_name="Amelia", family_name="Okafor", date_of_birth=date(2008, 4, 12)),
        VerifyLearners(
            items=[
                VerifyItem(uln=ULN, given_name="Amelia", family_name="Okafor", ref="cand-0417"),
                VerifyItem(uln="1000000043", given_name="Tom", family_name="Reyes", ref="cand-0418"),
            ]
        ),
        Verification(
            request_type=VerifyLearners.message_type,
            items=[
                VerificationResult(
                    index=0,
                    ref="cand-0417",
                    supplied_uln=ULN,
                    response_code=ResponseCode.EXACT_MATCH,
                    description="Exact match",
                    uln=ULN,
                ),
                VerificationResult(
                    index=1,
                    ref="cand-0418",
                    supplied_uln="1000000043",
                    response_code=ResponseCode.NOT_VERIFIED,
                    description="Learner could not be verified",
                ),
            ],
        ),
        _GCSE,
        _REMARK,
        _WITHDRAW,
        AchievementBulk(items=[_GCSE, _REMARK]),
        LearningEventOutcomes(
            request_type=AchievementBulk.message_type,
            applied=1,
            rejected=1,
            items=[
                ItemOutcome(
                    index=0,
                    action="submit",
                    ref=_GCSE.result_id,
                    outcome="recorded",
                    response_code=ResponseCode.EXACT_MATCH,
                    description="recorded",
                    uln=ULN,
                    event_id=EVENT_ID,
                    version=1,
                ),
                ItemOutcome(
                    index=1,
                    action="submit",
                    ref="AQA-2026-8300-0418",
                    outcome="rejected",
                    reason="grade_outside_scale",
                    description="grade 'B+' is not on the GCSE scale (1, 2, 3, ...)",
                ),
            ],
        ),
        PublishEnrolment(
            ukprn=UKPRN,
            enrolment_id="ENR-2026-0417-01",
            uln=ULN,
            given_name="Amelia",
            family_name="Okafor",
            date_of_birth=date(2008, 4, 12),
            learning_aim_reference="60146543",
            learning_aim_title="A level Mathematics",
            start_date=date(2026, 9, 1),
            planned_end_date=date(2028, 6, 30),
        ),
        ChallengeLearningEvent(uln=ULN, event_id=EVENT_ID, reason="I sat Foundation tier, not Higher"),
        ChallengeAnswer(uln=ULN, event_id=EVENT_ID, outcome="under_challenge", challenge_id=CHALLENGE_ID),
        ChallengeNotice(
            challenge_id=CHALLENGE_ID,
            event_id=EVENT_ID,
            kind="achievement",
            source_ref=_GCSE.result_id,
            uln=ULN,
            reason="I sat Foundation tier, not Higher",
            raised_at=_RAISED_AT,
        ),
        ConfirmLearningEvent(challenge_id=CHALLENGE_ID, note="Entry records show Higher tier"),
        ChallengeOutcome(challenge_id=CHALLENGE_ID, event_id=EVENT_ID, uln=ULN, resolution="confirmed"),
        AchievementsRecorded(items=[_RECORDED]),
        AchievementsAmended(items=[_RECORDED.model_copy(update={"version": 2, "grade": "8"})]),
        AchievementsWithdrawn(
            items=[
                WithdrawnAchievement(
                    event_id=EVENT_ID,
                    uln=ULN,
                    awarding_organisation=AO,
                    result_id=_GCSE.result_id,
                    version=3,
                    reason="Entered in error by the centre",
                )
            ]
        ),
        ParticipationRecorded(
            event_id=EVENT_ID,
            uln=ULN,
            provider=UKPRN,
            enrolment_id="ENR-2026-0417-01",
            version=2,
            learning_aim_reference="60146543",
            start_date=date(2026, 9, 1),
            planned_end_date=date(2028, 6, 30),
            actual_end_date=date(2028, 6, 20),
            outcome=ParticipationOutcome.ACHIEVED,
        ),
        ChallengeRaised(challenge_id=CHALLENGE_ID, event_id=EVENT_ID, uln=ULN, source_org=AO),
        ChallengeResolved(challenge_id=CHALLENGE_ID, event_id=EVENT_ID, uln=ULN, resolution="confirmed"),
    )
}


def _sharing_examples() -> list[Contract]:
    """The sharing contracts' examples: a university (partner 10000001) under agreement DSA-7F3A2C1B."""
    partner, purpose = "10000001", "admissions"
    stamp = DecisionStamp(agreement_id="DSA-7F3A2C1B", agreement_version=2, consent_version=3, purpose=purpose)
    item = DeliveredItem(
        feed="achievements",
        event_id=EVENT_ID,
        version=2,
        fields={
            "uln": ULN,
            "qualification_type": "GCSE",
            "subject": "GCSE Mathematics",
            "grade": "8",
            "award_date": "2026-08-20",
        },
        stamp=stamp,
    )
    consent = ConsentView(
        version=3,
        sharing=True,
        restricted_event_ids=[EVENT_ID],
        basic_details_only=False,
        nominations={partner: date(2027, 9, 30)},
    )
    return [
        SetSharing(uln=ULN, share=True, privacy_notice_seen=True),
        SetRestrictedView(uln=ULN, event_ids=[EVENT_ID]),
        Nominate(uln=ULN, org_id=partner, until=date(2027, 9, 30)),
        WithdrawNomination(uln=ULN, org_id=partner),
        ReadOwnRecord(uln=ULN),
        PreviewView(uln=ULN, org_id=partner),
        ReadDisclosures(uln=ULN),
        ConsentAnswer(request_type=Nominate.message_type, uln=ULN, outcome="applied", consent=consent),
        OwnRecord(uln=ULN, found=True, details={"given_name": "Amelia", "family_name": "Okafor"}, consent=consent),
        Preview(uln=ULN, org_id=partner, items=[item], refused={"participation:" + EVENT_ID: "not in the view"}),
        Disclosures(
            uln=ULN,
            entries=[
                DisclosureEntry(
                    at=_RAISED_AT,
                    recipient=partner,
                    what=f"feed.achievements:{EVENT_ID}",
                    purpose=purpose,
                    decision="allowed",
                    reason="",
                    fields=sorted(item.fields),
                    agreement_id="DSA-7F3A2C1B",
                    agreement_version=2,
                    consent_version=3,
                )
            ],
        ),
        Subscribe(feed="achievements", purpose=purpose),
        Unsubscribe(feed="achievements"),
        SubscriptionAnswer(feed="achievements", purpose=purpose, status="active"),
        Backfill(feed="achievements", since=_RAISED_AT, limit=500),
        BackfillDone(
            feed="achievements", delivered=420, refused=80, complete=False, next_since=_RAISED_AT, next_after=EVENT_ID
        ),
        Delivery(feed="achievements", items=[item]),
        RequestRecord(uln=ULN, given_name="Amelia", family_name="Okafor", purpose=purpose),
        PartnerRecord(response_code=ResponseCode.EXACT_MATCH, description="Exact match", items=[item]),
        Notice(
            notice_id=CHALLENGE_ID, kind="recall", reason="the learner withdrew consent", uln=ULN, event_ids=[EVENT_ID]
        ),
        AcknowledgeNotices(notice_ids=[CHALLENGE_ID]),
        NoticesAcknowledged(acknowledged=[CHALLENGE_ID]),
    ]


EXAMPLES.update({example.message_type: example for example in _sharing_examples()})
