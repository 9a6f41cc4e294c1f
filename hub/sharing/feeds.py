"""Partner feeds: every PLR and register event is offered to each subscribed partner through the gate.

An event on `lrs.events` becomes offers (one per learner entry it carries); each subscription
of the feed rules on each offer (hub/sharing/policy.py, audited by the gate) and the allowed items go
to the partner in one delivery per event. What a partner holds is remembered, so that when it
may no longer hold something (consent withdrawn, a nomination ended, an agreement revoked or
changed, an entry withdrawn) it gets a recall notice; an amended entry it may still see comes
as a correction (`replaces_version`); a merge re-keys what it holds under the linked ULN.
"""

import uuid
from collections import defaultdict
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any

from contracts.base import Contract
from contracts.learner import LearnersMerged, LearnerUpdated
from contracts.plr import AchievementsAmended, AchievementsRecorded, AchievementsWithdrawn, ParticipationRecorded
from contracts.sharing import Backfill, BackfillDone, Notice, Subscribe, SubscriptionAnswer, Unsubscribe
from hub import disclosure
from hub.disclosure import DETAILS_KEY, SharingContext, sharing_context
from hub.kernel.model import EventKind, Learner, LearningEvent, Organisation, OrganisationStatus
from hub.kernel.ports import DeliveryRecord, Subscription, UnitOfWork
from hub.pipeline.drafts import PartnerDraft
from hub.sharing import policy
from hub.sharing.policy import LEARNER_DETAIL_FIELDS, AgreementStatus, Denial, Feed, Grant, Offer, Ruling, agreement_for

_KIND_OF_FEED = {Feed.ACHIEVEMENTS: EventKind.ACHIEVEMENT, Feed.PARTICIPATION: EventKind.PARTICIPATION}
_FEED_OF_KIND = {k: f for f, k in _KIND_OF_FEED.items()}


# An entry's sender and the sender's own id, named as the live feed's events name them.
_SENDER_FIELDS = {
    EventKind.ACHIEVEMENT: ("awarding_organisation", "result_id"),
    EventKind.PARTICIPATION: ("provider", "enrolment_id"),
}


def entry_offer(event: LearningEvent) -> Offer:
    """A PLR entry as a partner might receive it (all its fields; the gate projects them), with
    the same field names as the feed's events, so backfills, record requests and previews
    project exactly as the live feed does."""
    org_field, ref_field = _SENDER_FIELDS[event.kind]
    fields: dict[str, Any] = {"uln": event.uln, org_field: event.source_org, ref_field: event.source_ref}
    fields |= event.fields
    return Offer(_FEED_OF_KIND[event.kind], event.uln, fields, event.event_id, event.version)


def details_offer(learner: Learner) -> Offer:
    """A learner's details as a partner might receive them (the gate projects them)."""
    details = learner.details.model_dump(mode="json", include=set(LEARNER_DETAIL_FIELDS - {"uln"}))
    return Offer(Feed.LEARNER_DETAILS, learner.uln, {"uln": learner.uln} | details)


def current_offers(learner: Learner, entries: Sequence[LearningEvent]) -> list[Offer]:
    """Everything a partner might be shown of a learner today: details and every entry not withdrawn."""
    return [details_offer(learner), *(entry_offer(e) for e in entries if not e.withdrawn)]


def _entry_offers(event: AchievementsRecorded | AchievementsAmended) -> list[Offer]:
    offers = []
    for i in event.items:
        fields = i.model_dump(mode="json", exclude={"event_id", "version"})
        offers.append(Offer(Feed.ACHIEVEMENTS, i.uln, fields, i.event_id, i.version))
    return offers


def _participation_offers(event: ParticipationRecorded) -> list[Offer]:
    fields = event.model_dump(mode="json", exclude={"event_id", "version"})
    return [Offer(Feed.PARTICIPATION, event.uln, fields, event.event_id, event.version)]


def recall(uln: str, keys: Sequence[str], reason: str, named: bool) -> Notice:
    """A recall of entries held about one learner; it names the ULN only if the partner was given it
    (`named`): a notice must not link data the agreement kept apart."""
    return Notice(
        notice_id=str(uuid.uuid4()), kind="recall", reason=reason, uln=uln if named else None, event_ids=sorted(keys)
    )


def _names_uln(records: Sequence[DeliveryRecord]) -> bool:
    return any("uln" in r.fields for r in records)


def may_keep(partner: Organisation, ctx: SharingContext, h: DeliveryRecord) -> Ruling:
    """Whether a partner may go on holding what it received: the rules of hub/sharing/policy.py, except
    that a suspension (of the agreement or of the partner) pauses sending and takes nothing back."""
    keeping = [
        replace(a, status=AgreementStatus.ACTIVE) if a.status == AgreementStatus.SUSPENDED else a
        for a in ctx.agreements
    ]
    active = replace(partner, status=OrganisationStatus.ACTIVE)
    offer = Offer(h.feed, h.uln, dict.fromkeys(h.fields), None if h.key == DETAILS_KEY else h.key, h.version)
    return policy.decide(active, keeping, ctx.consent(h.uln), offer, h.purpose, ctx.today)


async def _send_recalls(
    uow: UnitOfWork,
    partner: Organisation,
    recalls: dict[str, list[DeliveryRecord]],
    why: dict[str, str],
    at: datetime,
    correlation_id: str | None = None,
) -> None:
    for uln, records in sorted(recalls.items()):
        notice = recall(uln, [r.key for r in records], why[uln], _names_uln(records))
        await disclosure.notify_partner(uow, partner, notice, at, correlation_id, uln=uln)


async def _partner(uow: UnitOfWork, org_id: str) -> Organisation | None:
    return await uow.organisations.get(org_id)


async def offer_event(uow: UnitOfWork, event: Contract, at: datetime, correlation_id: str | None = None) -> None:
    """Offer one hub event to every subscribed partner; recall, correct or re-key what they hold.

    An event no route names is offered to no one (the hub does not publish it either)."""
    route = EVENT_ROUTES.get(event.message_type)
    if route is not None:
        await route(uow, event, at, correlation_id)


async def _on_withdrawn(uow: UnitOfWork, event: Any, at: datetime, correlation_id: str | None) -> None:
    assert isinstance(event, AchievementsWithdrawn)
    await _recall_keys(uow, [i.event_id for i in event.items], "the awarding organisation withdrew it", at)


async def _on_merged(uow: UnitOfWork, event: Any, at: datetime, correlation_id: str | None) -> None:
    assert isinstance(event, LearnersMerged)
    await _rekey(uow, event.linked_uln, event.master_uln, at)


async def _on_updated(uow: UnitOfWork, event: Any, at: datetime, correlation_id: str | None) -> None:
    assert isinstance(event, LearnerUpdated)
    learner = await uow.learners.get(event.uln)
    if learner is not None:
        await _offer(uow, Feed.LEARNER_DETAILS, [details_offer(learner)], at, correlation_id)


async def _on_achievements(uow: UnitOfWork, event: Any, at: datetime, correlation_id: str | None) -> None:
    assert isinstance(event, AchievementsRecorded | AchievementsAmended)
    await _offer(uow, Feed.ACHIEVEMENTS, _entry_offers(event), at, correlation_id)


async def _on_participation(uow: UnitOfWork, event: Any, at: datetime, correlation_id: str | None) -> None:
    assert isinstance(event, ParticipationRecorded)
    await _offer(uow, Feed.PARTICIPATION, _participation_offers(event), at, correlation_id)


EventHandler = Callable[[UnitOfWork, Any, datetime, str | None], Awaitable[None]]
# The hub's events that partners' feeds are made of, and what each does: the feeds consumer's
# route table (hub/pipeline/routes.py). lrs.feeds is bound to exactly these.
EVENT_ROUTES: dict[str, EventHandler] = {
    AchievementsRecorded.message_type: _on_achievements,
    AchievementsAmended.message_type: _on_achievements,
    AchievementsWithdrawn.message_type: _on_withdrawn,
    ParticipationRecorded.message_type: _on_participation,
    LearnerUpdated.message_type: _on_updated,
    LearnersMerged.message_type: _on_merged,
}


async def _offer(uow: UnitOfWork, feed: Feed, offers: list[Offer], at: datetime, correlation_id: str | None) -> None:
    """Offer entries of one feed to each of its subscribers, through the gate."""
    subscriptions = await uow.sharing.subscriptions(feed)
    if not subscriptions or not offers:
        return
    ctx = await sharing_context(uow, [o.uln for o in offers], at.date())
    if feed == Feed.LEARNER_DETAILS:
        records = await uow.sharing.held(ulns=[o.uln for o in offers], keys=[DETAILS_KEY])
    else:  # by entry alone: an amendment may have moved the entry to another learner
        records = await uow.sharing.held(keys=[o.event_id for o in offers if o.event_id])
    held = {(h.partner, _slot(h.uln, h.key)): h for h in records}
    for subscription in subscriptions:
        partner = await _partner(uow, subscription.partner)
        if partner is not None:
            await _offer_to(uow, ctx, partner, subscription.purpose, feed, offers, held, at, correlation_id)


def _slot(uln: str, key: str) -> str:
    """What a partner holds is one learner's details, or one entry whoever it is now filed under."""
    return f"{uln}/{key}" if key == DETAILS_KEY else key


async def _offer_to(
    uow: UnitOfWork,
    ctx: SharingContext,
    partner: Organisation,
    purpose: str,
    feed: Feed,
    offers: Sequence[Offer],
    held: dict[tuple[str, str], DeliveryRecord],
    at: datetime,
    correlation_id: str | None,
) -> None:
    granted: list[tuple[Offer, Grant, int | None]] = []
    recalls: dict[str, list[DeliveryRecord]] = defaultdict(list)
    why: dict[str, str] = {}
    for offer in offers:
        ruling = await disclosure.rule(uow, ctx, partner, offer, purpose, at, correlation_id)
        prior = held.get((partner.org_id, _slot(offer.uln, offer.event_id or DETAILS_KEY)))
        moved = prior is not None and prior.uln != offer.uln  # amended onto another learner
        if prior is not None and isinstance(ruling, Denial) and not moved:
            kept = may_keep(partner, ctx, prior)  # refused now, but perhaps only paused
            if isinstance(kept, Denial):
                recalls[prior.uln].append(prior)
                why[prior.uln] = kept.reason
        if prior is not None and moved:
            recalls[prior.uln].append(prior)
            why[prior.uln] = "the entry now belongs to another learner"
        if isinstance(ruling, Grant):
            replaces = prior.version if prior is not None and not moved and prior.version != offer.version else None
            granted.append((offer, ruling, replaces))
    await disclosure.deliver(uow, partner, feed, granted, at, correlation_id)
    await _send_recalls(uow, partner, recalls, why, at, correlation_id)


async def _recall_keys(uow: UnitOfWork, keys: Sequence[str], reason: str, at: datetime) -> None:
    by_holder: dict[str, dict[str, list[DeliveryRecord]]] = defaultdict(lambda: defaultdict(list))
    for h in await uow.sharing.held(keys=keys):
        by_holder[h.partner][h.uln].append(h)
    for org_id, recalls in sorted(by_holder.items()):
        partner = await _partner(uow, org_id)
        if partner is not None:
            await _send_recalls(uow, partner, recalls, dict.fromkeys(recalls, reason), at)


async def _rekey(uow: UnitOfWork, linked: str, master: str, at: datetime) -> None:
    """Tell partners holding the linked ULN's data to file it under the master; then recall what
    the master's choices do not let them hold (the two learners may have chosen differently)."""
    by_partner: dict[str, list[DeliveryRecord]] = defaultdict(list)
    for h in await uow.sharing.held(ulns=[linked]):
        by_partner[h.partner].append(h)
    for org_id, records in sorted(by_partner.items()):
        partner = await _partner(uow, org_id)
        if partner is None:
            continue
        if not _names_uln(records):  # it was never given the ULN: nothing to re-key on its side
            await uow.sharing.rekeyed(org_id, linked, master)
            continue
        why = f"ULN {linked} was merged into {master}: file what you hold under {master}"
        notice = Notice(notice_id=str(uuid.uuid4()), kind="rekey", uln=linked, new_uln=master, reason=why)
        await disclosure.notify_partner(uow, partner, notice, at)
    if by_partner:
        await recheck(uow, at, ulns=[master])


async def recheck(
    uow: UnitOfWork, at: datetime, *, partner: str | None = None, ulns: Sequence[str] | None = None, reason: str = ""
) -> int:
    """Re-rule what partners hold (after a change of consent or agreement, or an expiry) and recall
    whatever they may no longer hold. Returns the number of recall notices sent."""
    held = await uow.sharing.held(partner=partner, ulns=ulns)
    if not held:
        return 0
    ctx = await sharing_context(uow, [h.uln for h in held], at.date())
    recalls: dict[str, dict[str, list[DeliveryRecord]]] = defaultdict(lambda: defaultdict(list))
    why: dict[str, dict[str, str]] = defaultdict(dict)
    for h in held:
        organisation = await _partner(uow, h.partner)
        if organisation is None:
            continue
        ruling = may_keep(organisation, ctx, h)
        narrowed = isinstance(ruling, Grant) and set(ruling.fields) != set(h.fields)
        if isinstance(ruling, Denial) or narrowed:
            recalls[h.partner][h.uln].append(h)
            why[h.partner][h.uln] = reason or (ruling.reason if isinstance(ruling, Denial) else "fewer fields allowed")
    for org_id, by_uln in sorted(recalls.items()):
        organisation = await _partner(uow, org_id)
        assert organisation is not None
        await _send_recalls(uow, organisation, by_uln, why[org_id], at)
    return sum(len(by_uln) for by_uln in recalls.values())


async def expire(uow: UnitOfWork, at: datetime) -> int:
    """Recall what partners hold under nominations that ended or agreements that lapsed (run
    periodically by the hub). Returns the number of recall notices sent."""
    return await expire_nominations(uow, at) + await expire_agreements(uow, at)


async def expire_nominations(uow: UnitOfWork, at: datetime) -> int:
    """Recall what partners hold under nominations that ended."""
    sent = 0
    for uln, org_id in await uow.sharing.expired_nominations(at.date()):
        sent += await recheck(uow, at, partner=org_id, ulns=[uln], reason="the learner's nomination ended")
    return sent


async def expire_agreements(uow: UnitOfWork, at: datetime) -> int:
    """Recall what partners hold under agreements past their last day (suspended ones too: a pause
    does not extend an agreement)."""
    sent = 0
    for agreement in await uow.sharing.agreements():
        if agreement.status != AgreementStatus.REVOKED and agreement.valid_to < at.date():
            why = f"agreement {agreement.agreement_id} ended on {agreement.valid_to.isoformat()}"
            sent += await recheck(uow, at, partner=agreement.partner, reason=why)
    return sent


# --- Partners' requests ---------------------------------------------------------------------


async def subscribe(uow: UnitOfWork, sender: Organisation, request: Subscribe, now: datetime) -> PartnerDraft:
    """Subscribe to a feed its agreement covers, for a purpose it covers (again: change the purpose)."""
    today = now.date()
    feed = Feed(request.feed)
    agreement = agreement_for(await uow.sharing.agreements(), sender.org_id, request.purpose, feed, today)
    if isinstance(agreement, Denial):
        refused = SubscriptionAnswer(
            feed=feed.value, purpose=request.purpose, status="refused", reason=agreement.reason
        )
        return PartnerDraft(refused)
    await uow.sharing.subscribe(Subscription(sender.org_id, feed, request.purpose))
    return PartnerDraft(SubscriptionAnswer(feed=feed.value, purpose=request.purpose, status="active"))


async def unsubscribe(uow: UnitOfWork, sender: Organisation, request: Unsubscribe, now: datetime) -> PartnerDraft:
    ended = await uow.sharing.unsubscribe(sender.org_id, Feed(request.feed))
    reason = None if ended else "there was no subscription"
    return PartnerDraft(SubscriptionAnswer(feed=request.feed, status="ended", reason=reason))


async def backfill(uow: UnitOfWork, sender: Organisation, request: Backfill, now: datetime) -> PartnerDraft:
    """Replay a page of a feed's entries changed since `since`, through today's consent and agreement."""
    done, granted = await backfill_page(uow, sender, request, now)
    return PartnerDraft(done, delivery=(Feed(request.feed), tuple(granted)))


async def backfill_page(
    uow: UnitOfWork, sender: Organisation, request: Backfill, at: datetime
) -> tuple[BackfillDone, list[tuple[Offer, Grant, int | None]]]:
    """Rule on one page of entries; the allowed ones go out with the page's answer (the gate sends both)."""
    feed = Feed(request.feed)
    subscription = next((s for s in await uow.sharing.subscriptions(feed) if s.partner == sender.org_id), None)
    if subscription is None:
        return BackfillDone(feed=feed.value, delivered=0, refused=0, complete=True), []
    entries = await uow.plr.changed_since(_KIND_OF_FEED[feed], request.since, request.after or "", request.limit + 1)
    page, more = entries[: request.limit], len(entries) > request.limit
    offers = [entry_offer(e) for e in page if not e.withdrawn]
    ctx = await sharing_context(uow, [o.uln for o in offers], at.date())
    granted: list[tuple[Offer, Grant, int | None]] = []
    for offer in offers:
        ruling = await disclosure.rule(uow, ctx, sender, offer, subscription.purpose, at)
        if isinstance(ruling, Grant):
            granted.append((offer, ruling, None))
    last = page[-1] if more and page else None
    done = BackfillDone(
        feed=feed.value,
        delivered=len(granted),
        refused=len(offers) - len(granted),
        complete=not more,
        next_since=last.updated_at if last else None,
        next_after=last.event_id if last else None,
    )
    return done, granted
