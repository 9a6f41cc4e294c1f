"""Enrolments from providers (hub.records.enrolments): each becomes a participation entry of the PLR."""

from datetime import timedelta
from typing import Any

import pytest

from contracts.codes import ResponseCode
from contracts.learner import MessageRejected, RejectionError
from contracts.plr import ItemOutcome, LearningEventOutcomes, ParticipationRecorded
from hub.kernel.model import EventKind, Learner, LearnerStatus, LearningEvent, Organisation
from hub.kernel.ports import OutboundMessage
from hub.pipeline.routing import EVENTS_EXCHANGE, OUTBOUND_EXCHANGE
from hub.records.plr import NOT_VERIFIED

from .builders import awarding_organisation, details, fresh_uln, learner, provider
from .fakes import FakeUnitOfWorkFactory
from .plr_builders import (
    PUBLISH,
    audited,
    enrolment_body,
    entry_of,
    fresh_ref,
    hub_today,
    last_receipt,
    last_rejection,
    outbound_to,
    published,
    send,
)

PARTICIPATION = ParticipationRecorded.message_type

# What the PLR keeps of enrolment_body(): the enrolment without the learner's demographics.
KEPT = {
    "learning_aim_reference": "50079116",
    "learning_aim_title": "GCE A Level in Mathematics",
    "start_date": "2024-09-02",
    "planned_end_date": "2026-06-30",
    "actual_end_date": None,
    "outcome": None,
}
FINISHED = {"actual_end_date": "2026-06-19", "outcome": 1}


@pytest.fixture
def amelia(hub_db: FakeUnitOfWorkFactory) -> Learner:
    """Amelia Okafor, registered by someone else (the college is not yet linked to her)."""
    return hub_db.add_learner(learner(), "10000001")


async def publish(hub_db: FakeUnitOfWorkFactory, college: Organisation, uln: str, ref: str, **kw: Any) -> ItemOutcome:
    """Send enrolment.publish.v1 and return the one item of its receipt."""
    await send(hub_db, college, enrolment_body(college, uln, ref, **kw), PUBLISH)
    receipt = last_receipt(hub_db, college)
    assert receipt.request_type == PUBLISH
    [item] = receipt.items
    return item


def recorded_event(entry: LearningEvent) -> OutboundMessage:
    event = ParticipationRecorded(
        event_id=entry.event_id, uln=entry.uln, provider=entry.source_org, enrolment_id=entry.source_ref,
        version=entry.version, **entry.fields,
    )  # fmt: skip
    return OutboundMessage(EVENTS_EXCHANGE, PARTICIPATION, PARTICIPATION, event.model_dump(mode="json"))


def rejected(ref: str, reason: str, description: str, **more: Any) -> ItemOutcome:
    return ItemOutcome(
        index=0, action="publish", ref=ref, outcome="rejected", reason=reason, description=description, **more
    )


# --- publish --------------------------------------------------------------------------------


async def test_enrolment_becomes_a_participation_entry(
    hub_db: FakeUnitOfWorkFactory, college: Organisation, amelia: Learner
) -> None:
    """A verified enrolment is stored as participation, receipted, announced, and links the provider to the learner."""
    ref = fresh_ref("E")
    _, message = await send(hub_db, college, enrolment_body(college, amelia.uln, ref), PUBLISH)
    entry = entry_of(hub_db, college, EventKind.PARTICIPATION, ref)
    assert entry.loaded_at is not None and entry.updated_at is not None
    assert entry == LearningEvent(
        entry.event_id,
        amelia.uln,
        EventKind.PARTICIPATION,
        college.org_id,
        ref,
        1,
        KEPT,
        loaded_at=entry.loaded_at,
        updated_at=entry.updated_at,
    )
    receipt = LearningEventOutcomes(
        request_type=PUBLISH,
        applied=1,
        rejected=0,
        items=[
            ItemOutcome(
                index=0, action="publish", ref=ref, outcome="recorded", response_code=ResponseCode.EXACT_MATCH,
                description="recorded", uln=amelia.uln, event_id=entry.event_id, version=1,
            )
        ],
    )  # fmt: skip
    assert hub_db.state.outbox == [
        OutboundMessage(
            OUTBOUND_EXCHANGE,
            college.org_id,
            LearningEventOutcomes.message_type,
            receipt.model_dump(mode="json"),
            message.message_id,
        ),
        recorded_event(entry),
    ]
    assert hub_db.state.provider_links == {(amelia.uln, "10000001"), (amelia.uln, college.org_id)}
    assert [(e.recipient, e.uln, e.decision) for e in audited(hub_db, "plr.receipt")] == [
        (college.org_id, amelia.uln, "allowed")
    ]


async def test_republish_with_a_higher_version_updates_the_entry(
    hub_db: FakeUnitOfWorkFactory, college: Organisation, amelia: Learner
) -> None:
    """Version 2 with the actual end date and the outcome replaces the entry and is announced again."""
    ref = fresh_ref("E")
    first = await publish(hub_db, college, amelia.uln, ref)
    item = await publish(hub_db, college, amelia.uln, ref, version=2, **FINISHED)
    entry = entry_of(hub_db, college, EventKind.PARTICIPATION, ref)
    assert (entry.event_id, entry.version, entry.fields) == (first.event_id, 2, KEPT | FINISHED)
    assert item == ItemOutcome(
        index=0, action="publish", ref=ref, outcome="amended", response_code=ResponseCode.EXACT_MATCH,
        description="amended", uln=amelia.uln, event_id=first.event_id, version=2,
    )  # fmt: skip
    [_, second_event] = published(hub_db, PARTICIPATION)
    assert second_event == recorded_event(entry)
    assert second_event.body["actual_end_date"] == "2026-06-19" and second_event.body["outcome"] == 1
    assert len(hub_db.state.events) == 1


async def test_republish_with_a_lower_version_is_stale(
    hub_db: FakeUnitOfWorkFactory, college: Organisation, amelia: Learner
) -> None:
    """A late version 1 after version 2 is refused stale_version and the entry keeps version 2's end date."""
    ref = fresh_ref("E")
    await publish(hub_db, college, amelia.uln, ref, version=2, **FINISHED)
    item = await publish(hub_db, college, amelia.uln, ref, version=1)
    assert item == rejected(
        ref, "stale_version", f"version 1 of {ref} is not newer than the recorded version 2: not applied"
    )
    entry = entry_of(hub_db, college, EventKind.PARTICIPATION, ref)
    assert (entry.version, entry.fields) == (2, KEPT | FINISHED)
    assert len(published(hub_db, PARTICIPATION)) == 1


async def test_republish_of_the_same_version_is_a_duplicate(
    hub_db: FakeUnitOfWorkFactory, college: Organisation, amelia: Learner
) -> None:
    """The same enrolment published twice is recorded once; the second is refused duplicate."""
    ref = fresh_ref("E")
    await publish(hub_db, college, amelia.uln, ref)
    item = await publish(hub_db, college, amelia.uln, ref)
    assert item == rejected(ref, "duplicate", f"version 1 of {ref} is already recorded")
    assert len(published(hub_db, PARTICIPATION)) == 1


async def test_two_providers_may_use_the_same_enrolment_id(hub_db: FakeUnitOfWorkFactory, amelia: Learner) -> None:
    """Enrolment ids are each provider's own: the same one from two providers makes two entries."""
    first, second = hub_db.add_organisation(provider()), hub_db.add_organisation(provider())
    ref = fresh_ref("E")
    outcomes = [(await publish(hub_db, college, amelia.uln, ref)).outcome for college in (first, second)]
    assert outcomes == ["recorded", "recorded"]
    assert len(hub_db.state.events) == 2


async def test_linked_uln_is_recorded_against_its_master(
    hub_db: FakeUnitOfWorkFactory, college: Organisation, amelia: Learner
) -> None:
    """An enrolment for a linked ULN goes into the master's PLR, and the provider is linked to the master."""
    linked = hub_db.add_learner(Learner(fresh_uln(), details(), status=LearnerStatus.LINKED, master_uln=amelia.uln))
    ref = fresh_ref("E")
    item = await publish(hub_db, college, linked.uln, ref)
    assert (item.response_code, item.uln) == (ResponseCode.LINKED_LEARNER, amelia.uln)
    assert entry_of(hub_db, college, EventKind.PARTICIPATION, ref).uln == amelia.uln
    assert (amelia.uln, college.org_id) in hub_db.state.provider_links


# --- refused --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("dates", "name"),
    [
        ({"start_date": None, "planned_end_date": "2099-07-31"}, "start_date"),  # start tomorrow
        ({"start_date": "2007-07-31", "planned_end_date": "2008-07-31"}, "start_date"),
        ({"actual_end_date": None}, "actual_end_date"),  # ended tomorrow
    ],
)
async def test_dates_outside_the_plr_are_refused(
    hub_db: FakeUnitOfWorkFactory, college: Organisation, amelia: Learner, dates: dict[str, Any], name: str
) -> None:
    """A start or actual end date in the future, or a start before 1 August 2007, is refused date_out_of_range."""
    tomorrow = (hub_today() + timedelta(days=1)).isoformat()
    dates = {k: v or tomorrow for k, v in dates.items()}
    ref = fresh_ref("E")
    item = await publish(hub_db, college, amelia.uln, ref, **dates)
    value = dates[name]
    why = "is in the future" if value == tomorrow else "is before the PLR starts (2007/08, 2007-08-01)"
    assert item == rejected(ref, "date_out_of_range", f"{name} {value} {why}")
    assert (hub_db.state.events, published(hub_db)) == ({}, [])
    assert (amelia.uln, college.org_id) not in hub_db.state.provider_links


async def test_start_on_the_first_day_of_the_plr_and_a_future_planned_end_are_accepted(
    hub_db: FakeUnitOfWorkFactory, college: Organisation, amelia: Learner
) -> None:
    """A start on 1 August 2007 is accepted, and so is a planned end date still to come."""
    item = await publish(hub_db, college, amelia.uln, fresh_ref("E"), start_date="2007-08-01",
                         planned_end_date=(hub_today() + timedelta(days=300)).isoformat())  # fmt: skip
    assert item.outcome == "recorded"


async def test_start_today_is_accepted(hub_db: FakeUnitOfWorkFactory, college: Organisation, amelia: Learner) -> None:
    """An enrolment starting today is recorded."""
    today = hub_today()
    item = await publish(hub_db, college, amelia.uln, fresh_ref("E"), start_date=today.isoformat(),
                         planned_end_date=(today + timedelta(days=30)).isoformat())  # fmt: skip
    assert item.outcome == "recorded"


async def test_planned_end_before_start_is_refused_by_the_contract(
    hub_db: FakeUnitOfWorkFactory, college: Organisation, amelia: Learner
) -> None:
    """A planned end date before the start date is not a valid message: message.rejected.v1, nothing recorded."""
    body = enrolment_body(college, amelia.uln, fresh_ref("E"), start_date="2024-09-02", planned_end_date="2024-09-01")
    _, message = await send(hub_db, college, body, PUBLISH)
    rejection = MessageRejected(
        reason="invalid_contract",
        request_type=PUBLISH,
        errors=[RejectionError(loc="", message="Value error, planned_end_date is before start_date")],
    )
    assert hub_db.state.outbox == [
        OutboundMessage(
            OUTBOUND_EXCHANGE,
            college.org_id,
            MessageRejected.message_type,
            rejection.model_dump(mode="json"),
            message.message_id,
        )
    ]
    assert (hub_db.state.events, hub_db.state.provider_links) == ({}, {(amelia.uln, "10000001")})


async def test_actual_end_before_start_is_refused_by_the_contract(
    hub_db: FakeUnitOfWorkFactory, college: Organisation, amelia: Learner
) -> None:
    """An actual end date before the start date is refused as invalid_contract."""
    body = enrolment_body(college, amelia.uln, fresh_ref("E"), actual_end_date="2024-09-01")
    await send(hub_db, college, body, PUBLISH)
    assert last_rejection(hub_db, college).errors == [
        RejectionError(loc="", message="Value error, actual_end_date is before start_date")
    ]
    assert hub_db.state.events == {}


async def test_awarding_organisation_may_not_publish_enrolments(hub_db: FakeUnitOfWorkFactory, amelia: Learner) -> None:
    """An awarding organisation sending enrolment.publish.v1 is refused as sender_not_allowed."""
    awarding = hub_db.add_organisation(awarding_organisation())
    await send(hub_db, awarding, enrolment_body(awarding, amelia.uln, fresh_ref("E")), PUBLISH)
    [answer] = outbound_to(hub_db, awarding)
    assert MessageRejected.model_validate(answer.body) == MessageRejected(
        reason="sender_not_allowed",
        request_type=PUBLISH,
        errors=[
            RejectionError(
                loc="", message="an organisation of kind awarding_organisation may not send enrolment.publish.v1"
            )
        ],
    )
    assert (hub_db.state.events, hub_db.state.provider_links) == ({}, {(amelia.uln, "10000001")})


async def test_enrolment_claiming_another_providers_ukprn_is_a_sender_mismatch(
    hub_db: FakeUnitOfWorkFactory, college: Organisation, amelia: Learner
) -> None:
    """A body naming another provider's UKPRN is refused as sender_mismatch at ukprn."""
    other = provider()
    await send(hub_db, college, enrolment_body(other, amelia.uln, fresh_ref("E")), PUBLISH)
    rejection = last_rejection(hub_db, college)
    assert (rejection.reason, [e.loc for e in rejection.errors]) == ("sender_mismatch", ["ukprn"])
    assert hub_db.state.events == {}


async def test_unknown_uln_is_refused_and_links_nobody(hub_db: FakeUnitOfWorkFactory, college: Organisation) -> None:
    """An enrolment for a ULN nobody has is refused not_verified, as wrong details are, and links no one."""
    nobody, ref = fresh_uln(), fresh_ref("E")
    item = await publish(hub_db, college, nobody, ref)
    assert item == rejected(ref, "not_verified", NOT_VERIFIED, response_code=ResponseCode.NOT_VERIFIED)
    assert (hub_db.state.events, hub_db.state.provider_links) == ({}, set())


async def test_learner_not_verifying_is_refused_and_not_linked(
    hub_db: FakeUnitOfWorkFactory, college: Organisation, amelia: Learner
) -> None:
    """An enrolment whose birth date does not fit the ULN is refused not_verified, not saying which field
    differed, and gives no link to the learner."""
    ref = fresh_ref("E")
    item = await publish(hub_db, college, amelia.uln, ref, date_of_birth="2008-04-21")
    assert item == rejected(ref, "not_verified", NOT_VERIFIED, response_code=ResponseCode.NOT_VERIFIED)
    assert hub_db.state.provider_links == {(amelia.uln, "10000001")}


async def test_republishing_keeps_one_link_to_the_learner(
    hub_db: FakeUnitOfWorkFactory, college: Organisation, amelia: Learner
) -> None:
    """Publishing an enrolment again, stale or newer, leaves the provider with its one link to the learner."""
    ref = fresh_ref("E")
    await publish(hub_db, college, amelia.uln, ref, version=2)
    await publish(hub_db, college, amelia.uln, ref, version=1)
    await publish(hub_db, college, amelia.uln, ref, version=3, **FINISHED)
    assert hub_db.state.provider_links == {(amelia.uln, "10000001"), (amelia.uln, college.org_id)}
    assert entry_of(hub_db, college, EventKind.PARTICIPATION, ref).version == 3
