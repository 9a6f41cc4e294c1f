"""Challenges (hub.records.challenges, hub.records.plr): a learner disputes a PLR entry; its sender amends,
withdraws or confirms."""

import itertools
import uuid
from typing import Any

import pytest

from contracts.base import Contract
from contracts.codes import OrganisationKind
from contracts.learner import MessageRejected
from contracts.plr import (
    ChallengeAnswer,
    ChallengeLearningEvent,
    ChallengeNotice,
    ChallengeOutcome,
    ChallengeRaised,
    ChallengeResolved,
    ConfirmLearningEvent,
    ItemOutcome,
    LearningEventOutcomes,
)
from hub.kernel.model import Challenge, ChallengeStatus, EventKind, Learner, LearnerStatus, Organisation
from hub.kernel.ports import OutboundMessage
from hub.pipeline.routing import EVENTS_EXCHANGE, OUTBOUND_EXCHANGE

from .builders import awarding_organisation, details, fresh_uln, learner, provider
from .fakes import FakeUnitOfWorkFactory
from .plr_builders import (
    AMEND,
    PUBLISH,
    SUBMIT,
    WITHDRAW,
    amend_body,
    audited,
    enrolment_body,
    entry_of,
    fresh_ref,
    last_receipt,
    last_rejection,
    outbound_to,
    published,
    send,
    submit_body,
    withdraw_body,
)

CHALLENGE = ChallengeLearningEvent.message_type
CONFIRM = ConfirmLearningEvent.message_type
REASON = "I sat this exam in 2024 and was awarded an 8, not a 7"

_portal_ids = itertools.count(1)


def learner_portal() -> Organisation:
    """The learner-facing front end, which raises challenges for the learners it authenticated."""
    return Organisation(f"portal-{next(_portal_ids)}", OrganisationKind.LEARNER_PORTAL, "Learner portal")


@pytest.fixture
def portal(hub_db: FakeUnitOfWorkFactory) -> Organisation:
    return hub_db.add_organisation(learner_portal())


@pytest.fixture
def awarding(hub_db: FakeUnitOfWorkFactory) -> Organisation:
    return hub_db.add_organisation(awarding_organisation())


@pytest.fixture
def amelia(hub_db: FakeUnitOfWorkFactory) -> Learner:
    return hub_db.add_learner(learner())


async def achievement(hub_db: FakeUnitOfWorkFactory, awarding: Organisation, uln: str) -> tuple[str, str]:
    """Have `awarding` record a GCSE for `uln`; return the entry's event_id and result id."""
    ref = fresh_ref()
    await send(hub_db, awarding, submit_body(uln, ref), SUBMIT)
    [item] = last_receipt(hub_db, awarding).items
    assert item.event_id is not None
    return item.event_id, ref


async def challenge(
    hub_db: FakeUnitOfWorkFactory, portal: Organisation, uln: str, event_id: str, reason: str = REASON
) -> ChallengeAnswer:
    """The portal challenges an entry for the learner of `uln`; return the answer it got."""
    await send(hub_db, portal, {"uln": uln, "event_id": event_id, "reason": reason}, CHALLENGE)
    [*_, last] = outbound_to(hub_db, portal)
    assert last.message_type == ChallengeAnswer.message_type
    return ChallengeAnswer.model_validate(last.body)


async def confirm(hub_db: FakeUnitOfWorkFactory, sender: Organisation, challenge_id: str, **kw: Any) -> ItemOutcome:
    """`sender` confirms a challenged entry; return the one item of its receipt."""
    await send(hub_db, sender, {"challenge_id": challenge_id, **kw}, CONFIRM)
    receipt = last_receipt(hub_db, sender)
    assert receipt.request_type == CONFIRM
    [item] = receipt.items
    return item


def to(org: Organisation, message: Contract, correlation_id: str) -> OutboundMessage:
    """`message` as queued for `org` on lrs.outbound."""
    return OutboundMessage(
        OUTBOUND_EXCHANGE, org.org_id, message.message_type, message.model_dump(mode="json"), correlation_id
    )


def messages_of_type(hub_db: FakeUnitOfWorkFactory, message_type: str) -> list[OutboundMessage]:
    return [m for m in hub_db.state.outbox if m.message_type == message_type]


def outcomes_to(hub_db: FakeUnitOfWorkFactory, portal: Organisation) -> list[ChallengeOutcome]:
    return [
        ChallengeOutcome.model_validate(m.body)
        for m in outbound_to(hub_db, portal)
        if m.message_type == ChallengeOutcome.message_type
    ]


def resolved_events(hub_db: FakeUnitOfWorkFactory) -> list[ChallengeResolved]:
    return [ChallengeResolved.model_validate(m.body) for m in published(hub_db, ChallengeResolved.message_type)]


# --- raising a challenge ----------------------------------------------------------------------


async def test_challenge_marks_the_entry_and_tells_the_sender_and_the_portal(
    hub_db: FakeUnitOfWorkFactory, portal: Organisation, awarding: Organisation, amelia: Learner
) -> None:
    """The entry goes under challenge; the portal is answered, the AO that sent it noticed, the hub told."""
    event_id, ref = await achievement(hub_db, awarding, amelia.uln)
    _, message = await send(hub_db, portal, {"uln": amelia.uln, "event_id": event_id, "reason": REASON}, CHALLENGE)
    [stored] = hub_db.state.challenges.values()
    assert stored == Challenge(stored.challenge_id, event_id, amelia.uln, portal.org_id, REASON, stored.raised_at)
    assert hub_db.state.events[event_id].under_challenge is True

    answer = ChallengeAnswer(
        uln=amelia.uln, event_id=event_id, outcome="under_challenge", challenge_id=stored.challenge_id
    )
    notice = ChallengeNotice(
        challenge_id=stored.challenge_id, event_id=event_id, kind="achievement", source_ref=ref, uln=amelia.uln,
        reason=REASON, raised_at=stored.raised_at,
    )  # fmt: skip
    raised = ChallengeRaised(
        challenge_id=stored.challenge_id, event_id=event_id, uln=amelia.uln, source_org=awarding.org_id
    )
    submitted = len(hub_db.state.outbox) - 3  # the submission's receipt and event came first
    assert hub_db.state.outbox[submitted:] == [
        to(portal, answer, message.message_id),
        to(awarding, notice, message.message_id),
        OutboundMessage(EVENTS_EXCHANGE, raised.message_type, raised.message_type, raised.model_dump(mode="json")),
    ]
    assert [(e.recipient, e.uln, e.purpose, e.decision) for e in audited(hub_db, "plr.challenge_answer")] == [
        (portal.org_id, amelia.uln, "challenge", "allowed")
    ]
    assert [(e.recipient, e.uln, e.decision) for e in audited(hub_db, "plr.challenge_notice")] == [
        (awarding.org_id, amelia.uln, "allowed")
    ]


async def test_challenge_notice_goes_to_nobody_but_the_sender_of_the_entry(
    hub_db: FakeUnitOfWorkFactory, portal: Organisation, awarding: Organisation, amelia: Learner
) -> None:
    """Another AO with its own entry in the same PLR, and the learner's provider, hear nothing of the challenge."""
    other = hub_db.add_organisation(awarding_organisation())
    college = hub_db.add_organisation(provider())
    await achievement(hub_db, other, amelia.uln)
    await send(hub_db, college, enrolment_body(college, amelia.uln, fresh_ref("E")), PUBLISH)
    event_id, _ = await achievement(hub_db, awarding, amelia.uln)
    others_before = outbound_to(hub_db, other) + outbound_to(hub_db, college)
    await challenge(hub_db, portal, amelia.uln, event_id)
    assert outbound_to(hub_db, other) + outbound_to(hub_db, college) == others_before
    [notice] = messages_of_type(hub_db, ChallengeNotice.message_type)
    assert notice.routing_key == awarding.org_id


async def test_challenging_again_is_already_under_challenge(
    hub_db: FakeUnitOfWorkFactory, portal: Organisation, awarding: Organisation, amelia: Learner
) -> None:
    """A second challenge of an entry under challenge names the open one; no new challenge, notice or event."""
    event_id, _ = await achievement(hub_db, awarding, amelia.uln)
    first = await challenge(hub_db, portal, amelia.uln, event_id)
    again = await challenge(hub_db, portal, amelia.uln, event_id, reason="still wrong")
    assert again == ChallengeAnswer(
        uln=amelia.uln, event_id=event_id, outcome="already_under_challenge", challenge_id=first.challenge_id
    )
    assert list(hub_db.state.challenges) == [first.challenge_id]
    assert len(messages_of_type(hub_db, ChallengeNotice.message_type)) == 1
    assert len(published(hub_db, ChallengeRaised.message_type)) == 1


async def test_challenging_another_learners_entry_is_unknown_event(
    hub_db: FakeUnitOfWorkFactory, portal: Organisation, awarding: Organisation, amelia: Learner
) -> None:
    """Grace's portal naming Amelia's entry learns nothing of it: unknown_event, and nobody is noticed."""
    grace = hub_db.add_learner(learner(given_name="Grace"))
    event_id, _ = await achievement(hub_db, awarding, amelia.uln)
    answer = await challenge(hub_db, portal, grace.uln, event_id)
    assert answer == ChallengeAnswer(uln=grace.uln, event_id=event_id, outcome="unknown_event")
    assert hub_db.state.events[event_id].under_challenge is False
    assert (hub_db.state.challenges, messages_of_type(hub_db, ChallengeNotice.message_type)) == ({}, [])
    assert published(hub_db, ChallengeRaised.message_type) == []


async def test_challenging_a_withdrawn_entry_is_refused_as_withdrawn_event(
    hub_db: FakeUnitOfWorkFactory, portal: Organisation, awarding: Organisation, amelia: Learner
) -> None:
    """A withdrawn entry cannot be challenged: withdrawn_event with the reason; no challenge, notice or event."""
    event_id, ref = await achievement(hub_db, awarding, amelia.uln)
    await send(hub_db, awarding, withdraw_body(ref, 2), WITHDRAW)
    answer = await challenge(hub_db, portal, amelia.uln, event_id)
    assert answer == ChallengeAnswer(
        uln=amelia.uln,
        event_id=event_id,
        outcome="withdrawn_event",
        description="the entry was withdrawn by the organisation that sent it: there is nothing left to challenge",
    )
    assert (hub_db.state.events[event_id].withdrawn, hub_db.state.events[event_id].under_challenge) == (True, False)
    assert (hub_db.state.challenges, messages_of_type(hub_db, ChallengeNotice.message_type)) == ({}, [])
    assert published(hub_db, ChallengeRaised.message_type) == []


async def test_challenging_an_entry_that_does_not_exist_is_unknown_event(
    hub_db: FakeUnitOfWorkFactory, portal: Organisation, amelia: Learner
) -> None:
    """An event_id the PLR does not hold is answered unknown_event."""
    event_id = str(uuid.uuid4())
    answer = await challenge(hub_db, portal, amelia.uln, event_id)
    assert answer == ChallengeAnswer(uln=amelia.uln, event_id=event_id, outcome="unknown_event")
    assert hub_db.state.challenges == {}


async def test_entry_of_the_master_can_be_challenged_through_a_linked_uln(
    hub_db: FakeUnitOfWorkFactory, portal: Organisation, awarding: Organisation, amelia: Learner
) -> None:
    """A learner known to the portal by a linked ULN may challenge an entry recorded against the master."""
    linked = hub_db.add_learner(Learner(fresh_uln(), details(), status=LearnerStatus.LINKED, master_uln=amelia.uln))
    event_id, _ = await achievement(hub_db, awarding, amelia.uln)
    answer = await challenge(hub_db, portal, linked.uln, event_id)
    assert (answer.outcome, hub_db.state.events[event_id].under_challenge) == ("under_challenge", True)


@pytest.mark.parametrize("kind", [OrganisationKind.AWARDING_ORGANISATION, OrganisationKind.PROVIDER])
async def test_only_the_portal_may_raise_a_challenge(
    hub_db: FakeUnitOfWorkFactory, awarding: Organisation, amelia: Learner, kind: OrganisationKind
) -> None:
    """An AO or a provider sending plr.challenge.v1 is refused as sender_not_allowed."""
    event_id, _ = await achievement(hub_db, awarding, amelia.uln)
    sender = hub_db.add_organisation(awarding_organisation() if kind == OrganisationKind.AWARDING_ORGANISATION
                                     else provider())  # fmt: skip
    await send(hub_db, sender, {"uln": amelia.uln, "event_id": event_id, "reason": REASON}, CHALLENGE)
    assert last_rejection(hub_db, sender).reason == "sender_not_allowed"
    assert hub_db.state.events[event_id].under_challenge is False


# --- resolving it ---------------------------------------------------------------------------


async def test_amendment_resolves_the_challenge(
    hub_db: FakeUnitOfWorkFactory, portal: Organisation, awarding: Organisation, amelia: Learner
) -> None:
    """The AO's re-mark resolves the challenge as amended: the hub is told and the portal hears the outcome."""
    event_id, ref = await achievement(hub_db, awarding, amelia.uln)
    raised = await challenge(hub_db, portal, amelia.uln, event_id)
    assert raised.challenge_id is not None
    await send(hub_db, awarding, amend_body(amelia.uln, ref, 2, grade="8"), AMEND)
    entry = hub_db.state.events[event_id]
    assert (entry.under_challenge, entry.fields["grade"]) == (False, "8")
    stored = hub_db.state.challenges[raised.challenge_id]
    assert (stored.status, stored.resolution, stored.resolved_at is not None) == (
        ChallengeStatus.RESOLVED,
        "amended",
        True,
    )
    assert resolved_events(hub_db) == [
        ChallengeResolved(challenge_id=raised.challenge_id, event_id=event_id, uln=amelia.uln, resolution="amended")
    ]
    assert outcomes_to(hub_db, portal) == [
        ChallengeOutcome(challenge_id=raised.challenge_id, event_id=event_id, uln=amelia.uln, resolution="amended")
    ]
    # The outcome goes to the portal that raised it, and nowhere else.
    assert [m.routing_key for m in messages_of_type(hub_db, ChallengeOutcome.message_type)] == [portal.org_id]
    assert [(e.recipient, e.decision) for e in audited(hub_db, "plr.challenge_outcome")] == [(portal.org_id, "allowed")]
    assert last_receipt(hub_db, awarding).items[0].outcome == "amended"


async def test_withdrawal_resolves_the_challenge_as_withdrawn(
    hub_db: FakeUnitOfWorkFactory, portal: Organisation, awarding: Organisation, amelia: Learner
) -> None:
    """The AO withdrawing the challenged entry resolves the challenge as withdrawn."""
    event_id, ref = await achievement(hub_db, awarding, amelia.uln)
    raised = await challenge(hub_db, portal, amelia.uln, event_id)
    await send(hub_db, awarding, withdraw_body(ref, 2), WITHDRAW)
    entry = hub_db.state.events[event_id]
    assert (entry.withdrawn, entry.under_challenge) == (True, False)
    assert [(o.challenge_id, o.resolution) for o in outcomes_to(hub_db, portal)] == [(raised.challenge_id, "withdrawn")]
    assert [e.resolution for e in resolved_events(hub_db)] == ["withdrawn"]


async def test_stale_amendment_does_not_resolve_the_challenge(
    hub_db: FakeUnitOfWorkFactory, portal: Organisation, awarding: Organisation, amelia: Learner
) -> None:
    """An amendment refused as stale changes nothing, so the challenge stays open."""
    event_id, ref = await achievement(hub_db, awarding, amelia.uln)
    await send(hub_db, awarding, amend_body(amelia.uln, ref, 3, grade="8"), AMEND)
    raised = await challenge(hub_db, portal, amelia.uln, event_id)
    assert raised.challenge_id is not None
    await send(hub_db, awarding, amend_body(amelia.uln, ref, 2, grade="9"), AMEND)
    assert last_receipt(hub_db, awarding).items[0].reason == "stale_version"
    assert hub_db.state.events[event_id].under_challenge is True
    assert hub_db.state.challenges[raised.challenge_id].status == ChallengeStatus.OPEN
    assert (outcomes_to(hub_db, portal), resolved_events(hub_db)) == ([], [])


async def test_confirmation_resolves_the_challenge_as_confirmed(
    hub_db: FakeUnitOfWorkFactory, portal: Organisation, awarding: Organisation, amelia: Learner
) -> None:
    """The AO standing by its entry resolves the challenge as confirmed, with its note passed to the portal."""
    event_id, _ = await achievement(hub_db, awarding, amelia.uln)
    raised = await challenge(hub_db, portal, amelia.uln, event_id)
    assert raised.challenge_id is not None
    item = await confirm(hub_db, awarding, raised.challenge_id, note="checked against the marked script")
    assert (item.action, item.ref, item.outcome, item.event_id, item.uln) == (
        "confirm",
        raised.challenge_id,
        "confirmed",
        event_id,
        amelia.uln,
    )
    assert last_receipt(hub_db, awarding) == LearningEventOutcomes(
        request_type=CONFIRM, applied=1, rejected=0, items=[item]
    )
    entry = hub_db.state.events[event_id]
    assert (entry.under_challenge, entry.version, entry.fields["grade"]) == (False, 1, "7")
    assert hub_db.state.challenges[raised.challenge_id].resolution == "confirmed"
    assert outcomes_to(hub_db, portal) == [
        ChallengeOutcome(
            challenge_id=raised.challenge_id, event_id=event_id, uln=amelia.uln, resolution="confirmed",
            note="checked against the marked script",
        )
    ]  # fmt: skip
    assert [e.resolution for e in resolved_events(hub_db)] == ["confirmed"]


async def test_another_ao_confirming_is_not_yours(
    hub_db: FakeUnitOfWorkFactory, portal: Organisation, awarding: Organisation, amelia: Learner
) -> None:
    """An AO confirming a challenge of an entry it did not send is refused not_yours; the challenge stays open."""
    other = hub_db.add_organisation(awarding_organisation())
    event_id, _ = await achievement(hub_db, awarding, amelia.uln)
    raised = await challenge(hub_db, portal, amelia.uln, event_id)
    assert raised.challenge_id is not None
    item = await confirm(hub_db, other, raised.challenge_id)
    assert item == ItemOutcome(
        index=0, action="confirm", ref=raised.challenge_id, outcome="rejected", reason="not_yours",
        description="that entry was sent by another organisation",
    )  # fmt: skip
    assert hub_db.state.challenges[raised.challenge_id].status == ChallengeStatus.OPEN
    assert hub_db.state.events[event_id].under_challenge is True
    assert (outcomes_to(hub_db, portal), resolved_events(hub_db)) == ([], [])


async def test_confirming_twice_is_a_duplicate(
    hub_db: FakeUnitOfWorkFactory, portal: Organisation, awarding: Organisation, amelia: Learner
) -> None:
    """A second confirmation of a resolved challenge is refused duplicate; the portal hears the outcome once."""
    event_id, _ = await achievement(hub_db, awarding, amelia.uln)
    raised = await challenge(hub_db, portal, amelia.uln, event_id)
    assert raised.challenge_id is not None
    await confirm(hub_db, awarding, raised.challenge_id)
    item = await confirm(hub_db, awarding, raised.challenge_id)
    assert item == ItemOutcome(
        index=0, action="confirm", ref=raised.challenge_id, outcome="rejected", reason="duplicate",
        description="already resolved (confirmed)",
    )  # fmt: skip
    assert len(outcomes_to(hub_db, portal)) == 1
    assert len(resolved_events(hub_db)) == 1


async def test_confirming_an_amended_challenge_is_a_duplicate(
    hub_db: FakeUnitOfWorkFactory, portal: Organisation, awarding: Organisation, amelia: Learner
) -> None:
    """Once an amendment resolved the challenge, confirming it too is refused duplicate."""
    event_id, ref = await achievement(hub_db, awarding, amelia.uln)
    raised = await challenge(hub_db, portal, amelia.uln, event_id)
    assert raised.challenge_id is not None
    await send(hub_db, awarding, amend_body(amelia.uln, ref, 2, grade="8"), AMEND)
    item = await confirm(hub_db, awarding, raised.challenge_id)
    assert (item.reason, item.description) == ("duplicate", "already resolved (amended)")


async def test_confirming_an_unknown_challenge_is_refused(
    hub_db: FakeUnitOfWorkFactory, awarding: Organisation
) -> None:
    """A challenge id the hub never issued is refused unknown_challenge."""
    challenge_id = str(uuid.uuid4())
    item = await confirm(hub_db, awarding, challenge_id)
    assert (item.outcome, item.reason, item.ref) == ("rejected", "unknown_challenge", challenge_id)


async def test_portal_may_not_confirm(
    hub_db: FakeUnitOfWorkFactory, portal: Organisation, awarding: Organisation, amelia: Learner
) -> None:
    """Only an organisation that sends entries may confirm one: the portal is refused sender_not_allowed."""
    event_id, _ = await achievement(hub_db, awarding, amelia.uln)
    raised = await challenge(hub_db, portal, amelia.uln, event_id)
    await send(hub_db, portal, {"challenge_id": raised.challenge_id}, CONFIRM)
    assert MessageRejected.model_validate(outbound_to(hub_db, portal)[-1].body).reason == "sender_not_allowed"
    assert hub_db.state.events[event_id].under_challenge is True


async def test_entry_can_be_challenged_again_after_resolution(
    hub_db: FakeUnitOfWorkFactory, portal: Organisation, awarding: Organisation, amelia: Learner
) -> None:
    """After a challenge is resolved, the learner may challenge the entry afresh: a new challenge is opened."""
    event_id, _ = await achievement(hub_db, awarding, amelia.uln)
    first = await challenge(hub_db, portal, amelia.uln, event_id)
    assert first.challenge_id is not None
    await confirm(hub_db, awarding, first.challenge_id)
    second = await challenge(hub_db, portal, amelia.uln, event_id)
    assert (second.outcome, second.challenge_id != first.challenge_id) == ("under_challenge", True)
    assert len(messages_of_type(hub_db, ChallengeNotice.message_type)) == 2


# --- a provider's participation entry -----------------------------------------------------------


async def test_participation_entry_is_challenged_and_resolved_by_republishing(
    hub_db: FakeUnitOfWorkFactory, portal: Organisation, college: Organisation, amelia: Learner
) -> None:
    """The provider is noticed of a challenge of its enrolment, and republishing it resolves the challenge."""
    ref = fresh_ref("E")
    await send(hub_db, college, enrolment_body(college, amelia.uln, ref), PUBLISH)
    event_id = entry_of(hub_db, college, EventKind.PARTICIPATION, ref).event_id
    raised = await challenge(hub_db, portal, amelia.uln, event_id, reason="I left in October")
    assert raised.challenge_id is not None
    [notice] = [m for m in outbound_to(hub_db, college) if m.message_type == ChallengeNotice.message_type]
    assert ChallengeNotice.model_validate(notice.body).model_dump(include={"kind", "source_ref", "event_id"}) == {
        "kind": "participation",
        "source_ref": ref,
        "event_id": event_id,
    }
    [raised_event] = published(hub_db, ChallengeRaised.message_type)
    assert raised_event.body["source_org"] == college.org_id

    body = enrolment_body(college, amelia.uln, ref, version=2, actual_end_date="2024-10-18", outcome=3)
    await send(hub_db, college, body, PUBLISH)
    entry = hub_db.state.events[event_id]
    assert (entry.under_challenge, entry.fields["actual_end_date"]) == (False, "2024-10-18")
    assert outcomes_to(hub_db, portal) == [
        ChallengeOutcome(challenge_id=raised.challenge_id, event_id=event_id, uln=amelia.uln, resolution="amended")
    ]
    assert resolved_events(hub_db) == [
        ChallengeResolved(challenge_id=raised.challenge_id, event_id=event_id, uln=amelia.uln, resolution="amended")
    ]


async def test_provider_confirms_its_participation_entry(
    hub_db: FakeUnitOfWorkFactory, portal: Organisation, college: Organisation, amelia: Learner
) -> None:
    """A provider may confirm a challenged enrolment of its own, resolving the challenge as confirmed."""
    ref = fresh_ref("E")
    await send(hub_db, college, enrolment_body(college, amelia.uln, ref), PUBLISH)
    event_id = entry_of(hub_db, college, EventKind.PARTICIPATION, ref).event_id
    raised = await challenge(hub_db, portal, amelia.uln, event_id)
    assert raised.challenge_id is not None
    item = await confirm(hub_db, college, raised.challenge_id)
    assert item.outcome == "confirmed"
    assert [o.resolution for o in outcomes_to(hub_db, portal)] == ["confirmed"]
