"""Learners' choices and reads through the learner portal (hub.sharing.consent): answers, recalls, previews, the log."""

import uuid
from datetime import UTC, datetime
from typing import Any

import pytest

from contracts.codes import AbilityToShare
from contracts.learner import MessageRejected, RejectionError
from contracts.sharing import (
    ConsentAnswer,
    ConsentView,
    DeliveredItem,
    DisclosureEntry,
    Disclosures,
    Nominate,
    OwnRecord,
    Preview,
    PreviewView,
    ReadDisclosures,
    ReadOwnRecord,
    SetRestrictedView,
    SetSharing,
    WithdrawNomination,
)
from hub.kernel.model import Learner, LearnerStatus, Organisation
from hub.kernel.ports import AuditEntry
from hub.pipeline.routing import OUTBOUND_EXCHANGE
from hub.records import plr
from hub.sharing.policy import Agreement, Consent, Feed, Scope

from .builders import awarding_organisation, details, fresh_uln, learner, provider
from .fakes import FakeUnitOfWorkFactory
from .plr_builders import audited, hub_today, last_rejection, outbound_to, send
from .sharing_builders import (
    PURPOSE,
    days,
    deliveries,
    learner_portal,
    maths_item,
    notices,
    offer,
    partner,
    recall_of,
    record_achievement,
    sharing_learner,
    stamp,
    subscribed,
    with_agreement,
)

SET_SHARING = SetSharing.message_type
RESTRICT = SetRestrictedView.message_type
NOMINATE = Nominate.message_type
WITHDRAW_NOMINATION = WithdrawNomination.message_type
READ_RECORD = ReadOwnRecord.message_type
PREVIEW = PreviewView.message_type
READ_DISCLOSURES = ReadDisclosures.message_type
AT = datetime(2026, 11, 29, 9, 0, tzinfo=UTC)


@pytest.fixture
def portal(hub_db: FakeUnitOfWorkFactory) -> Organisation:
    return hub_db.add_organisation(learner_portal())


@pytest.fixture
def awarding(hub_db: FakeUnitOfWorkFactory) -> Organisation:
    return hub_db.add_organisation(awarding_organisation())


@pytest.fixture
def university(hub_db: FakeUnitOfWorkFactory) -> Organisation:
    return hub_db.add_organisation(partner())


@pytest.fixture
def amelia(hub_db: FakeUnitOfWorkFactory) -> Learner:
    """Amelia, registered as having seen the privacy notice and able to share; she has not chosen anything yet."""
    return sharing_learner(hub_db)


async def choose(hub_db: FakeUnitOfWorkFactory, portal: Organisation, message_type: str, **body: Any) -> ConsentAnswer:
    """The portal sends a learner's choice; return the consent.answer.v1 it got back."""
    await send(hub_db, portal, body, message_type)
    [*_, last] = outbound_to(hub_db, portal)
    assert last.message_type == ConsentAnswer.message_type
    return ConsentAnswer.model_validate(last.body)


def consent_view(version: int, sharing: bool = True, **more: Any) -> ConsentView:
    fields: dict[str, Any] = {"restricted_event_ids": None, "basic_details_only": False, "nominations": {}}
    return ConsentView(version=version, sharing=sharing, **(fields | more))


async def delivered_maths(
    hub_db: FakeUnitOfWorkFactory, awarding: Organisation, university: Organisation, uln: str, **agreement: Any
) -> tuple[str, Agreement]:
    """Give `university` an agreement and the achievements feed, and deliver it a GCSE of `uln`'s."""
    dsa = with_agreement(hub_db, university, **agreement)
    subscribed(hub_db, university, Feed.ACHIEVEMENTS)
    recorded = await record_achievement(hub_db, awarding, uln)
    await offer(hub_db, recorded)
    [item] = recorded.items
    return item.event_id, dsa


# --- consent.set_sharing.v1 -------------------------------------------------------------------


async def test_opting_out_is_applied_as_a_new_version(
    hub_db: FakeUnitOfWorkFactory, portal: Organisation, amelia: Learner
) -> None:
    """Opting out of the registration's default (version 0, sharing) is applied and held as version 1."""
    answer = await choose(hub_db, portal, SET_SHARING, uln=amelia.uln, share=False)
    assert answer == ConsentAnswer(
        request_type=SET_SHARING, uln=amelia.uln, outcome="applied", consent=consent_view(1, sharing=False)
    )
    assert hub_db.state.consents == {amelia.uln: Consent(amelia.uln, version=1, sharing=False, chose_sharing=True)}


async def test_the_same_choice_again_is_unchanged(
    hub_db: FakeUnitOfWorkFactory, portal: Organisation, amelia: Learner
) -> None:
    """Opting out twice: the second is 'unchanged', and the version stays 1."""
    await choose(hub_db, portal, SET_SHARING, uln=amelia.uln, share=False)
    again = await choose(hub_db, portal, SET_SHARING, uln=amelia.uln, share=False)
    assert again == ConsentAnswer(
        request_type=SET_SHARING, uln=amelia.uln, outcome="unchanged", consent=consent_view(1, sharing=False)
    )
    assert hub_db.state.consents == {amelia.uln: Consent(amelia.uln, version=1, sharing=False, chose_sharing=True)}


async def test_opting_in_to_what_the_registration_allows_is_held_as_her_own_choice(
    hub_db: FakeUnitOfWorkFactory, portal: Organisation, amelia: Learner
) -> None:
    """A learner who shares by default opting in is applied as version 1: her choice, no longer the MIS's, decides."""
    answer = await choose(hub_db, portal, SET_SHARING, uln=amelia.uln, share=True, privacy_notice_seen=True)
    assert answer == ConsentAnswer(request_type=SET_SHARING, uln=amelia.uln, outcome="applied",
                                   consent=consent_view(1))  # fmt: skip
    assert hub_db.state.consents == {amelia.uln: Consent(amelia.uln, version=1, sharing=True, chose_sharing=True)}


async def test_opting_in_after_seeing_the_notice_shares(hub_db: FakeUnitOfWorkFactory, portal: Organisation) -> None:
    """A learner registered as not having seen the notice opts in, notice seen: sharing, version 1."""
    grace = hub_db.add_learner(learner(ability_to_share=AbilityToShare.NOTICE_NOT_SEEN))
    answer = await choose(hub_db, portal, SET_SHARING, uln=grace.uln, share=True, privacy_notice_seen=True)
    assert answer == ConsentAnswer(request_type=SET_SHARING, uln=grace.uln, outcome="applied",
                                   consent=consent_view(1))  # fmt: skip
    assert hub_db.state.consents == {grace.uln: Consent(grace.uln, version=1, sharing=True, chose_sharing=True)}


async def test_opting_in_without_the_privacy_notice_is_rejected_by_the_contract(
    hub_db: FakeUnitOfWorkFactory, portal: Organisation
) -> None:
    """share: true without privacy_notice_seen is not a valid message: rejected, nothing held."""
    grace = hub_db.add_learner(learner(ability_to_share=AbilityToShare.NOTICE_NOT_SEEN))
    handled, _ = await send(hub_db, portal, {"uln": grace.uln, "share": True}, SET_SHARING)
    assert last_rejection(hub_db, portal) == MessageRejected(
        reason="invalid_contract",
        request_type=SET_SHARING,
        errors=[RejectionError(loc="", message="Value error, opting in needs privacy_notice_seen: true")],
    )
    assert handled.dead_letter_reason is not None
    assert hub_db.state.consents == {}
    assert [m.message_type for m in outbound_to(hub_db, portal)] == [MessageRejected.message_type]


async def test_a_choice_for_an_unknown_uln_is_refused(hub_db: FakeUnitOfWorkFactory, portal: Organisation) -> None:
    """Nobody has the ULN: refused with the reason, no consent shown or saved."""
    nobody = fresh_uln()
    answer = await choose(hub_db, portal, SET_SHARING, uln=nobody, share=False)
    assert answer == ConsentAnswer(
        request_type=SET_SHARING, uln=nobody, outcome="refused", reason=f"no learner has ULN {nobody}"
    )
    assert hub_db.state.consents == {}


async def test_choices_for_a_linked_uln_are_held_under_the_master(
    hub_db: FakeUnitOfWorkFactory, portal: Organisation, amelia: Learner
) -> None:
    """Choosing through a merged-away ULN changes the master's consent; the answer names the master."""
    linked = hub_db.add_learner(Learner(fresh_uln(), details(), status=LearnerStatus.LINKED, master_uln=amelia.uln))
    answer = await choose(hub_db, portal, SET_SHARING, uln=linked.uln, share=False)
    assert answer == ConsentAnswer(
        request_type=SET_SHARING, uln=amelia.uln, outcome="applied", consent=consent_view(1, sharing=False)
    )
    assert hub_db.state.consents == {amelia.uln: Consent(amelia.uln, version=1, sharing=False, chose_sharing=True)}


async def test_the_answer_is_audited_as_learner_access(
    hub_db: FakeUnitOfWorkFactory, portal: Organisation, amelia: Learner
) -> None:
    """The portal's answer about the learner is an audited disclosure to the portal, for learner access."""
    _, message = await send(hub_db, portal, {"uln": amelia.uln, "share": False}, SET_SHARING)
    [entry] = audited(hub_db, "consent.answer")
    assert entry == AuditEntry(
        entry.at, portal.org_id, amelia.uln, "consent.answer", "learner_access", "allowed", "",
        tuple(ConsentAnswer.model_fields), message.message_id,
    )  # fmt: skip


# --- consent.set_restricted_view.v1 -----------------------------------------------------------


async def test_a_restricted_view_is_held_sorted(
    hub_db: FakeUnitOfWorkFactory, portal: Organisation, amelia: Learner
) -> None:
    """The events of the view are held as a set and shown sorted; the version rises."""
    first, second = sorted(str(uuid.uuid4()) for _ in range(2))
    answer = await choose(hub_db, portal, RESTRICT, uln=amelia.uln, event_ids=[second, first])
    assert answer == ConsentAnswer(request_type=RESTRICT, uln=amelia.uln, outcome="applied",
                                   consent=consent_view(1, restricted_event_ids=[first, second]))  # fmt: skip
    assert hub_db.state.consents[amelia.uln] == Consent(
        amelia.uln, 1, sharing=True, restricted=frozenset({first, second})
    )


async def test_basic_details_only_then_everything_again(
    hub_db: FakeUnitOfWorkFactory, portal: Organisation, amelia: Learner
) -> None:
    """Basic details only is version 1; the full view (null, not basic) is version 2; the same again is unchanged."""
    basic = await choose(hub_db, portal, RESTRICT, uln=amelia.uln, basic_details_only=True)
    full = await choose(hub_db, portal, RESTRICT, uln=amelia.uln, event_ids=None)
    again = await choose(hub_db, portal, RESTRICT, uln=amelia.uln)
    assert [(a.outcome, a.consent) for a in (basic, full, again)] == [
        ("applied", consent_view(1, basic_details_only=True)),
        ("applied", consent_view(2)),
        ("unchanged", consent_view(2)),
    ]


# --- consent.nominate.v1, consent.withdraw_nomination.v1 -----------------------------------------


async def test_a_nomination_through_today_is_applied(
    hub_db: FakeUnitOfWorkFactory, portal: Organisation, amelia: Learner, university: Organisation
) -> None:
    """A nomination may end today (the last day it holds)."""
    today = hub_today()
    answer = await choose(hub_db, portal, NOMINATE, uln=amelia.uln, org_id=university.org_id, until=today.isoformat())
    assert answer == ConsentAnswer(request_type=NOMINATE, uln=amelia.uln, outcome="applied",
                                   consent=consent_view(1, nominations={university.org_id: today}))  # fmt: skip
    assert hub_db.state.consents[amelia.uln].nominations == {university.org_id: today}


async def test_nominating_an_unknown_organisation_is_refused(
    hub_db: FakeUnitOfWorkFactory, portal: Organisation, amelia: Learner
) -> None:
    """The organisation must be in the register: refused, the consent unchanged at version 0."""
    answer = await choose(hub_db, portal, NOMINATE, uln=amelia.uln, org_id="29999999", until=days(30).isoformat())
    assert answer == ConsentAnswer(request_type=NOMINATE, uln=amelia.uln, outcome="refused",
                                   reason="no organisation 29999999", consent=consent_view(0))  # fmt: skip
    assert hub_db.state.consents == {}


async def test_a_nomination_ending_in_the_past_is_refused(
    hub_db: FakeUnitOfWorkFactory, portal: Organisation, amelia: Learner, university: Organisation
) -> None:
    """`until` yesterday is refused."""
    answer = await choose(hub_db, portal, NOMINATE, uln=amelia.uln, org_id=university.org_id,
                          until=days(-1).isoformat())  # fmt: skip
    assert answer == ConsentAnswer(request_type=NOMINATE, uln=amelia.uln, outcome="refused",
                                   reason="a nomination cannot end in the past", consent=consent_view(0))  # fmt: skip
    assert hub_db.state.consents == {}


async def test_withdrawing_a_nomination_removes_only_that_one(
    hub_db: FakeUnitOfWorkFactory, portal: Organisation, amelia: Learner, university: Organisation
) -> None:
    """Two nominations, one withdrawn: the other stays; withdrawing it again is unchanged."""
    employer = hub_db.add_organisation(partner("Northgate Engineering"))
    for org in (university, employer):
        await choose(hub_db, portal, NOMINATE, uln=amelia.uln, org_id=org.org_id, until=days(30).isoformat())
    withdrawn = await choose(hub_db, portal, WITHDRAW_NOMINATION, uln=amelia.uln, org_id=university.org_id)
    again = await choose(hub_db, portal, WITHDRAW_NOMINATION, uln=amelia.uln, org_id=university.org_id)
    left = {employer.org_id: days(30)}
    assert (withdrawn, again) == (
        ConsentAnswer(request_type=WITHDRAW_NOMINATION, uln=amelia.uln, outcome="applied",
                      consent=consent_view(3, nominations=left)),
        ConsentAnswer(request_type=WITHDRAW_NOMINATION, uln=amelia.uln, outcome="unchanged",
                      consent=consent_view(3, nominations=left)),
    )  # fmt: skip


# --- every change recalls what partners may no longer hold -------------------------------------


@pytest.mark.parametrize(
    ("message_type", "choice", "reason"),
    [
        (SET_SHARING, {"share": False}, "the learner does not share their record"),
        (RESTRICT, {"event_ids": [str(uuid.uuid4())]}, "the entry is not in the learner's restricted view"),
        (RESTRICT, {"basic_details_only": True}, "the learner shares basic details only"),
    ],
    ids=["opt out", "restricted view without it", "basic details only"],
)
async def test_a_change_recalls_what_the_partner_may_no_longer_hold(
    hub_db: FakeUnitOfWorkFactory, portal: Organisation, awarding: Organisation, university: Organisation,
    amelia: Learner, message_type: str, choice: dict[str, Any], reason: str,
) -> None:  # fmt: skip
    """The partner holding the GCSE is told to delete it, no longer holds it, and the recall is audited."""
    event_id, _ = await delivered_maths(hub_db, awarding, university, amelia.uln)
    assert list(hub_db.state.held) == [(university.org_id, amelia.uln, event_id)]
    answer = await choose(hub_db, portal, message_type, uln=amelia.uln, **choice)
    assert answer.outcome == "applied"
    [sent] = notices(hub_db, university)
    assert sent == recall_of(sent, amelia.uln, [event_id], reason)
    assert hub_db.state.held == {}
    [entry] = audited(hub_db, f"notice.recall:{event_id}")
    assert entry == AuditEntry(entry.at, university.org_id, amelia.uln, f"notice.recall:{event_id}", "recall",
                               "allowed", reason, (), None)  # fmt: skip
    assert hub_db.state.notices[sent.notice_id].keys == (event_id,)


async def test_withdrawing_the_nomination_recalls_under_a_nominated_agreement(
    hub_db: FakeUnitOfWorkFactory, portal: Organisation, awarding: Organisation, university: Organisation,
    amelia: Learner,
) -> None:  # fmt: skip
    """An agreement reaching only nominating learners: withdrawing the nomination recalls what was delivered."""
    await choose(hub_db, portal, NOMINATE, uln=amelia.uln, org_id=university.org_id, until=days(30).isoformat())
    event_id, dsa = await delivered_maths(hub_db, awarding, university, amelia.uln, scope=Scope.NOMINATED)
    assert deliveries(hub_db, university)[0].items == [maths_item(event_id, amelia.uln, dsa, consent_version=1)]
    await choose(hub_db, portal, WITHDRAW_NOMINATION, uln=amelia.uln, org_id=university.org_id)
    [sent] = notices(hub_db, university)
    reason = "the learner has not nominated this organisation, or the nomination ended"
    assert sent == recall_of(sent, amelia.uln, [event_id], reason)
    assert hub_db.state.held == {}
    assert [(e.uln, e.reason) for e in audited(hub_db, f"notice.recall:{event_id}")] == [(amelia.uln, reason)]


async def test_a_change_that_still_allows_it_recalls_nothing(
    hub_db: FakeUnitOfWorkFactory, portal: Organisation, awarding: Organisation, university: Organisation,
    amelia: Learner,
) -> None:  # fmt: skip
    """A restricted view that lists the delivered GCSE leaves the partner holding it: no notice."""
    event_id, _ = await delivered_maths(hub_db, awarding, university, amelia.uln)
    held = dict(hub_db.state.held)
    answer = await choose(hub_db, portal, RESTRICT, uln=amelia.uln, event_ids=[event_id])
    assert answer.outcome == "applied"
    assert notices(hub_db, university) == []
    assert hub_db.state.held == held


async def test_a_change_through_a_linked_uln_recalls_from_the_master(
    hub_db: FakeUnitOfWorkFactory, portal: Organisation, awarding: Organisation, university: Organisation,
    amelia: Learner,
) -> None:  # fmt: skip
    """Opting out by the linked ULN recalls what the partner holds under the master."""
    linked = hub_db.add_learner(Learner(fresh_uln(), details(), status=LearnerStatus.LINKED, master_uln=amelia.uln))
    event_id, _ = await delivered_maths(hub_db, awarding, university, amelia.uln)
    await choose(hub_db, portal, SET_SHARING, uln=linked.uln, share=False)
    [sent] = notices(hub_db, university)
    assert sent == recall_of(sent, amelia.uln, [event_id], "the learner does not share their record")
    assert hub_db.state.held == {}


# --- learner.read_record.v1 -------------------------------------------------------------------


async def read(hub_db: FakeUnitOfWorkFactory, portal: Organisation, message_type: str, contract: type[Any],
               **body: Any) -> Any:  # fmt: skip
    await send(hub_db, portal, body, message_type)
    [*_, last] = outbound_to(hub_db, portal)
    assert last.message_type == contract.message_type
    return contract.model_validate(last.body)


async def test_the_learner_reads_their_full_record_with_their_choices(
    hub_db: FakeUnitOfWorkFactory, portal: Organisation, awarding: Organisation, amelia: Learner
) -> None:
    """Register details, every PLR entry, and the consent held: all of it, to the learner."""
    await record_achievement(hub_db, awarding, amelia.uln)
    await choose(hub_db, portal, RESTRICT, uln=amelia.uln, basic_details_only=True)
    record = await read(hub_db, portal, READ_RECORD, OwnRecord, uln=amelia.uln)
    [entry] = hub_db.state.events.values()
    assert record == OwnRecord(
        uln=amelia.uln, found=True, details=amelia.details.model_dump(mode="json", exclude_none=True),
        events=[plr.view(entry)], consent=consent_view(1, basic_details_only=True),
    )  # fmt: skip


async def test_reading_an_unknown_record_finds_nothing(hub_db: FakeUnitOfWorkFactory, portal: Organisation) -> None:
    """No learner has the ULN: found false, nothing else."""
    nobody = fresh_uln()
    assert await read(hub_db, portal, READ_RECORD, OwnRecord, uln=nobody) == OwnRecord(uln=nobody, found=False)


# --- learner.preview.v1 -----------------------------------------------------------------------


async def test_the_preview_is_exactly_what_the_policy_would_deliver(
    hub_db: FakeUnitOfWorkFactory, portal: Organisation, awarding: Organisation, university: Organisation,
    amelia: Learner,
) -> None:  # fmt: skip
    """The GCSE in the restricted view and the agreed details are shown; the GCSE left out is refused, with why."""
    dsa = with_agreement(hub_db, university, feeds=frozenset({Feed.ACHIEVEMENTS, Feed.LEARNER_DETAILS}))
    shown = (await record_achievement(hub_db, awarding, amelia.uln)).items[0].event_id
    hidden = (await record_achievement(hub_db, awarding, amelia.uln, subject_code="601/8829/6")).items[0].event_id
    await choose(hub_db, portal, RESTRICT, uln=amelia.uln, event_ids=[shown])
    preview = await read(hub_db, portal, PREVIEW, Preview, uln=amelia.uln, org_id=university.org_id)
    details_item = DeliveredItem(
        feed="learner_details", fields={"uln": amelia.uln, "given_name": "Amelia", "family_name": "Okafor",
                                        "date_of_birth": "2008-04-12"}, stamp=stamp(dsa, 1),
    )  # fmt: skip
    assert preview == Preview(
        uln=amelia.uln, org_id=university.org_id,
        items=[maths_item(shown, amelia.uln, dsa, consent_version=1), details_item],
        refused={f"achievements:{hidden}": "the entry is not in the learner's restricted view"},
    )  # fmt: skip


async def test_the_preview_sends_the_partner_nothing(
    hub_db: FakeUnitOfWorkFactory, portal: Organisation, awarding: Organisation, university: Organisation,
    amelia: Learner,
) -> None:  # fmt: skip
    """A preview is for the learner: the partner gets nothing, holds nothing, and no decision names it."""
    with_agreement(hub_db, university)
    await record_achievement(hub_db, awarding, amelia.uln)
    await read(hub_db, portal, PREVIEW, Preview, uln=amelia.uln, org_id=university.org_id)
    assert (outbound_to(hub_db, university), hub_db.state.held) == ([], {})
    assert [e for e in hub_db.state.audit if e.recipient == university.org_id] == []


async def test_the_preview_explains_a_learner_who_does_not_share(
    hub_db: FakeUnitOfWorkFactory, portal: Organisation, awarding: Organisation, university: Organisation,
    amelia: Learner,
) -> None:  # fmt: skip
    """Opted out: every entry and the details are refused, each with the reason."""
    with_agreement(hub_db, university)
    event_id = (await record_achievement(hub_db, awarding, amelia.uln)).items[0].event_id
    await choose(hub_db, portal, SET_SHARING, uln=amelia.uln, share=False)
    preview = await read(hub_db, portal, PREVIEW, Preview, uln=amelia.uln, org_id=university.org_id)
    why = "the learner does not share their record"
    assert preview == Preview(uln=amelia.uln, org_id=university.org_id,
                              refused={f"achievements:{event_id}": why, "learner_details:details": why})  # fmt: skip


async def test_the_preview_for_an_organisation_without_an_agreement_refuses_everything(
    hub_db: FakeUnitOfWorkFactory, portal: Organisation, awarding: Organisation, amelia: Learner
) -> None:
    """A provider (no agreement) would receive nothing: every item refused, saying why."""
    college = hub_db.add_organisation(provider())
    event_id = (await record_achievement(hub_db, awarding, amelia.uln)).items[0].event_id
    preview = await read(hub_db, portal, PREVIEW, Preview, uln=amelia.uln, org_id=college.org_id)
    why = "only active partners receive shared data"
    assert preview == Preview(uln=amelia.uln, org_id=college.org_id,
                              refused={f"achievements:{event_id}": why, "learner_details:details": why})  # fmt: skip


async def test_the_preview_for_an_unknown_organisation_says_so(
    hub_db: FakeUnitOfWorkFactory, portal: Organisation, amelia: Learner
) -> None:
    """An organisation not in the register: refused as a whole."""
    preview = await read(hub_db, portal, PREVIEW, Preview, uln=amelia.uln, org_id="29999999")
    assert preview == Preview(uln=amelia.uln, org_id="29999999", refused={"all": "no organisation 29999999"})


# --- learner.read_disclosures.v1 --------------------------------------------------------------


async def test_the_disclosure_log_names_agreement_and_consent_versions(
    hub_db: FakeUnitOfWorkFactory, portal: Organisation, awarding: Organisation, university: Organisation,
    amelia: Learner,
) -> None:  # fmt: skip
    """Every decision about the learner, oldest first; a partner's names the agreement and consent versions."""
    await choose(hub_db, portal, SET_SHARING, uln=amelia.uln, share=False)
    await choose(hub_db, portal, SET_SHARING, uln=amelia.uln, share=True, privacy_notice_seen=True)
    event_id, dsa = await delivered_maths(hub_db, awarding, university, amelia.uln)
    before = [e for e in hub_db.state.audit if e.uln == amelia.uln]
    log = await read(hub_db, portal, READ_DISCLOSURES, Disclosures, uln=amelia.uln)
    assert log.uln == amelia.uln
    assert [(e.at, e.recipient, e.what, e.decision) for e in log.entries] == [
        (e.at, e.recipient, e.what, e.decision) for e in before
    ]
    [feed_decision] = [e for e in log.entries if e.recipient == university.org_id]
    assert feed_decision == DisclosureEntry(
        at=feed_decision.at, recipient=university.org_id, what=f"feed.achievements:{event_id}", purpose=PURPOSE,
        decision="allowed", reason="", fields=["grade", "subject", "uln"], agreement_id=dsa.agreement_id,
        agreement_version=1, consent_version=2,
    )  # fmt: skip


async def test_the_disclosure_log_shows_refusals_too(
    hub_db: FakeUnitOfWorkFactory, portal: Organisation, awarding: Organisation, university: Organisation,
    amelia: Learner,
) -> None:  # fmt: skip
    """A refused offer is in the log with its reason and the versions it relied on."""
    await choose(hub_db, portal, SET_SHARING, uln=amelia.uln, share=False)
    event_id, dsa = await delivered_maths(hub_db, awarding, university, amelia.uln)
    log = await read(hub_db, portal, READ_DISCLOSURES, Disclosures, uln=amelia.uln)
    [refused] = [e for e in log.entries if e.recipient == university.org_id]
    assert refused == DisclosureEntry(
        at=refused.at, recipient=university.org_id, what=f"feed.achievements:{event_id}", purpose=PURPOSE,
        decision="refused", reason="the learner does not share their record", fields=[],
        agreement_id=dsa.agreement_id, agreement_version=1, consent_version=1,
    )  # fmt: skip


async def test_the_disclosure_log_of_a_linked_uln_is_the_masters_with_the_linked_ones(
    hub_db: FakeUnitOfWorkFactory, portal: Organisation, amelia: Learner
) -> None:
    """Read through a linked ULN: the master's log, decisions about either ULN included."""
    linked = hub_db.add_learner(Learner(fresh_uln(), details(), status=LearnerStatus.LINKED, master_uln=amelia.uln))
    about_linked = AuditEntry(AT, "20000099", linked.uln, "feed.achievements:ev-1", PURPOSE, "allowed", "", ("uln",),
                              None, "DSA-X", 2, 5)  # fmt: skip
    hub_db.state.audit.append(about_linked)
    log = await read(hub_db, portal, READ_DISCLOSURES, Disclosures, uln=linked.uln)
    assert log == Disclosures(
        uln=amelia.uln,
        entries=[DisclosureEntry(at=AT, recipient="20000099", what="feed.achievements:ev-1", purpose=PURPOSE,
                                 decision="allowed", reason="", fields=["uln"], agreement_id="DSA-X",
                                 agreement_version=2, consent_version=5)],
    )  # fmt: skip


# --- only the learner portal speaks for learners ----------------------------------------------


@pytest.mark.parametrize(
    ("message_type", "body"),
    [
        (SET_SHARING, {"share": False}),
        (RESTRICT, {"basic_details_only": True}),
        (NOMINATE, {"org_id": "20000001", "until": "2099-01-01"}),
        (WITHDRAW_NOMINATION, {"org_id": "20000001"}),
        (READ_RECORD, {}),
        (PREVIEW, {"org_id": "20000001"}),
        (READ_DISCLOSURES, {}),
    ],
)
@pytest.mark.parametrize("kind", ["partner", "provider"])
async def test_only_the_learner_portal_may_send_learner_messages(
    hub_db: FakeUnitOfWorkFactory, amelia: Learner, message_type: str, body: dict[str, Any], kind: str
) -> None:
    """A partner or a provider sending a learner's message is refused sender_not_allowed; nothing changes."""
    sender = hub_db.add_organisation(partner() if kind == "partner" else provider())
    await send(hub_db, sender, {"uln": amelia.uln, **body}, message_type)
    assert last_rejection(hub_db, sender) == MessageRejected(
        reason="sender_not_allowed",
        request_type=message_type,
        errors=[RejectionError(loc="", message=f"an organisation of kind {kind} may not send {message_type}")],
    )
    assert hub_db.state.consents == {}
    assert [(m.exchange, m.routing_key, m.message_type) for m in hub_db.state.outbox] == [
        (OUTBOUND_EXCHANGE, sender.org_id, MessageRejected.message_type)
    ]
