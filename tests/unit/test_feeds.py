"""Partner feeds (hub.sharing.feeds, hub.sharing.agreements, hub.sharing.partners): deliveries, recalls,
corrections, re-keys, subscriptions, backfills, record requests and notice acknowledgements."""

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from contracts.codes import AbilityToShare, ResponseCode
from contracts.learner import LearnersMerged, LearnerUpdated
from contracts.plr import AchievementsRecorded, AchievementsWithdrawn
from contracts.sharing import (
    Backfill,
    BackfillDone,
    DeliveredItem,
    Delivery,
    Notice,
    NoticesAcknowledged,
    PartnerRecord,
    RequestRecord,
    Subscribe,
    SubscriptionAnswer,
    Unsubscribe,
)
from hub.disclosure import DETAILS_KEY
from hub.kernel import clock
from hub.kernel.model import EventKind, Learner, LearningEvent, Organisation
from hub.kernel.ports import AuditEntry, DeliveryRecord, NoticeRecord, OutboundMessage, Subscription
from hub.pipeline.routing import OUTBOUND_EXCHANGE
from hub.sharing import agreements, feeds
from hub.sharing.agreements import AgreementChange
from hub.sharing.policy import Agreement, AgreementStatus, Consent, Feed, Scope

from .builders import awarding_organisation, fresh_uln, learner, provider
from .fakes import FakeUnitOfWorkFactory
from .plr_builders import WITHDRAW, audited, fresh_ref, outbound_to, published, send, withdraw_body
from .sharing_builders import (
    PURPOSE,
    amend_achievement,
    days,
    deliveries,
    in_uow,
    maths_item,
    notices,
    offer,
    partner,
    recall_of,
    received,
    record_achievement,
    sharing_learner,
    stamp,
    subscribed,
    with_agreement,
)

SUBSCRIBE = Subscribe.message_type
UNSUBSCRIBE = Unsubscribe.message_type
BACKFILL = Backfill.message_type
RECORD_REQUEST = RequestRecord.message_type
ACK = "feed.notice_ack.v1"


@pytest.fixture
def awarding(hub_db: FakeUnitOfWorkFactory) -> Organisation:
    return hub_db.add_organisation(awarding_organisation())


@pytest.fixture
def university(hub_db: FakeUnitOfWorkFactory) -> Organisation:
    return hub_db.add_organisation(partner())


@pytest.fixture
def employer(hub_db: FakeUnitOfWorkFactory) -> Organisation:
    return hub_db.add_organisation(partner("Northgate Engineering"))


@pytest.fixture
def amelia(hub_db: FakeUnitOfWorkFactory) -> Learner:
    """Amelia, registered as having seen the privacy notice and able to share."""
    return sharing_learner(hub_db)


def feeding(
    hub_db: FakeUnitOfWorkFactory, org: Organisation, feed: Feed = Feed.ACHIEVEMENTS, **agreement: Any
) -> Agreement:
    """Give `org` an agreement and subscribe it to `feed` for admissions."""
    dsa = with_agreement(hub_db, org, **agreement)
    subscribed(hub_db, org, feed)
    return dsa


def held_maths(org: Organisation, uln: str, event_id: str, dsa: Agreement, at: datetime, **more: Any) -> DeliveryRecord:
    """What a partner agreeing to AGREED holds of the GCSE once delivered."""
    fields: dict[str, Any] = {"version": 1, "fields": ("grade", "subject", "uln"), "consent_version": 0}
    fields |= more
    return DeliveryRecord(partner=org.org_id, uln=uln, feed=Feed.ACHIEVEMENTS, key=event_id,
                          agreement_id=dsa.agreement_id, agreement_version=dsa.version, purpose=PURPOSE, at=at,
                          **fields)  # fmt: skip


async def withdrawn_event(
    hub_db: FakeUnitOfWorkFactory, awarding: Organisation, ref: str, version: int
) -> AchievementsWithdrawn:
    await send(hub_db, awarding, withdraw_body(ref, version), WITHDRAW)
    [*_, last] = published(hub_db, AchievementsWithdrawn.message_type)
    return AchievementsWithdrawn.model_validate(last.body)


# --- offering hub events ----------------------------------------------------------------------


async def test_each_subscribed_partner_gets_one_delivery_with_its_projection(
    hub_db: FakeUnitOfWorkFactory, awarding: Organisation, university: Organisation, employer: Organisation,
    amelia: Learner,
) -> None:  # fmt: skip
    """Two GCSEs in one event: one feed.delivery.v1 per subscriber, each item projected to its agreement, stamped."""
    uni_dsa = feeding(hub_db, university)
    job_dsa = feeding(hub_db, employer, fields=frozenset({"uln", "grade"}))
    with_agreement(hub_db, hub_db.add_organisation(partner("Not subscribed")))
    maths, english = [
        (await record_achievement(hub_db, awarding, amelia.uln, **kw)).items[0]
        for kw in ({}, {"subject_code": "601/4525/5", "subject": "English Language", "grade": "6"})
    ]
    await offer(hub_db, AchievementsRecorded(items=[maths, english]), correlation_id="evt-1")

    english_for_uni = DeliveredItem(feed="achievements", event_id=english.event_id, version=1,
                                    fields={"uln": amelia.uln, "subject": "English Language", "grade": "6"},
                                    stamp=stamp(uni_dsa))  # fmt: skip
    for_uni = Delivery(feed="achievements", items=[maths_item(maths.event_id, amelia.uln, uni_dsa), english_for_uni])
    for_employer = Delivery(feed="achievements", items=[
        DeliveredItem(feed="achievements", event_id=e.event_id, version=1, fields={"uln": amelia.uln, "grade": g},
                      stamp=stamp(job_dsa)) for e, g in ((maths, "7"), (english, "6"))
    ])  # fmt: skip
    to_partners = [m for m in hub_db.state.outbox if m.message_type == Delivery.message_type]
    assert to_partners == [
        OutboundMessage(OUTBOUND_EXCHANGE, org.org_id, Delivery.message_type, d.model_dump(mode="json"), "evt-1")
        for org, d in sorted(((university, for_uni), (employer, for_employer)), key=lambda x: x[0].org_id)
    ]


async def test_a_delivery_is_remembered_and_audited(
    hub_db: FakeUnitOfWorkFactory, awarding: Organisation, university: Organisation, amelia: Learner
) -> None:
    """What the partner now holds is recorded, and the decision audited with the versions it relied on."""
    dsa = feeding(hub_db, university)
    recorded = await record_achievement(hub_db, awarding, amelia.uln)
    event_id = recorded.items[0].event_id
    at = clock.now()
    await offer(hub_db, recorded, at, correlation_id="evt-1")
    assert hub_db.state.held == {
        (university.org_id, amelia.uln, event_id): held_maths(university, amelia.uln, event_id, dsa, at)
    }
    assert audited(hub_db, f"feed.achievements:{event_id}") == [
        AuditEntry(at, university.org_id, amelia.uln, f"feed.achievements:{event_id}", PURPOSE, "allowed", "",
                   ("grade", "subject", "uln"), "evt-1", dsa.agreement_id, 1, 0)
    ]  # fmt: skip


async def test_refused_offers_are_audited_with_the_reason_and_nothing_is_sent(
    hub_db: FakeUnitOfWorkFactory, awarding: Organisation, university: Organisation, amelia: Learner
) -> None:
    """A learner who opted out: the refusal is in the log, with the versions; the partner gets and holds nothing."""
    dsa = feeding(hub_db, university)
    hub_db.state.consents[amelia.uln] = Consent(amelia.uln, version=1, sharing=False)
    recorded = await record_achievement(hub_db, awarding, amelia.uln)
    event_id = recorded.items[0].event_id
    at = clock.now()
    await offer(hub_db, recorded, at, correlation_id="evt-1")
    assert (outbound_to(hub_db, university), hub_db.state.held) == ([], {})
    assert audited(hub_db, f"feed.achievements:{event_id}") == [
        AuditEntry(at, university.org_id, amelia.uln, f"feed.achievements:{event_id}", PURPOSE, "refused",
                   "the learner does not share their record", (), "evt-1", dsa.agreement_id, 1, 1)
    ]  # fmt: skip


async def test_a_partner_without_an_agreement_in_force_gets_nothing(
    hub_db: FakeUnitOfWorkFactory, awarding: Organisation, university: Organisation, amelia: Learner
) -> None:
    """A subscription outliving its agreement delivers nothing; the refusal names no agreement."""
    feeding(hub_db, university, valid_to=days(-1), valid_from=days(-30))
    recorded = await record_achievement(hub_db, awarding, amelia.uln)
    event_id = recorded.items[0].event_id
    await offer(hub_db, recorded)
    assert outbound_to(hub_db, university) == []
    [entry] = audited(hub_db, f"feed.achievements:{event_id}")
    dsa = hub_db.state.agreements[0]
    assert (entry.decision, entry.reason, entry.agreement_id) == (
        "refused",
        f"agreement {dsa.agreement_id} is not in force on {clock.today()}",
        None,
    )


async def test_an_amendment_it_may_still_see_arrives_as_a_correction(
    hub_db: FakeUnitOfWorkFactory, awarding: Organisation, university: Organisation, amelia: Learner
) -> None:
    """A re-mark of a GCSE the partner holds comes with replaces_version, and it now holds the new version."""
    dsa = feeding(hub_db, university)
    ref = fresh_ref()
    await offer(hub_db, await record_achievement(hub_db, awarding, amelia.uln, ref))
    amended = await amend_achievement(hub_db, awarding, amelia.uln, ref, 2, grade="8")
    at = clock.now()
    await offer(hub_db, amended, at)
    event_id = amended.items[0].event_id
    remarked = {"uln": amelia.uln, "subject": "Mathematics", "grade": "8"}
    correction = DeliveredItem(
        feed="achievements", event_id=event_id, version=2, replaces_version=1, fields=remarked, stamp=stamp(dsa)
    )
    assert deliveries(hub_db, university)[-1] == Delivery(feed="achievements", items=[correction])
    assert hub_db.state.held == {
        (university.org_id, amelia.uln, event_id): held_maths(university, amelia.uln, event_id, dsa, at, version=2)
    }
    assert notices(hub_db, university) == []


async def test_an_amendment_of_something_not_held_replaces_nothing(
    hub_db: FakeUnitOfWorkFactory, awarding: Organisation, university: Organisation, amelia: Learner
) -> None:
    """A partner that subscribed after the first version gets the amendment as a plain delivery."""
    ref = fresh_ref()
    await offer(hub_db, await record_achievement(hub_db, awarding, amelia.uln, ref))
    dsa = feeding(hub_db, university)
    amended = await amend_achievement(hub_db, awarding, amelia.uln, ref, 2)
    await offer(hub_db, amended)
    assert deliveries(hub_db, university) == [
        Delivery(feed="achievements", items=[maths_item(amended.items[0].event_id, amelia.uln, dsa, version=2)])
    ]


async def test_an_amendment_it_may_no_longer_see_is_recalled(
    hub_db: FakeUnitOfWorkFactory, awarding: Organisation, university: Organisation, amelia: Learner
) -> None:
    """The nomination ended before the re-mark arrived: the version held is recalled, the new one not sent."""
    feeding(hub_db, university, scope=Scope.NOMINATED)
    hub_db.state.consents[amelia.uln] = Consent(amelia.uln, 1, sharing=True, nominations={university.org_id: days(0)})
    ref = fresh_ref()
    await offer(hub_db, await record_achievement(hub_db, awarding, amelia.uln, ref))
    amended = await amend_achievement(hub_db, awarding, amelia.uln, ref, 2, grade="8")
    await offer(hub_db, amended, clock.now() + timedelta(days=1))
    event_id = amended.items[0].event_id
    [sent] = notices(hub_db, university)
    reason = "the learner has not nominated this organisation, or the nomination ended"
    assert sent == recall_of(sent, amelia.uln, [event_id], reason)
    assert len(deliveries(hub_db, university)) == 1  # only the first version, before the nomination ended
    assert hub_db.state.held == {}


async def test_an_amendment_moving_an_achievement_to_another_learner_recalls_it_from_the_first(
    hub_db: FakeUnitOfWorkFactory, awarding: Organisation, university: Organisation, amelia: Learner
) -> None:
    """The AO corrects the ULN: the partner holding the GCSE as Amelia's is told to delete it.

    Fails today: hub.sharing.feeds._offer_to looks what the partner holds up under the amended entry's
    (new) ULN only, so what it holds under Amelia's is never recalled.
    """
    feeding(hub_db, university)
    grace = hub_db.add_learner(learner(given_name="Grace", ability_to_share=AbilityToShare.SEEN_MAY_NOT_SHARE))
    ref = fresh_ref()
    await offer(hub_db, await record_achievement(hub_db, awarding, amelia.uln, ref))
    amended = await amend_achievement(hub_db, awarding, grace.uln, ref, 2, given_name="Grace")
    event_id = amended.items[0].event_id
    assert hub_db.state.events[event_id].uln == grace.uln
    await offer(hub_db, amended)
    assert [(n.kind, n.uln, n.event_ids) for n in notices(hub_db, university)] == [("recall", amelia.uln, [event_id])]
    assert hub_db.state.held == {}


async def test_a_withdrawn_achievement_is_recalled_from_every_holder(
    hub_db: FakeUnitOfWorkFactory, awarding: Organisation, university: Organisation, employer: Organisation,
    amelia: Learner,
) -> None:  # fmt: skip
    """Both partners holding the GCSE are told to delete it; one that never got it hears nothing."""
    for org in (university, employer):
        feeding(hub_db, org)
    never_got_it = hub_db.add_organisation(partner("Emails only"))
    feeding(hub_db, never_got_it, fields=frozenset({"email_address"}))
    ref = fresh_ref()
    recorded = await record_achievement(hub_db, awarding, amelia.uln, ref)
    await offer(hub_db, recorded)
    await offer(hub_db, await withdrawn_event(hub_db, awarding, ref, 2), correlation_id="evt-2")
    event_id = recorded.items[0].event_id
    for org in (university, employer):
        [sent] = notices(hub_db, org)
        assert sent == recall_of(sent, amelia.uln, [event_id], "the awarding organisation withdrew it")
    assert outbound_to(hub_db, never_got_it) == []
    assert hub_db.state.held == {}


async def test_a_merge_rekeys_what_partners_hold_under_the_linked_uln(
    hub_db: FakeUnitOfWorkFactory, awarding: Organisation, university: Organisation, employer: Organisation,
    amelia: Learner,
) -> None:  # fmt: skip
    """A rekey notice to the partner holding the duplicate's GCSE, which it now holds under the master ULN."""
    dsa = feeding(hub_db, university)
    feeding(hub_db, employer, feed=Feed.PARTICIPATION)
    duplicate = sharing_learner(hub_db)
    recorded = await record_achievement(hub_db, awarding, duplicate.uln)
    at = clock.now()
    await offer(hub_db, recorded, at)
    await offer(hub_db, LearnersMerged(master_uln=amelia.uln, linked_uln=duplicate.uln))
    [sent] = notices(hub_db, university)
    assert sent == Notice(
        notice_id=sent.notice_id, kind="rekey", uln=duplicate.uln, new_uln=amelia.uln,
        reason=f"ULN {duplicate.uln} was merged into {amelia.uln}: file what you hold under {amelia.uln}",
    )  # fmt: skip
    event_id = recorded.items[0].event_id
    assert hub_db.state.held == {
        (university.org_id, amelia.uln, event_id): held_maths(university, amelia.uln, event_id, dsa, at)
    }
    assert outbound_to(hub_db, employer) == []
    assert hub_db.state.notices[sent.notice_id] == NoticeRecord(
        sent.notice_id, university.org_id, "rekey", duplicate.uln, (), sent.reason,
        hub_db.state.notices[sent.notice_id].at,
    )  # fmt: skip


async def test_learner_updates_go_to_learner_details_subscribers(
    hub_db: FakeUnitOfWorkFactory, university: Organisation, employer: Organisation, amelia: Learner
) -> None:
    """learner.updated.v1 offers the learner's details: the details subscriber gets the agreed ones, no other."""
    dsa = feeding(hub_db, university, feed=Feed.LEARNER_DETAILS)
    feeding(hub_db, employer)
    college = hub_db.add_organisation(provider())
    at = clock.now()
    await offer(hub_db, LearnerUpdated(uln=amelia.uln, version=2, updated_by=college.org_id), at)
    agreed = {"uln": amelia.uln, "given_name": "Amelia", "family_name": "Okafor", "date_of_birth": "2008-04-12"}
    assert deliveries(hub_db, university) == [
        Delivery(feed="learner_details", items=[DeliveredItem(feed="learner_details", fields=agreed,
                                                              stamp=stamp(dsa))])
    ]  # fmt: skip
    assert outbound_to(hub_db, employer) == []
    assert list(hub_db.state.held.values()) == [
        DeliveryRecord(university.org_id, amelia.uln, Feed.LEARNER_DETAILS, DETAILS_KEY, None,
                       ("date_of_birth", "family_name", "given_name", "uln"), dsa.agreement_id, 1, 0, PURPOSE, at)
    ]  # fmt: skip


# --- expiry of nominations --------------------------------------------------------------------


async def test_expire_nominations_recalls_the_day_after_until(
    hub_db: FakeUnitOfWorkFactory, awarding: Organisation, university: Organisation, amelia: Learner
) -> None:
    """On `until` nothing is recalled; the day after, what the partner holds is recalled with the reason."""
    feeding(hub_db, university, scope=Scope.NOMINATED)
    hub_db.state.consents[amelia.uln] = Consent(amelia.uln, 1, sharing=True, nominations={university.org_id: days(0)})
    recorded = await record_achievement(hub_db, awarding, amelia.uln)
    await offer(hub_db, recorded)
    held = dict(hub_db.state.held)
    on_until = await in_uow(hub_db, lambda uow: feeds.expire_nominations(uow, clock.now()))
    assert (on_until, notices(hub_db, university), hub_db.state.held) == (0, [], held)
    after = await in_uow(hub_db, lambda uow: feeds.expire_nominations(uow, clock.now() + timedelta(days=1)))
    [sent] = notices(hub_db, university)
    assert (after, sent) == (
        1,
        recall_of(sent, amelia.uln, [recorded.items[0].event_id], "the learner's nomination ended"),
    )
    assert hub_db.state.held == {}


async def test_an_ended_nomination_under_an_all_learners_agreement_recalls_nothing(
    hub_db: FakeUnitOfWorkFactory, awarding: Organisation, university: Organisation, amelia: Learner
) -> None:
    """The agreement does not depend on nominations: an ended one takes nothing back."""
    feeding(hub_db, university)
    hub_db.state.consents[amelia.uln] = Consent(amelia.uln, 1, sharing=True, nominations={university.org_id: days(0)})
    await offer(hub_db, await record_achievement(hub_db, awarding, amelia.uln))
    held = dict(hub_db.state.held)
    sent = await in_uow(hub_db, lambda uow: feeds.expire_nominations(uow, clock.now() + timedelta(days=1)))
    assert (sent, notices(hub_db, university), hub_db.state.held) == (0, [], held)


async def test_an_agreement_past_its_last_day_has_what_it_allowed_recalled(
    hub_db: FakeUnitOfWorkFactory, awarding: Organisation, university: Organisation, amelia: Learner
) -> None:
    """On valid_to nothing is recalled; the day after, the sweep recalls what the partner holds."""
    agreement = feeding(hub_db, university, valid_to=days(0))
    recorded = await record_achievement(hub_db, awarding, amelia.uln)
    await offer(hub_db, recorded)
    on_last_day = await in_uow(hub_db, lambda uow: feeds.expire(uow, clock.now()))
    after = await in_uow(hub_db, lambda uow: feeds.expire(uow, clock.now() + timedelta(days=1)))
    [sent] = notices(hub_db, university)
    why = f"agreement {agreement.agreement_id} ended on {days(0).isoformat()}"
    assert (on_last_day, after) == (0, 1)
    assert sent == recall_of(sent, amelia.uln, [recorded.items[0].event_id], why)
    assert hub_db.state.held == {}


async def test_a_recall_names_the_learner_only_to_a_partner_given_the_uln(
    hub_db: FakeUnitOfWorkFactory, awarding: Organisation, university: Organisation, amelia: Learner
) -> None:
    """An agreement without the ULN keeps grades apart from learners; its recall must not join them."""
    feeding(hub_db, university, fields=frozenset({"grade", "subject"}))
    recorded = await record_achievement(hub_db, awarding, amelia.uln)
    await offer(hub_db, recorded)
    await in_uow(hub_db, lambda uow: feeds.recheck(uow, clock.now(), reason="a test recall"))
    assert hub_db.state.held  # nothing changed: nothing recalled yet
    hub_db.state.consents[amelia.uln] = Consent(amelia.uln, 1, sharing=False)
    await in_uow(hub_db, lambda uow: feeds.recheck(uow, clock.now(), ulns=[amelia.uln]))
    [sent] = notices(hub_db, university)
    assert (sent.kind, sent.uln, sent.event_ids) == ("recall", None, [recorded.items[0].event_id])
    assert hub_db.state.held == {}


# --- agreements change, suspend, revoke --------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "recalled"),
    [
        ({"fields": frozenset({"uln", "grade"})}, True),
        ({"purposes": frozenset({"employment_check"})}, True),
        ({"feeds": frozenset({Feed.LEARNER_DETAILS})}, True),
        ({"fields": frozenset({"uln", "subject", "grade", "level"})}, False),
        ({"purposes": frozenset({PURPOSE, "employment_check"})}, False),
    ],
    ids=["fewer fields", "other purpose", "feed dropped", "more fields", "another purpose too"],
)
async def test_an_amended_agreement_recalls_what_it_no_longer_allows(
    hub_db: FakeUnitOfWorkFactory, awarding: Organisation, university: Organisation, amelia: Learner,
    changes: dict[str, Any], recalled: bool,
) -> None:  # fmt: skip
    """A new version narrowing what was delivered recalls it (naming the version); a wider one recalls nothing."""
    dsa = feeding(hub_db, university)
    recorded = await record_achievement(hub_db, awarding, amelia.uln)
    await offer(hub_db, recorded)
    held = dict(hub_db.state.held)
    change = await in_uow(hub_db, lambda uow: agreements.change(uow, dsa.agreement_id, now=clock.now(), **changes))
    new_version = Agreement(**(dsa.__dict__ | changes | {"version": 2}))
    assert change == AgreementChange(True, new_version, recalls=1 if recalled else 0)
    if recalled:
        [sent] = notices(hub_db, university)
        reason = f"agreement {dsa.agreement_id} version 2 no longer allows it"
        assert sent == recall_of(sent, amelia.uln, [recorded.items[0].event_id], reason)
        assert hub_db.state.held == {}
    else:
        assert (notices(hub_db, university), hub_db.state.held) == ([], held)


async def test_a_suspension_recalls_nothing_but_stops_deliveries(
    hub_db: FakeUnitOfWorkFactory, awarding: Organisation, university: Organisation, amelia: Learner
) -> None:
    """Suspended: the partner keeps what it holds, and new entries are refused until resumed."""
    dsa = feeding(hub_db, university)
    await offer(hub_db, await record_achievement(hub_db, awarding, amelia.uln))
    held = dict(hub_db.state.held)
    change = await in_uow(hub_db, lambda uow: agreements.suspend(uow, dsa.agreement_id, now=clock.now()))
    assert change == AgreementChange(True, Agreement(**(dsa.__dict__ | {"version": 2, "status": "suspended"})))
    assert (notices(hub_db, university), hub_db.state.held) == ([], held)
    later = await record_achievement(hub_db, awarding, amelia.uln, subject_code="601/4525/5")
    await offer(hub_db, later)
    assert len(deliveries(hub_db, university)) == 1
    [entry] = audited(hub_db, f"feed.achievements:{later.items[0].event_id}")
    assert (entry.decision, entry.reason) == ("refused", f"agreement {dsa.agreement_id} is suspended")


async def test_a_revocation_recalls_everything(
    hub_db: FakeUnitOfWorkFactory, awarding: Organisation, university: Organisation, amelia: Learner
) -> None:
    """Revoked: one recall per learner, naming all it holds of them; it holds nothing after."""
    dsa = feeding(hub_db, university)
    subscribed(hub_db, university, Feed.LEARNER_DETAILS)
    grace = sharing_learner(hub_db, given_name="Grace")
    maths = (await record_achievement(hub_db, awarding, amelia.uln)).items[0].event_id
    english = (await record_achievement(hub_db, awarding, amelia.uln, subject_code="601/4525/5")).items[0].event_id
    graces = (await record_achievement(hub_db, awarding, grace.uln, given_name="Grace")).items[0].event_id
    for event in published(hub_db, AchievementsRecorded.message_type):
        await offer(hub_db, AchievementsRecorded.model_validate(event.body))
    await offer(hub_db, LearnerUpdated(uln=amelia.uln, version=2, updated_by="10030488"))
    assert len(hub_db.state.held) == 4
    change = await in_uow(hub_db, lambda uow: agreements.revoke(uow, dsa.agreement_id, now=clock.now()))
    assert (change.applied, change.recalls) == (True, 2)
    reason = f"agreement {dsa.agreement_id} version 2 no longer allows it"
    assert sorted((n.uln, tuple(n.event_ids), n.reason) for n in notices(hub_db, university)) == sorted([
        (amelia.uln, tuple(sorted([maths, english, DETAILS_KEY])), reason), (grace.uln, (graces,), reason),
    ])  # fmt: skip
    assert hub_db.state.held == {}


async def test_a_revoked_agreement_cannot_be_changed(hub_db: FakeUnitOfWorkFactory, university: Organisation) -> None:
    """After a revocation only a new approval helps; nothing is saved."""
    dsa = with_agreement(hub_db, university)
    await in_uow(hub_db, lambda uow: agreements.revoke(uow, dsa.agreement_id, now=clock.now()))
    versions = list(hub_db.state.agreements)
    change = await in_uow(hub_db, lambda uow: agreements.resume(uow, dsa.agreement_id, now=clock.now()))
    revoked = Agreement(**(dsa.__dict__ | {"version": 2, "status": AgreementStatus.REVOKED}))
    assert change == AgreementChange(False, revoked, reason="the agreement is revoked: approve a new one")
    assert hub_db.state.agreements == versions


# --- subscriptions ----------------------------------------------------------------------------


async def subscription_answer(hub_db: FakeUnitOfWorkFactory, org: Organisation, message_type: str,
                              **body: Any) -> SubscriptionAnswer:  # fmt: skip
    await send(hub_db, org, body, message_type)
    [*_, last] = received(hub_db, org, SubscriptionAnswer)
    return last


async def test_subscribing_to_a_covered_feed_and_purpose_is_active(
    hub_db: FakeUnitOfWorkFactory, university: Organisation
) -> None:
    """The agreement covers both: active, and the subscription is held."""
    with_agreement(hub_db, university)
    answer = await subscription_answer(hub_db, university, SUBSCRIBE, feed="achievements", purpose=PURPOSE)
    assert answer == SubscriptionAnswer(feed="achievements", purpose=PURPOSE, status="active")
    assert hub_db.state.subscriptions == {
        (university.org_id, Feed.ACHIEVEMENTS): Subscription(university.org_id, Feed.ACHIEVEMENTS, PURPOSE)
    }


@pytest.mark.parametrize(
    ("agreement", "body", "reason"),
    [
        ({"feeds": frozenset({Feed.ACHIEVEMENTS})}, {"feed": "participation", "purpose": PURPOSE},
         "does not cover the participation feed"),
        ({}, {"feed": "achievements", "purpose": "marketing"}, "does not cover the purpose marketing"),
        ({"status": AgreementStatus.SUSPENDED}, {"feed": "achievements", "purpose": PURPOSE}, "is suspended"),
    ],
    ids=["feed", "purpose", "suspended"],
)  # fmt: skip
async def test_subscribing_beyond_the_agreement_is_refused(
    hub_db: FakeUnitOfWorkFactory, university: Organisation, agreement: dict[str, Any], body: dict[str, str],
    reason: str,
) -> None:  # fmt: skip
    """A feed or purpose the agreement does not cover: refused with the reason, nothing held."""
    dsa = with_agreement(hub_db, university, **agreement)
    answer = await subscription_answer(hub_db, university, SUBSCRIBE, **body)
    assert answer == SubscriptionAnswer(feed=body["feed"], purpose=body["purpose"], status="refused",
                                        reason=f"agreement {dsa.agreement_id} {reason}")  # fmt: skip
    assert hub_db.state.subscriptions == {}


async def test_subscribing_without_any_agreement_is_refused(
    hub_db: FakeUnitOfWorkFactory, university: Organisation
) -> None:
    answer = await subscription_answer(hub_db, university, SUBSCRIBE, feed="achievements", purpose=PURPOSE)
    assert answer == SubscriptionAnswer(
        feed="achievements", purpose=PURPOSE, status="refused", reason="no data sharing agreement"
    )
    assert hub_db.state.subscriptions == {}


async def test_unsubscribing_ends_the_subscription_once(
    hub_db: FakeUnitOfWorkFactory, university: Organisation
) -> None:
    """The first unsubscribe ends it; the second says there was none."""
    subscribed(hub_db, university, Feed.ACHIEVEMENTS)
    first = await subscription_answer(hub_db, university, UNSUBSCRIBE, feed="achievements")
    second = await subscription_answer(hub_db, university, UNSUBSCRIBE, feed="achievements")
    assert (first, second) == (
        SubscriptionAnswer(feed="achievements", status="ended"),
        SubscriptionAnswer(feed="achievements", status="ended", reason="there was no subscription"),
    )
    assert hub_db.state.subscriptions == {}


# --- backfill ---------------------------------------------------------------------------------

T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


def stored(hub_db: FakeUnitOfWorkFactory, awarding: Organisation, uln: str, event_id: str, minutes: int,
           withdrawn: bool = False, kind: EventKind = EventKind.ACHIEVEMENT) -> LearningEvent:  # fmt: skip
    """An entry in the PLR last changed `minutes` after T0."""
    when = T0 + timedelta(minutes=minutes)
    event = LearningEvent(event_id, uln, kind, awarding.org_id, fresh_ref(), 1,
                          {"subject": "Mathematics", "grade": "7", "level": "2"}, withdrawn=withdrawn,
                          loaded_at=when, updated_at=when)  # fmt: skip
    hub_db.state.events[event_id] = event
    return event


async def backfill_page(
    hub_db: FakeUnitOfWorkFactory, org: Organisation, **body: Any
) -> tuple[list[Delivery], BackfillDone]:
    """Ask for a page; return the deliveries it caused and the backfill_done that ended it."""
    before = len(outbound_to(hub_db, org))
    await send(hub_db, org, {"feed": "achievements", **body}, BACKFILL)
    sent = outbound_to(hub_db, org)[before:]
    *pages, done = sent
    assert done.message_type == BackfillDone.message_type
    return [Delivery.model_validate(m.body) for m in pages], BackfillDone.model_validate(done.body)


def backfilled(event: LearningEvent, dsa: Agreement) -> DeliveredItem:
    fields = {"uln": event.uln, "subject": "Mathematics", "grade": "7"}
    return DeliveredItem(feed="achievements", event_id=event.event_id, version=1, fields=fields, stamp=stamp(dsa))


async def test_backfill_pages_by_update_time_then_event_id(
    hub_db: FakeUnitOfWorkFactory, awarding: Organisation, university: Organisation, amelia: Learner
) -> None:
    """Pages of two, oldest change first, ties by event id; refusals counted, withdrawn entries skipped."""
    dsa = feeding(hub_db, university)
    grace = hub_db.add_learner(learner(given_name="Grace", ability_to_share=AbilityToShare.SEEN_MAY_NOT_SHARE))
    ids = sorted(str(uuid.uuid4()) for _ in range(6))
    stored(hub_db, awarding, amelia.uln, ids[5], -1)  # before `since`
    first = stored(hub_db, awarding, amelia.uln, ids[4], 1)
    refused = stored(hub_db, awarding, grace.uln, ids[1], 2)  # same change time as `tied`, lower id
    tied = stored(hub_db, awarding, amelia.uln, ids[2], 2)
    withdrawn = stored(hub_db, awarding, amelia.uln, ids[0], 3, withdrawn=True)
    last = stored(hub_db, awarding, amelia.uln, ids[3], 4)
    stored(hub_db, awarding, amelia.uln, str(uuid.uuid4()), 2, kind=EventKind.PARTICIPATION)  # another feed

    page1 = await backfill_page(hub_db, university, since=T0.isoformat(), limit=2)
    assert page1 == (
        [Delivery(feed="achievements", items=[backfilled(first, dsa)])],
        BackfillDone(feed="achievements", delivered=1, refused=1, complete=False, next_since=refused.updated_at,
                     next_after=refused.event_id),
    )  # fmt: skip
    page2 = await backfill_page(hub_db, university, since=page1[1].next_since.isoformat(),  # type: ignore[union-attr]
                                after=page1[1].next_after, limit=2)  # fmt: skip
    assert page2 == (
        [Delivery(feed="achievements", items=[backfilled(tied, dsa)])],
        BackfillDone(feed="achievements", delivered=1, refused=0, complete=False, next_since=withdrawn.updated_at,
                     next_after=withdrawn.event_id),
    )  # fmt: skip
    page3 = await backfill_page(hub_db, university, since=page2[1].next_since.isoformat(),  # type: ignore[union-attr]
                                after=page2[1].next_after, limit=2)  # fmt: skip
    assert page3 == (
        [Delivery(feed="achievements", items=[backfilled(last, dsa)])],
        BackfillDone(feed="achievements", delivered=1, refused=0, complete=True),
    )
    assert sorted(k for _, _, k in hub_db.state.held) == sorted([first.event_id, tied.event_id, last.event_id])


async def test_a_backfill_that_fits_one_page_is_complete(
    hub_db: FakeUnitOfWorkFactory, awarding: Organisation, university: Organisation, amelia: Learner
) -> None:
    """Exactly `limit` entries: one page, complete, no continuation."""
    dsa = feeding(hub_db, university)
    entries = [
        stored(hub_db, awarding, amelia.uln, i, n) for n, i in enumerate(sorted(str(uuid.uuid4()) for _ in range(2)))
    ]
    assert await backfill_page(hub_db, university, since=(T0 - timedelta(days=1)).isoformat(), limit=2) == (
        [Delivery(feed="achievements", items=[backfilled(e, dsa) for e in entries])],
        BackfillDone(feed="achievements", delivered=2, refused=0, complete=True),
    )


async def test_a_backfill_without_a_subscription_sends_nothing(
    hub_db: FakeUnitOfWorkFactory, awarding: Organisation, university: Organisation, amelia: Learner
) -> None:
    """Not subscribed to the feed: an empty, complete answer, and nothing delivered or held."""
    with_agreement(hub_db, university)
    stored(hub_db, awarding, amelia.uln, str(uuid.uuid4()), 1)
    assert await backfill_page(hub_db, university, since=T0.isoformat()) == (
        [],
        BackfillDone(feed="achievements", delivered=0, refused=0, complete=True),
    )
    assert hub_db.state.held == {}


async def test_a_backfill_carries_the_fields_the_live_feed_delivered(
    hub_db: FakeUnitOfWorkFactory, awarding: Organisation, university: Organisation, amelia: Learner
) -> None:
    """Replaying the feed gives the partner an entry under the same field names the feed used.

    Fails today: the live feed offers an achievement with the event's field names
    (awarding_organisation, result_id; hub.sharing.feeds._event_offers) and a backfill with the PLR's
    (source_org, source_ref; hub.sharing.feeds.entry_offer), so an agreement naming one set sees those
    fields on one path and not the other. Record requests and previews use the PLR's names too.
    """
    fields = frozenset({"uln", "grade", "awarding_organisation", "result_id", "source_org", "source_ref"})
    feeding(hub_db, university, fields=fields)
    await offer(hub_db, await record_achievement(hub_db, awarding, amelia.uln))
    replay, _ = await backfill_page(hub_db, university, since=(T0 - timedelta(days=3650)).isoformat())
    [live] = deliveries(hub_db, university)[0].items
    [replayed] = replay[0].items
    assert replayed.fields == live.fields


# --- partner.record_request.v1 ----------------------------------------------------------------


async def record_answer(hub_db: FakeUnitOfWorkFactory, org: Organisation, uln: str, purpose: str = PURPOSE,
                        **names: str) -> PartnerRecord:  # fmt: skip
    body = {"uln": uln, "given_name": "Amelia", "family_name": "Okafor", "purpose": purpose} | names
    await send(hub_db, org, body, RECORD_REQUEST)
    [*_, last] = received(hub_db, org, PartnerRecord)
    return last


async def test_a_record_request_is_answered_with_the_permitted_items(
    hub_db: FakeUnitOfWorkFactory, awarding: Organisation, university: Organisation, amelia: Learner
) -> None:
    """WSRC0004: the learner's agreed details and each current entry in the agreed fields, now held."""
    dsa = with_agreement(hub_db, university)
    recorded = await record_achievement(hub_db, awarding, amelia.uln)
    answer = await record_answer(hub_db, university, amelia.uln)
    agreed = {"uln": amelia.uln, "given_name": "Amelia", "family_name": "Okafor", "date_of_birth": "2008-04-12"}
    event_id = recorded.items[0].event_id
    assert answer == PartnerRecord(
        response_code=ResponseCode.EXACT_MATCH, description="Exact match",
        items=[DeliveredItem(feed="learner_details", fields=agreed, stamp=stamp(dsa)),
               maths_item(event_id, amelia.uln, dsa)],
    )  # fmt: skip
    assert sorted(hub_db.state.held) == sorted(
        [(university.org_id, amelia.uln, DETAILS_KEY), (university.org_id, amelia.uln, event_id)]
    )


async def test_a_record_request_for_a_learner_who_does_not_share_is_wsec0206(
    hub_db: FakeUnitOfWorkFactory, awarding: Organisation, university: Organisation, amelia: Learner
) -> None:
    """Opted out: WSEC0206 and no items, nothing held; each refusal audited."""
    with_agreement(hub_db, university)
    await record_achievement(hub_db, awarding, amelia.uln)
    hub_db.state.consents[amelia.uln] = Consent(amelia.uln, 1, sharing=False)
    answer = await record_answer(hub_db, university, amelia.uln)
    assert answer == PartnerRecord(
        response_code=ResponseCode.OPTED_OUT, description="Learner opted not to share; no learning events returned"
    )
    assert hub_db.state.held == {}
    refusals = [e for e in hub_db.state.audit if e.recipient == university.org_id and e.what.startswith("feed.")]
    assert [(e.decision, e.reason) for e in refusals] == [("refused", "the learner does not share their record")] * 2


async def test_a_record_request_naming_someone_else_is_wsec0208(
    hub_db: FakeUnitOfWorkFactory, awarding: Organisation, university: Organisation, amelia: Learner
) -> None:
    """The names do not fit the ULN's learner: WSEC0208, nothing of the learner."""
    with_agreement(hub_db, university)
    await record_achievement(hub_db, awarding, amelia.uln)
    answer = await record_answer(hub_db, university, amelia.uln, given_name="Grace")
    assert answer == PartnerRecord(response_code=ResponseCode.NOT_VERIFIED, description="Learner could not be verified")
    assert hub_db.state.held == {}


async def test_a_record_request_for_a_purpose_not_agreed_gets_nothing(
    hub_db: FakeUnitOfWorkFactory, awarding: Organisation, university: Organisation, amelia: Learner
) -> None:
    """No agreement covers the purpose: the partner is not even told whether the details match a learner."""
    with_agreement(hub_db, university)
    await record_achievement(hub_db, awarding, amelia.uln)
    answer = await record_answer(hub_db, university, amelia.uln, purpose="marketing")
    assert answer == PartnerRecord(
        response_code=ResponseCode.NOT_VERIFIED,
        description="no data sharing agreement in force covers this purpose: nothing is verified or shared",
    )


async def test_a_record_request_for_an_unknown_uln_is_wsec0208(
    hub_db: FakeUnitOfWorkFactory, university: Organisation
) -> None:
    with_agreement(hub_db, university)
    answer = await record_answer(hub_db, university, fresh_uln())
    assert answer == PartnerRecord(response_code=ResponseCode.NOT_VERIFIED, description="Learner could not be verified")


# --- feed.notice_ack.v1 -----------------------------------------------------------------------


async def test_a_partner_acknowledges_only_its_own_notices(
    hub_db: FakeUnitOfWorkFactory, awarding: Organisation, university: Organisation, employer: Organisation,
    amelia: Learner,
) -> None:  # fmt: skip
    """Its own notice is acknowledged; another partner's, or one that does not exist, is unknown and untouched."""
    for org in (university, employer):
        feeding(hub_db, org)
    ref = fresh_ref()
    await offer(hub_db, await record_achievement(hub_db, awarding, amelia.uln, ref))
    await offer(hub_db, await withdrawn_event(hub_db, awarding, ref, 2))
    [mine], [theirs] = notices(hub_db, university), notices(hub_db, employer)
    theirs_before = hub_db.state.notices[theirs.notice_id]
    await send(hub_db, university, {"notice_ids": [theirs.notice_id, "no-such-notice", mine.notice_id]}, ACK)
    [answer] = received(hub_db, university, NoticesAcknowledged)
    assert answer == NoticesAcknowledged(acknowledged=[mine.notice_id],
                                         unknown=sorted([theirs.notice_id, "no-such-notice"]))  # fmt: skip
    assert hub_db.state.notices[mine.notice_id].acknowledged_at is not None
    assert hub_db.state.notices[theirs.notice_id] == theirs_before
    assert theirs_before.acknowledged_at is None
