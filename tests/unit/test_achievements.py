"""Achievements from awarding organisations (hub.records.achievements): submit, amend, withdraw, bulk."""

from datetime import date, timedelta
from typing import Any

import pytest

from contracts.codes import ResponseCode
from contracts.learner import MessageRejected, RejectionError
from contracts.plr import (
    AchievementBulk,
    AchievementEvent,
    AchievementsAmended,
    AchievementsRecorded,
    AchievementsWithdrawn,
    ItemOutcome,
    LearningEventOutcomes,
    WithdrawnAchievement,
)
from hub.kernel.model import EventKind, Learner, LearnerStatus, LearningEvent, Organisation
from hub.kernel.ports import OutboundMessage
from hub.pipeline.inbound import Handled
from hub.pipeline.routing import EVENTS_EXCHANGE, OUTBOUND_EXCHANGE
from hub.records.plr import NOT_VERIFIED

from .builders import awarding_organisation, details, fresh_uln, learner
from .fakes import FakeUnitOfWorkFactory
from .plr_builders import (
    AMEND,
    SUBMIT,
    WITHDRAW,
    amend_body,
    audited,
    entry_of,
    fresh_ref,
    hub_today,
    last_receipt,
    last_rejection,
    outbound_to,
    published,
    send,
    submit_body,
    withdraw_body,
)

BULK = AchievementBulk.message_type
RECORDED = AchievementsRecorded.message_type
AMENDED = AchievementsAmended.message_type
WITHDRAWN = AchievementsWithdrawn.message_type

# What the PLR keeps of achievement_body(): the record without the learner's demographics.
KEPT = {
    "subject_code": "601/4567/X",
    "subject": "Mathematics",
    "level": "2",
    "qualification_type": "GCSE",
    "grade": "7",
    "award_date": "2024-08-22",
    "status": "Final",
    "credits": None,
    "language_for_assessment": "English",
    "provider_ukprn": None,
}


@pytest.fixture
def awarding(hub_db: FakeUnitOfWorkFactory) -> Organisation:
    """An awarding organisation known to the register."""
    return hub_db.add_organisation(awarding_organisation())


@pytest.fixture
def amelia(hub_db: FakeUnitOfWorkFactory) -> Learner:
    """Amelia Okafor, registered."""
    return hub_db.add_learner(learner())


def event_of(entry: LearningEvent) -> AchievementEvent:
    """An entry as the hub's achievement events carry it."""
    return AchievementEvent(
        event_id=entry.event_id, uln=entry.uln, awarding_organisation=entry.source_org, result_id=entry.source_ref,
        version=entry.version, **entry.fields,
    )  # fmt: skip


def rejected(index: int, action: str, ref: str | None, reason: str, description: str, **more: Any) -> ItemOutcome:
    return ItemOutcome(
        index=index, action=action, ref=ref, outcome="rejected", reason=reason, description=description, **more
    )


async def submit(hub_db: FakeUnitOfWorkFactory, awarding: Organisation, uln: str, ref: str, **kw: Any) -> ItemOutcome:
    """Send achievement.submit.v1 and return the one item of its receipt."""
    await send(hub_db, awarding, submit_body(uln, ref, **kw), SUBMIT)
    [item] = last_receipt(hub_db, awarding).items
    return item


async def amend(
    hub_db: FakeUnitOfWorkFactory, awarding: Organisation, uln: str, ref: str, version: int, **kw: Any
) -> ItemOutcome:
    """Send achievement.amend.v1 and return the one item of its receipt."""
    await send(hub_db, awarding, amend_body(uln, ref, version, **kw), AMEND)
    [item] = last_receipt(hub_db, awarding).items
    return item


async def withdraw(
    hub_db: FakeUnitOfWorkFactory, awarding: Organisation, ref: str, version: int, **kw: Any
) -> ItemOutcome:
    """Send achievement.withdraw.v1 and return the one item of its receipt."""
    await send(hub_db, awarding, withdraw_body(ref, version, **kw), WITHDRAW)
    [item] = last_receipt(hub_db, awarding).items
    return item


def event_message(event: AchievementsRecorded | AchievementsAmended | AchievementsWithdrawn) -> OutboundMessage:
    return OutboundMessage(EVENTS_EXCHANGE, event.message_type, event.message_type, event.model_dump(mode="json"))


# --- submit ---------------------------------------------------------------------------------


async def test_submission_is_recorded_receipted_and_announced(
    hub_db: FakeUnitOfWorkFactory, awarding: Organisation, amelia: Learner
) -> None:
    """A verified achievement is stored in the PLR, receipted 'recorded' to the AO and announced on lrs.events."""
    ref = fresh_ref()
    handled, message = await send(hub_db, awarding, submit_body(amelia.uln, ref), SUBMIT)
    entry = entry_of(hub_db, awarding, EventKind.ACHIEVEMENT, ref)
    assert entry.loaded_at is not None and entry.updated_at is not None
    assert entry == LearningEvent(
        entry.event_id,
        amelia.uln,
        EventKind.ACHIEVEMENT,
        awarding.org_id,
        ref,
        1,
        KEPT,
        loaded_at=entry.loaded_at,
        updated_at=entry.updated_at,
    )
    receipt = LearningEventOutcomes(
        request_type=SUBMIT,
        applied=1,
        rejected=0,
        items=[
            ItemOutcome(
                index=0, action="submit", ref=ref, outcome="recorded", response_code=ResponseCode.EXACT_MATCH,
                description="recorded", uln=amelia.uln, event_id=entry.event_id, version=1,
            )
        ],
    )  # fmt: skip
    assert handled == Handled()
    assert hub_db.state.outbox == [
        OutboundMessage(
            OUTBOUND_EXCHANGE,
            awarding.org_id,
            LearningEventOutcomes.message_type,
            receipt.model_dump(mode="json"),
            message.message_id,
        ),
        event_message(AchievementsRecorded(items=[event_of(entry)])),
    ]
    [audit] = audited(hub_db, "plr.receipt")
    assert (audit.recipient, audit.uln, audit.purpose, audit.decision, audit.fields, audit.correlation_id) == (
        awarding.org_id,
        amelia.uln,
        "receipt",
        "allowed",
        ("uln", "event_id", "version", "outcome"),
        message.message_id,
    )


async def test_optional_fields_are_kept(hub_db: FakeUnitOfWorkFactory, awarding: Organisation, amelia: Learner) -> None:
    """Credits, the language of assessment and the centre's UKPRN are recorded as sent."""
    ref = fresh_ref()
    extra = {"credits": 12, "language_for_assessment": "Welsh", "provider_ukprn": "10030488"}
    await submit(hub_db, awarding, amelia.uln, ref, **extra)
    assert entry_of(hub_db, awarding, EventKind.ACHIEVEMENT, ref).fields == KEPT | extra


async def test_linked_uln_is_recorded_against_its_master(
    hub_db: FakeUnitOfWorkFactory, awarding: Organisation, amelia: Learner
) -> None:
    """An achievement sent for a linked ULN goes into the master's PLR, and the receipt says so (WSRC0022)."""
    linked = hub_db.add_learner(Learner(fresh_uln(), details(), status=LearnerStatus.LINKED, master_uln=amelia.uln))
    ref = fresh_ref()
    item = await submit(hub_db, awarding, linked.uln, ref)
    entry = entry_of(hub_db, awarding, EventKind.ACHIEVEMENT, ref)
    assert entry.uln == amelia.uln
    assert item == ItemOutcome(
        index=0,
        action="submit",
        ref=ref,
        outcome="recorded",
        response_code=ResponseCode.LINKED_LEARNER,
        description=f"the ULN sent is linked: recorded against its master ULN {amelia.uln}",
        uln=amelia.uln,
        event_id=entry.event_id,
        version=1,
    )
    assert [e.uln for e in audited(hub_db, "plr.receipt")] == [amelia.uln]


async def test_unknown_uln_is_refused_as_not_verified(hub_db: FakeUnitOfWorkFactory, awarding: Organisation) -> None:
    """A valid ULN nobody has is refused not_verified (WSEC0208), as wrong details are, and nothing is recorded."""
    nobody, ref = fresh_uln(), fresh_ref()
    item = await submit(hub_db, awarding, nobody, ref)
    assert item == rejected(0, "submit", ref, "not_verified", NOT_VERIFIED, response_code=ResponseCode.NOT_VERIFIED)
    assert (hub_db.state.events, published(hub_db)) == ({}, [])


async def test_uln_failing_its_check_digit_is_refused(hub_db: FakeUnitOfWorkFactory, awarding: Organisation) -> None:
    """A ULN with the wrong check digit is refused invalid_uln (WSEC0136)."""
    ref = fresh_ref()
    item = await submit(hub_db, awarding, "1234567890", ref)
    assert item == rejected(
        0, "submit", ref, "invalid_uln", "ULN 1234567890 fails its check digit", response_code=ResponseCode.INVALID_ULN
    )
    assert hub_db.state.events == {}


@pytest.mark.parametrize(
    ("claim", "wrong"),
    [
        ({"given_name": "Grace"}, "given_name"),
        ({"family_name": "Adeyemi"}, "family_name"),
        ({"date_of_birth": "2008-04-13"}, "date_of_birth"),
        ({"given_name": "Grace", "date_of_birth": "2007-04-12"}, "given_name, date_of_birth"),
    ],
)
async def test_demographics_not_matching_are_refused_not_verified(
    hub_db: FakeUnitOfWorkFactory, awarding: Organisation, amelia: Learner, claim: dict[str, str], wrong: str
) -> None:
    """Names or a birth date that do not fit the learner of the ULN are refused not_verified without naming
    the fields (that would confirm the others); the learner's audit log names them."""
    ref = fresh_ref()
    item = await submit(hub_db, awarding, amelia.uln, ref, **claim)
    assert item == rejected(0, "submit", ref, "not_verified", NOT_VERIFIED, response_code=ResponseCode.NOT_VERIFIED)
    assert (hub_db.state.events, published(hub_db)) == ({}, [])
    # The refusal still goes to the AO, audited, but discloses no ULN.
    assert [(e.uln, e.decision) for e in audited(hub_db, "plr.receipt")] == [(None, "allowed")]
    assert [(e.uln, e.reason) for e in audited(hub_db, "learner.verification")] == [
        (amelia.uln, f"not verified WSEC0208: {wrong} did not match")
    ]


async def test_previous_family_name_verifies_a_submission(
    hub_db: FakeUnitOfWorkFactory, awarding: Organisation
) -> None:
    """An exam entered under the learner's previous family name is recorded."""
    amelia = hub_db.add_learner(learner(previous_family_name="Adeyemi"))
    item = await submit(hub_db, awarding, amelia.uln, fresh_ref(), family_name="Adeyemi")
    assert (item.outcome, item.uln) == ("recorded", amelia.uln)


async def test_resubmitting_the_same_record_is_a_duplicate(
    hub_db: FakeUnitOfWorkFactory, awarding: Organisation, amelia: Learner
) -> None:
    """The same submission sent again (a new message) is refused duplicate 'resent' and nothing changes."""
    ref = fresh_ref()
    await submit(hub_db, awarding, amelia.uln, ref)
    before = dict(hub_db.state.events)
    assert await submit(hub_db, awarding, amelia.uln, ref) == rejected(0, "submit", ref, "duplicate", "resent")
    assert hub_db.state.events == before
    assert len(published(hub_db, RECORDED)) == 1


async def test_submitting_an_existing_result_id_with_other_content_is_a_duplicate(
    hub_db: FakeUnitOfWorkFactory, awarding: Organisation, amelia: Learner
) -> None:
    """A submission reusing a result id is refused duplicate, pointing to amend; the grade stays as recorded."""
    ref = fresh_ref()
    await submit(hub_db, awarding, amelia.uln, ref)
    item = await submit(hub_db, awarding, amelia.uln, ref, grade="9", version=2)
    assert item == rejected(
        0,
        "submit",
        ref,
        "duplicate",
        f"{ref} is already recorded; send achievement.amend with a higher version to change it",
    )
    assert entry_of(hub_db, awarding, EventKind.ACHIEVEMENT, ref).fields["grade"] == "7"


async def test_two_aos_may_use_the_same_result_id(hub_db: FakeUnitOfWorkFactory, amelia: Learner) -> None:
    """Result ids are each AO's own: two AOs submitting the same one get two entries."""
    first = hub_db.add_organisation(awarding_organisation())
    second = hub_db.add_organisation(awarding_organisation())
    ref = fresh_ref()
    outcomes = [(await submit(hub_db, ao, amelia.uln, ref)).outcome for ao in (first, second)]
    assert outcomes == ["recorded", "recorded"]
    assert sorted(e.source_org for e in hub_db.state.events.values()) == sorted([first.org_id, second.org_id])


async def test_provider_may_not_submit_achievements(
    hub_db: FakeUnitOfWorkFactory, college: Organisation, amelia: Learner
) -> None:
    """A learning provider sending achievement.submit.v1 is refused as sender_not_allowed."""
    await send(hub_db, college, submit_body(amelia.uln, fresh_ref()), SUBMIT)
    assert last_rejection(hub_db, college).reason == "sender_not_allowed"
    assert hub_db.state.events == {}


# --- dates and grades -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("award_date", "why"),
    [
        (date(2007, 7, 31), "award_date 2007-07-31 is before the PLR starts (2007/08, 2007-08-01)"),
        (date(1999, 6, 30), "award_date 1999-06-30 is before the PLR starts (2007/08, 2007-08-01)"),
        (None, "in the future"),  # tomorrow, by the hub's clock
    ],
)
async def test_award_date_outside_the_plr_is_refused(
    hub_db: FakeUnitOfWorkFactory, awarding: Organisation, amelia: Learner, award_date: date | None, why: str
) -> None:
    """An award date before 1 August 2007 or in the future is refused date_out_of_range."""
    when = award_date or hub_today() + timedelta(days=1)
    ref = fresh_ref()
    item = await submit(hub_db, awarding, amelia.uln, ref, award_date=when.isoformat())
    description = why if award_date else f"award_date {when.isoformat()} is in the future"
    assert item == rejected(0, "submit", ref, "date_out_of_range", description)
    assert hub_db.state.events == {}


@pytest.mark.parametrize("award_date", [date(2007, 8, 1), None])
async def test_award_dates_on_the_limits_are_accepted(
    hub_db: FakeUnitOfWorkFactory, awarding: Organisation, amelia: Learner, award_date: date | None
) -> None:
    """The first day of the PLR, 1 August 2007, and today are both accepted."""
    when = award_date or hub_today()
    item = await submit(hub_db, awarding, amelia.uln, fresh_ref(), award_date=when.isoformat())
    assert item.outcome == "recorded"


@pytest.mark.parametrize(
    ("qualification_type", "grade"),
    [("GCSE", "A**"), ("GCSE", "Distinction"), ("GCSE", "10"), ("GCE A Level", "9"), ("GCE A-Level", "F")],
)
async def test_grade_outside_the_scale_is_refused(
    hub_db: FakeUnitOfWorkFactory, awarding: Organisation, amelia: Learner, qualification_type: str, grade: str
) -> None:
    """A grade that is not on its qualification type's scale is refused grade_outside_scale."""
    ref = fresh_ref()
    item = await submit(hub_db, awarding, amelia.uln, ref, qualification_type=qualification_type, grade=grade)
    assert (item.outcome, item.reason, item.ref) == ("rejected", "grade_outside_scale", ref)
    assert item.description.startswith(f"grade {grade!r} is not on the {qualification_type} scale (")
    assert hub_db.state.events == {}


@pytest.mark.parametrize(
    ("qualification_type", "grade"),
    [("GCSE", "9"), ("GCSE", "A*"), ("GCE A Level", "A*"), ("NVQ", "Competent"), ("Award in Floristry", "10")],
)
async def test_grade_on_the_scale_or_of_an_unknown_type_is_recorded(
    hub_db: FakeUnitOfWorkFactory, awarding: Organisation, amelia: Learner, qualification_type: str, grade: str
) -> None:
    """A grade on its scale is recorded; a qualification type whose scale is unknown takes any grade."""
    ref = fresh_ref()
    item = await submit(hub_db, awarding, amelia.uln, ref, qualification_type=qualification_type, grade=grade)
    assert item.outcome == "recorded"
    assert entry_of(hub_db, awarding, EventKind.ACHIEVEMENT, ref).fields["grade"] == grade


# --- amend ----------------------------------------------------------------------------------


async def test_amendment_with_a_higher_version_replaces_the_record(
    hub_db: FakeUnitOfWorkFactory, awarding: Organisation, amelia: Learner
) -> None:
    """A re-mark (version 2, grade 8) replaces the entry in place, is receipted 'amended' and announced."""
    ref = fresh_ref()
    recorded = await submit(hub_db, awarding, amelia.uln, ref)
    item = await amend(hub_db, awarding, amelia.uln, ref, 2, grade="8")
    entry = entry_of(hub_db, awarding, EventKind.ACHIEVEMENT, ref)
    assert (entry.event_id, entry.version, entry.fields) == (recorded.event_id, 2, KEPT | {"grade": "8"})
    assert item == ItemOutcome(
        index=0, action="amend", ref=ref, outcome="amended", response_code=ResponseCode.EXACT_MATCH,
        description="amended", uln=amelia.uln, event_id=recorded.event_id, version=2,
    )  # fmt: skip
    assert published(hub_db, AMENDED) == [event_message(AchievementsAmended(items=[event_of(entry)]))]
    assert len(hub_db.state.events) == 1


async def test_amendment_naming_its_own_entry_by_event_id_is_applied(
    hub_db: FakeUnitOfWorkFactory, awarding: Organisation, amelia: Learner
) -> None:
    """An amendment carrying the event_id from the receipt of its own entry is applied."""
    ref = fresh_ref()
    recorded = await submit(hub_db, awarding, amelia.uln, ref)
    item = await amend(hub_db, awarding, amelia.uln, ref, 2, grade="8", event_id=recorded.event_id)
    assert (item.outcome, item.event_id) == ("amended", recorded.event_id)


async def test_amendment_whose_event_id_names_another_of_its_own_entries_is_refused(
    hub_db: FakeUnitOfWorkFactory, awarding: Organisation, amelia: Learner
) -> None:
    """An event_id and a result_id naming two different entries of the sender: neither is changed."""
    first, second = fresh_ref(), fresh_ref()
    recorded = await submit(hub_db, awarding, amelia.uln, first)
    await submit(hub_db, awarding, amelia.uln, second)
    item = await amend(hub_db, awarding, amelia.uln, second, 2, grade="8", event_id=recorded.event_id)
    assert (item.outcome, item.reason) == ("rejected", "invalid_item")
    assert sorted(e.version for e in hub_db.state.events.values()) == [1, 1]


async def test_older_amendment_arriving_late_is_stale_and_never_overwrites(
    hub_db: FakeUnitOfWorkFactory, awarding: Organisation, amelia: Learner
) -> None:
    """After version 3, a late version 2 is refused stale_version and the entry keeps version 3's grade."""
    ref = fresh_ref()
    await submit(hub_db, awarding, amelia.uln, ref, grade="5")
    await amend(hub_db, awarding, amelia.uln, ref, 3, grade="7")
    item = await amend(hub_db, awarding, amelia.uln, ref, 2, grade="6")
    assert item == rejected(
        0, "amend", ref, "stale_version", f"version 2 of {ref} is not newer than the recorded version 3: not applied"
    )
    entry = entry_of(hub_db, awarding, EventKind.ACHIEVEMENT, ref)
    assert (entry.version, entry.fields["grade"]) == (3, "7")
    assert len(published(hub_db, AMENDED)) == 1  # version 3's only


async def test_amendment_resent_with_the_same_version_is_a_duplicate(
    hub_db: FakeUnitOfWorkFactory, awarding: Organisation, amelia: Learner
) -> None:
    """The same amendment sent twice is applied once; the second is refused duplicate."""
    ref = fresh_ref()
    await submit(hub_db, awarding, amelia.uln, ref)
    await amend(hub_db, awarding, amelia.uln, ref, 2, grade="8")
    item = await amend(hub_db, awarding, amelia.uln, ref, 2, grade="8")
    assert item == rejected(0, "amend", ref, "duplicate", f"version 2 of {ref} is already recorded")
    assert len(published(hub_db, AMENDED)) == 1


async def test_amendment_with_the_recorded_version_but_other_content_is_stale(
    hub_db: FakeUnitOfWorkFactory, awarding: Organisation, amelia: Learner
) -> None:
    """A version equal to the recorded one with a different grade is not newer: stale_version, not applied."""
    ref = fresh_ref()
    await submit(hub_db, awarding, amelia.uln, ref)
    item = await amend(hub_db, awarding, amelia.uln, ref, 1, grade="8")
    assert (item.outcome, item.reason) == ("rejected", "stale_version")
    assert entry_of(hub_db, awarding, EventKind.ACHIEVEMENT, ref).fields["grade"] == "7"


async def test_amendment_of_an_unknown_result_is_refused(
    hub_db: FakeUnitOfWorkFactory, awarding: Organisation, amelia: Learner
) -> None:
    """Amending a result id this AO never submitted is refused unknown_record and records nothing."""
    ref = fresh_ref()
    item = await amend(hub_db, awarding, amelia.uln, ref, 2)
    assert item == rejected(0, "amend", ref, "unknown_record", f"no achievement {ref} of yours to amend")
    assert hub_db.state.events == {}


async def test_amendment_naming_another_aos_entry_is_not_yours(
    hub_db: FakeUnitOfWorkFactory, awarding: Organisation, amelia: Learner
) -> None:
    """An amendment naming (by event_id) an achievement another AO sent is refused not_yours; the entry is unchanged."""
    other = hub_db.add_organisation(awarding_organisation())
    ref = fresh_ref()
    theirs = await submit(hub_db, other, amelia.uln, ref)
    before = dict(hub_db.state.events)
    item = await amend(hub_db, awarding, amelia.uln, ref, 2, grade="1", event_id=theirs.event_id)
    assert item == rejected(0, "amend", ref, "not_yours", "that entry was sent by another organisation")
    assert hub_db.state.events == before
    assert published(hub_db, AMENDED) == []


async def test_amendment_of_another_aos_result_id_without_event_id_is_unknown(
    hub_db: FakeUnitOfWorkFactory, awarding: Organisation, amelia: Learner
) -> None:
    """Another AO's result id is not this AO's: amending it is unknown_record, and that entry is unchanged."""
    other = hub_db.add_organisation(awarding_organisation())
    ref = fresh_ref()
    await submit(hub_db, other, amelia.uln, ref)
    before = dict(hub_db.state.events)
    item = await amend(hub_db, awarding, amelia.uln, ref, 2, grade="1")
    assert (item.outcome, item.reason) == ("rejected", "unknown_record")
    assert hub_db.state.events == before


async def test_amendment_not_verifying_is_refused_and_changes_nothing(
    hub_db: FakeUnitOfWorkFactory, awarding: Organisation, amelia: Learner
) -> None:
    """An amendment whose names do not fit its ULN is refused not_verified; version and grade stay."""
    ref = fresh_ref()
    await submit(hub_db, awarding, amelia.uln, ref)
    item = await amend(hub_db, awarding, amelia.uln, ref, 2, grade="8", given_name="Grace")
    assert (item.outcome, item.reason) == ("rejected", "not_verified")
    entry = entry_of(hub_db, awarding, EventKind.ACHIEVEMENT, ref)
    assert (entry.version, entry.fields["grade"]) == (1, "7")


async def test_amendment_with_a_future_award_date_is_refused(
    hub_db: FakeUnitOfWorkFactory, awarding: Organisation, amelia: Learner
) -> None:
    """Amendments are checked as submissions are: an award date in the future is date_out_of_range."""
    ref = fresh_ref()
    await submit(hub_db, awarding, amelia.uln, ref)
    tomorrow = (hub_today() + timedelta(days=1)).isoformat()
    item = await amend(hub_db, awarding, amelia.uln, ref, 2, award_date=tomorrow)
    assert (item.outcome, item.reason) == ("rejected", "date_out_of_range")
    assert entry_of(hub_db, awarding, EventKind.ACHIEVEMENT, ref).version == 1


async def test_amendment_to_a_grade_outside_the_scale_is_refused(
    hub_db: FakeUnitOfWorkFactory, awarding: Organisation, amelia: Learner
) -> None:
    """A re-mark to a grade not on the GCSE scale is refused grade_outside_scale and the entry keeps its grade."""
    ref = fresh_ref()
    await submit(hub_db, awarding, amelia.uln, ref)
    item = await amend(hub_db, awarding, amelia.uln, ref, 2, grade="Merit")
    assert (item.outcome, item.reason) == ("rejected", "grade_outside_scale")
    assert entry_of(hub_db, awarding, EventKind.ACHIEVEMENT, ref).fields["grade"] == "7"


async def test_amendment_can_move_an_achievement_to_the_right_learner(
    hub_db: FakeUnitOfWorkFactory, awarding: Organisation, amelia: Learner
) -> None:
    """An amendment naming another learner's ULN (and verifying against it) moves the entry into that PLR."""
    grace = hub_db.add_learner(learner(given_name="Grace"))
    ref = fresh_ref()
    await submit(hub_db, awarding, amelia.uln, ref)
    item = await amend(hub_db, awarding, grace.uln, ref, 2, given_name="Grace")
    assert (item.outcome, item.uln, entry_of(hub_db, awarding, EventKind.ACHIEVEMENT, ref).uln) == (
        "amended",
        grace.uln,
        grace.uln,
    )


# --- withdraw -------------------------------------------------------------------------------


async def test_withdrawal_marks_the_entry_and_is_announced(
    hub_db: FakeUnitOfWorkFactory, awarding: Organisation, amelia: Learner
) -> None:
    """A withdrawal with a higher version keeps the entry, marked withdrawn with its reason, and is announced."""
    ref = fresh_ref()
    recorded = await submit(hub_db, awarding, amelia.uln, ref)
    item = await withdraw(hub_db, awarding, ref, 2, reason="malpractice")
    entry = entry_of(hub_db, awarding, EventKind.ACHIEVEMENT, ref)
    assert (entry.withdrawn, entry.withdrawn_reason, entry.version, entry.fields) == (True, "malpractice", 2, KEPT)
    assert item == ItemOutcome(
        index=0, action="withdraw", ref=ref, outcome="withdrawn", description="withdrawn", uln=amelia.uln,
        event_id=recorded.event_id, version=2,
    )  # fmt: skip
    withdrawn = WithdrawnAchievement(
        event_id=recorded.event_id, uln=amelia.uln, awarding_organisation=awarding.org_id, result_id=ref, version=2,
        reason="malpractice",
    )  # fmt: skip
    assert published(hub_db, WITHDRAWN) == [event_message(AchievementsWithdrawn(items=[withdrawn]))]


async def test_withdrawal_resent_is_a_duplicate(
    hub_db: FakeUnitOfWorkFactory, awarding: Organisation, amelia: Learner
) -> None:
    """Withdrawing again with the same version is refused duplicate; one withdrawal event only."""
    ref = fresh_ref()
    await submit(hub_db, awarding, amelia.uln, ref)
    await withdraw(hub_db, awarding, ref, 2)
    item = await withdraw(hub_db, awarding, ref, 2)
    assert item == rejected(0, "withdraw", ref, "duplicate", f"version 2 of {ref} is already recorded")
    assert len(published(hub_db, WITHDRAWN)) == 1


async def test_withdrawal_of_an_unknown_result_is_refused(
    hub_db: FakeUnitOfWorkFactory, awarding: Organisation
) -> None:
    """Withdrawing a result id this AO never submitted is refused unknown_record."""
    ref = fresh_ref()
    item = await withdraw(hub_db, awarding, ref, 2)
    assert item == rejected(0, "withdraw", ref, "unknown_record", f"no achievement {ref} of yours to withdraw")


async def test_withdrawal_naming_another_aos_entry_is_not_yours(
    hub_db: FakeUnitOfWorkFactory, awarding: Organisation, amelia: Learner
) -> None:
    """A withdrawal naming (by event_id) another AO's achievement is refused not_yours; the entry stays."""
    other = hub_db.add_organisation(awarding_organisation())
    ref = fresh_ref()
    theirs = await submit(hub_db, other, amelia.uln, ref)
    item = await withdraw(hub_db, awarding, ref, 2, event_id=theirs.event_id)
    assert (item.outcome, item.reason) == ("rejected", "not_yours")
    assert entry_of(hub_db, other, EventKind.ACHIEVEMENT, ref).withdrawn is False


async def test_withdrawal_with_an_older_version_is_stale(
    hub_db: FakeUnitOfWorkFactory, awarding: Organisation, amelia: Learner
) -> None:
    """A withdrawal older than the recorded amendment is refused stale_version; the entry stays in the PLR."""
    ref = fresh_ref()
    await submit(hub_db, awarding, amelia.uln, ref)
    await amend(hub_db, awarding, amelia.uln, ref, 3, grade="8")
    item = await withdraw(hub_db, awarding, ref, 2)
    assert (item.outcome, item.reason) == ("rejected", "stale_version")
    assert entry_of(hub_db, awarding, EventKind.ACHIEVEMENT, ref).withdrawn is False


async def test_amendment_after_a_withdrawal_reinstates_the_entry(
    hub_db: FakeUnitOfWorkFactory, awarding: Organisation, amelia: Learner
) -> None:
    """Withdrawn at version 2, then amended at version 3: the entry is back, not withdrawn, with the new grade."""
    ref = fresh_ref()
    await submit(hub_db, awarding, amelia.uln, ref)
    await withdraw(hub_db, awarding, ref, 2)
    item = await amend(hub_db, awarding, amelia.uln, ref, 3, grade="6")
    entry = entry_of(hub_db, awarding, EventKind.ACHIEVEMENT, ref)
    assert (entry.withdrawn, entry.withdrawn_reason, entry.version, entry.fields["grade"]) == (False, None, 3, "6")
    assert (item.outcome, item.version) == ("amended", 3)
    assert published(hub_db, AMENDED) == [event_message(AchievementsAmended(items=[event_of(entry)]))]


async def test_reinstating_with_the_same_content_is_applied(
    hub_db: FakeUnitOfWorkFactory, awarding: Organisation, amelia: Learner
) -> None:
    """An amendment repeating the withdrawn record unchanged, at a higher version, reinstates it."""
    ref = fresh_ref()
    await submit(hub_db, awarding, amelia.uln, ref)
    await withdraw(hub_db, awarding, ref, 2)
    item = await amend(hub_db, awarding, amelia.uln, ref, 3)
    assert (item.outcome, entry_of(hub_db, awarding, EventKind.ACHIEVEMENT, ref).withdrawn) == ("amended", False)


async def test_amendment_not_newer_than_a_withdrawal_does_not_reinstate(
    hub_db: FakeUnitOfWorkFactory, awarding: Organisation, amelia: Learner
) -> None:
    """After a withdrawal at version 2, an amendment at version 2 is stale and the entry stays withdrawn."""
    ref = fresh_ref()
    await submit(hub_db, awarding, amelia.uln, ref)
    await withdraw(hub_db, awarding, ref, 2)
    item = await amend(hub_db, awarding, amelia.uln, ref, 2)
    assert (item.outcome, item.reason) == ("rejected", "stale_version")
    assert entry_of(hub_db, awarding, EventKind.ACHIEVEMENT, ref).withdrawn is True


# --- bulk -----------------------------------------------------------------------------------


async def test_bulk_applies_the_good_items_and_answers_each_bad_one_by_index(
    hub_db: FakeUnitOfWorkFactory, awarding: Organisation, amelia: Learner
) -> None:
    """Good items are recorded; each bad one (unknown ULN, wrong type, no action, bad grade...) is answered in place."""
    grace = hub_db.add_learner(learner(given_name="Grace"))
    nobody = fresh_uln()
    refs = [fresh_ref() for _ in range(8)]
    no_action = submit_body(amelia.uln, refs[3])
    del no_action["action"]
    items = [
        submit_body(amelia.uln, refs[0]),
        submit_body(nobody, refs[1]),
        submit_body(amelia.uln, refs[2], version="2"),  # a string for a number
        no_action,
        submit_body(amelia.uln, refs[4], grade="Z"),
        submit_body(grace.uln, refs[5], given_name="Grace"),
        withdraw_body(refs[6], 2),
        submit_body("12345", refs[7]),
    ]
    _, message = await send(hub_db, awarding, {"items": items}, BULK)
    first = entry_of(hub_db, awarding, EventKind.ACHIEVEMENT, refs[0])
    sixth = entry_of(hub_db, awarding, EventKind.ACHIEVEMENT, refs[5])
    [answer] = outbound_to(hub_db, awarding)
    assert (answer.message_type, answer.correlation_id) == (LearningEventOutcomes.message_type, message.message_id)
    receipt = LearningEventOutcomes.model_validate(answer.body)
    assert (receipt.request_type, receipt.applied, receipt.rejected) == (BULK, 2, 6)
    grade_z = receipt.items[4].description
    assert receipt.items == [
        ItemOutcome(
            index=0, action="submit", ref=refs[0], outcome="recorded", response_code=ResponseCode.EXACT_MATCH,
            description="recorded", uln=amelia.uln, event_id=first.event_id, version=1,
        ),
        rejected(1, "submit", refs[1], "not_verified", NOT_VERIFIED, response_code=ResponseCode.NOT_VERIFIED),
        rejected(2, "submit", refs[2], "invalid_item", "the item is not valid",
                 errors=[RejectionError(loc="version", message="Input should be a valid integer")]),
        rejected(3, "", refs[3], "invalid_item", "the item is not valid",
                 errors=[RejectionError(loc="", message="Unable to extract tag using discriminator 'action'")]),
        rejected(4, "submit", refs[4], "grade_outside_scale", grade_z),
        ItemOutcome(
            index=5, action="submit", ref=refs[5], outcome="recorded", response_code=ResponseCode.EXACT_MATCH,
            description="recorded", uln=grace.uln, event_id=sixth.event_id, version=1,
        ),
        rejected(6, "withdraw", refs[6], "unknown_record", f"no achievement {refs[6]} of yours to withdraw"),
        rejected(7, "submit", refs[7], "invalid_uln", "Supplied ULN invalid", response_code=ResponseCode.INVALID_ULN,
                 errors=[RejectionError(loc="uln", message="String should match pattern '^[1-9][0-9]{9}$'")]),
    ]  # fmt: skip
    assert grade_z.startswith("grade 'Z' is not on the GCSE scale")
    assert {e.source_ref for e in hub_db.state.events.values()} == {refs[0], refs[5]}
    # One event for the message, listing both recorded achievements.
    assert published(hub_db) == [event_message(AchievementsRecorded(items=[event_of(first), event_of(sixth)]))]
    # Every item's receipt was audited, with the ULN only where one was applied.
    entries = audited(hub_db, "plr.receipt")
    assert [e.uln for e in entries] == [amelia.uln, None, None, None, None, grace.uln, None, None]
    assert {e.correlation_id for e in entries} == {message.message_id}


async def test_bulk_item_with_an_unknown_action_is_answered_on_its_own(
    hub_db: FakeUnitOfWorkFactory, awarding: Organisation, amelia: Learner
) -> None:
    """An item whose action is none of submit, amend, withdraw is invalid_item; the others are applied."""
    ref = fresh_ref()
    items = [{"action": "delete", "result_id": fresh_ref()}, submit_body(amelia.uln, ref)]
    await send(hub_db, awarding, {"items": items}, BULK)
    receipt = last_receipt(hub_db, awarding)
    assert [(i.index, i.outcome, i.reason) for i in receipt.items] == [
        (0, "rejected", "invalid_item"),
        (1, "recorded", None),
    ]
    assert (receipt.applied, receipt.rejected) == (1, 1)


async def test_bulk_with_a_submission_then_its_amendment_applies_both_in_order(
    hub_db: FakeUnitOfWorkFactory, awarding: Organisation, amelia: Learner
) -> None:
    """Submit then amend of one result in one message: recorded at version 1, then amended to version 2."""
    ref = fresh_ref()
    items = [submit_body(amelia.uln, ref, grade="5"), amend_body(amelia.uln, ref, 2, grade="7")]
    await send(hub_db, awarding, {"items": items}, BULK)
    entry = entry_of(hub_db, awarding, EventKind.ACHIEVEMENT, ref)
    assert (entry.version, entry.fields["grade"], len(hub_db.state.events)) == (2, "7", 1)
    receipt = last_receipt(hub_db, awarding)
    assert [(i.action, i.outcome, i.event_id, i.version) for i in receipt.items] == [
        ("submit", "recorded", entry.event_id, 1),
        ("amend", "amended", entry.event_id, 2),
    ]
    assert (receipt.applied, receipt.rejected) == (2, 0)


async def test_bulk_events_describe_each_step_as_it_was(
    hub_db: FakeUnitOfWorkFactory, awarding: Organisation, amelia: Learner
) -> None:
    """Submit (grade 5) then amend (grade 7) in one bulk announce 'recorded' with version 1 and 'amended' with 2."""
    ref = fresh_ref()
    items = [submit_body(amelia.uln, ref, grade="5"), amend_body(amelia.uln, ref, 2, grade="7")]
    await send(hub_db, awarding, {"items": items}, BULK)
    entry = entry_of(hub_db, awarding, EventKind.ACHIEVEMENT, ref)
    as_recorded = event_of(entry).model_copy(update={"version": 1, "grade": "5"})
    assert published(hub_db) == [
        event_message(AchievementsRecorded(items=[as_recorded])),
        event_message(AchievementsAmended(items=[event_of(entry)])),
    ]


async def test_bulk_with_a_submission_then_its_withdrawal_keeps_it_withdrawn(
    hub_db: FakeUnitOfWorkFactory, awarding: Organisation, amelia: Learner
) -> None:
    """Submit then withdraw of one result in one message leaves the entry withdrawn at version 2."""
    ref = fresh_ref()
    await send(hub_db, awarding, {"items": [submit_body(amelia.uln, ref), withdraw_body(ref, 2)]}, BULK)
    entry = entry_of(hub_db, awarding, EventKind.ACHIEVEMENT, ref)
    assert (entry.withdrawn, entry.version) == (True, 2)
    assert [i.outcome for i in last_receipt(hub_db, awarding).items] == ["recorded", "withdrawn"]


async def test_bulk_submitting_one_result_twice_records_it_once(
    hub_db: FakeUnitOfWorkFactory, awarding: Organisation, amelia: Learner
) -> None:
    """The same result id submitted twice in one bulk: the first is recorded, the second is a duplicate."""
    ref = fresh_ref()
    await send(hub_db, awarding, {"items": [submit_body(amelia.uln, ref)] * 2}, BULK)
    items = last_receipt(hub_db, awarding).items
    assert [(i.outcome, i.reason, i.description) for i in items] == [
        ("recorded", None, "recorded"),
        ("rejected", "duplicate", "resent"),
    ]
    assert len(hub_db.state.events) == 1


async def test_bulk_of_1000_items_is_applied(
    hub_db: FakeUnitOfWorkFactory, awarding: Organisation, amelia: Learner
) -> None:
    """1,000 items, the limit, are all applied and receipted in one answer."""
    items = [submit_body(amelia.uln, f"R-{n:04d}") for n in range(1000)]
    await send(hub_db, awarding, {"items": items}, BULK)
    receipt = last_receipt(hub_db, awarding)
    assert (receipt.applied, receipt.rejected, len(hub_db.state.events)) == (1000, 0, 1000)
    assert len(audited(hub_db, "plr.receipt")) == 1000


async def test_bulk_of_1001_items_is_refused_whole(
    hub_db: FakeUnitOfWorkFactory, awarding: Organisation, amelia: Learner
) -> None:
    """1,001 items are refused as one message.rejected.v1 at items; nothing is recorded or announced."""
    items = [submit_body(amelia.uln, f"R-{n:04d}") for n in range(1001)]
    handled, message = await send(hub_db, awarding, {"items": items}, BULK)
    rejection = MessageRejected(
        reason="invalid_contract",
        request_type=BULK,
        errors=[RejectionError(loc="items", message="List should have at most 1000 items after validation, not 1001")],
    )
    assert hub_db.state.outbox == [
        OutboundMessage(
            OUTBOUND_EXCHANGE,
            awarding.org_id,
            MessageRejected.message_type,
            rejection.model_dump(mode="json"),
            message.message_id,
        )
    ]
    assert handled.dead_letter_reason is not None
    assert (hub_db.state.events, audited(hub_db, "plr.receipt")) == ({}, [])


async def test_bulk_with_an_unknown_envelope_field_is_refused_whole(
    hub_db: FakeUnitOfWorkFactory, awarding: Organisation, amelia: Learner
) -> None:
    """Something wrong with the envelope (an unknown field) refuses the message, even with a bad item inside."""
    body = {"items": [submit_body(amelia.uln, fresh_ref()), submit_body("12345", fresh_ref())], "priority": "high"}
    await send(hub_db, awarding, body, BULK)
    rejection = last_rejection(hub_db, awarding)
    assert (rejection.reason, "priority" in [e.loc for e in rejection.errors]) == ("invalid_contract", True)
    assert hub_db.state.events == {}


async def test_bulk_redelivered_changes_nothing(
    hub_db: FakeUnitOfWorkFactory, awarding: Organisation, amelia: Learner
) -> None:
    """A bulk delivered again with the same message_id is a duplicate: no second receipt, event or entry change."""
    ref = fresh_ref()
    items = [submit_body(amelia.uln, ref), amend_body(amelia.uln, ref, 2, grade="8")]
    _, message = await send(hub_db, awarding, {"items": items}, BULK)
    outbox, events, audit = list(hub_db.state.outbox), dict(hub_db.state.events), list(hub_db.state.audit)
    again = await send(hub_db, awarding, {"items": items}, BULK, message_id=message.message_id)
    assert again[0] == Handled(duplicate=True)
    assert (hub_db.state.outbox, hub_db.state.events, hub_db.state.audit) == (outbox, events, audit)


async def test_single_submission_redelivered_is_receipted_once(
    hub_db: FakeUnitOfWorkFactory, awarding: Organisation, amelia: Learner
) -> None:
    """A submission redelivered with the same message_id gets no second receipt, not even a 'duplicate' one."""
    body = submit_body(amelia.uln, fresh_ref())
    _, message = await send(hub_db, awarding, body, SUBMIT)
    outbox = list(hub_db.state.outbox)
    handled, _ = await send(hub_db, awarding, body, SUBMIT, message_id=message.message_id)
    assert (handled, hub_db.state.outbox, len(hub_db.state.events)) == (Handled(duplicate=True), outbox, 1)


async def test_other_submission_under_a_used_message_id_is_not_applied(
    hub_db: FakeUnitOfWorkFactory, awarding: Organisation, amelia: Learner
) -> None:
    """A different submission reusing a message_id is refused duplicate_message_id and records nothing."""
    _, message = await send(hub_db, awarding, submit_body(amelia.uln, fresh_ref()), SUBMIT)
    await send(hub_db, awarding, submit_body(amelia.uln, fresh_ref()), SUBMIT, message_id=message.message_id)
    assert last_rejection(hub_db, awarding).reason == "duplicate_message_id"
    assert len(hub_db.state.events) == 1
