"""What partners receive: each item ruled on by the gate under hub/sharing/policy.py and audited,
answers about their own requests, record requests' answers, and recall, correction and
re-key notices. What a partner holds is remembered, so that it can be recalled."""

from collections.abc import Sequence
from datetime import datetime

from contracts.base import Contract
from contracts.codes import ResponseCode
from contracts.sharing import DecisionStamp, DeliveredItem, Delivery, PartnerRecord
from contracts.sharing import Notice as PartnerNotice
from hub.disclosure.attempts_log import audit_attempts
from hub.disclosure.decision import (
    Allowed,
    Basis,
    Decision,
    Refused,
    SharingContext,
    audit,
    decide_and_audit,
    sharing_context,
)
from hub.disclosure.outbox import queue
from hub.kernel.model import Organisation
from hub.kernel.ports import DeliveryRecord, NoticeRecord, UnitOfWork
from hub.kernel.vocabulary import Purpose, What, notice_item
from hub.pipeline.drafts import DESCRIPTIONS, RecordDraft
from hub.sharing.policy import Denial, Feed, Grant, Offer, Ruling

DETAILS_KEY = "details"  # what a partner holds of a learner's details is filed under this key


async def rule(
    uow: UnitOfWork,
    ctx: SharingContext,
    partner: Organisation,
    offer: Offer,
    purpose: str,
    at: datetime,
    correlation_id: str | None = None,
) -> Ruling:
    """Decide one offer for a partner and audit the decision, allowed or refused."""
    decision = await _rule_on(uow, ctx, partner, offer, purpose, at, correlation_id)
    if isinstance(decision, Refused):
        return Denial(decision.reason, decision.opted_out)
    assert decision.grant is not None, "an offer is allowed with the grant behind it"
    return decision.grant


async def _rule_on(
    uow: UnitOfWork,
    ctx: SharingContext,
    partner: Organisation,
    offer: Offer,
    purpose: str,
    at: datetime,
    correlation_id: str | None,
) -> Decision:
    return await decide_and_audit(
        uow, partner, offer.uln, offer, purpose, uln=offer.uln, at=at, correlation_id=correlation_id, sharing=ctx
    )


def delivered_item(offer: Offer, grant: Grant, replaces_version: int | None = None) -> DeliveredItem:
    """What the partner receives of an allowed offer: the projection and the decision behind it."""
    stamp = DecisionStamp(
        agreement_id=grant.agreement.agreement_id,
        agreement_version=grant.agreement.version,
        consent_version=grant.consent_version,
        purpose=grant.purpose,
    )
    return DeliveredItem(
        feed=offer.feed.value,
        event_id=offer.event_id,
        version=offer.version,
        replaces_version=replaces_version,
        fields=grant.fields,
        stamp=stamp,
    )


def held_record(partner: str, offer: Offer, grant: Grant, at: datetime) -> DeliveryRecord:
    return DeliveryRecord(
        partner=partner,
        uln=offer.uln,
        feed=offer.feed,
        key=offer.event_id or DETAILS_KEY,
        version=offer.version,
        fields=tuple(sorted(grant.fields)),
        agreement_id=grant.agreement.agreement_id,
        agreement_version=grant.agreement.version,
        consent_version=grant.consent_version,
        purpose=grant.purpose,
        at=at,
    )


async def deliver(
    uow: UnitOfWork,
    partner: Organisation,
    feed: Feed,
    granted: Sequence[tuple[Offer, Grant, int | None]],
    at: datetime,
    correlation_id: str | None = None,
) -> None:
    """Send a partner the items `rule` allowed (already audited), and remember what it now holds."""
    if not granted:
        return
    items = [delivered_item(offer, grant, replaces) for offer, grant, replaces in granted]
    await uow.sharing.delivered([held_record(partner.org_id, offer, grant, at) for offer, grant, _ in granted])
    await queue(uow, partner, Delivery(feed=feed.value, items=items), correlation_id, None)


async def answer_partner(
    uow: UnitOfWork, partner: Organisation, answer: Contract, correlation_id: str | None, at: datetime
) -> None:
    """An answer about the partner's own requests (subscriptions, backfill pages): no learner data."""
    await decide_and_audit(
        uow, partner, None, What.ANSWER, Purpose.RECEIPT, uln=None, at=at, correlation_id=correlation_id
    )
    await queue(uow, partner, answer, correlation_id, None)


async def send_record(
    uow: UnitOfWork, partner: Organisation, draft: RecordDraft, at: datetime, correlation_id: str
) -> None:
    """A record request's answer: what the policy allows for the purpose (each item ruled and
    audited), WSEC0206 when the learner does not share, or the verification's refusal."""
    await audit_attempts(uow, at, partner, draft.attempts, correlation_id)
    granted: list[tuple[Offer, Grant]] = []
    code = draft.code
    if draft.offers:
        ctx = await sharing_context(uow, [draft.uln], at.date())
        decisions = [(o, await _rule_on(uow, ctx, partner, o, draft.purpose, at, correlation_id)) for o in draft.offers]
        granted = [(o, d.grant) for o, d in decisions if isinstance(d, Allowed) and d.grant is not None]
        if any(isinstance(d, Refused) and d.opted_out for _, d in decisions):
            code, granted = ResponseCode.OPTED_OUT, []
    else:
        await decide_and_audit(
            uow, partner, None, What.ANSWER, Purpose.RECEIPT, uln=None, at=at, correlation_id=correlation_id
        )
    if granted:
        await uow.sharing.delivered([held_record(partner.org_id, o, g, at) for o, g in granted])
    items = [delivered_item(o, g) for o, g in granted]
    description = draft.description or DESCRIPTIONS.get(code, code.value)
    if draft.offers and not granted and code != ResponseCode.OPTED_OUT:
        description = "Nothing of this learner is shared with you for this purpose"
    record = PartnerRecord(response_code=code, description=description, items=items)
    await queue(uow, partner, record, correlation_id, None)


async def notify_partner(
    uow: UnitOfWork,
    partner: Organisation,
    notice: PartnerNotice,
    at: datetime,
    correlation_id: str | None = None,
    uln: str | None = None,
) -> None:
    """A recall, correction or re-key notice: audited, remembered until acknowledged, and sent.

    A recall names what the partner must delete, so from now on it no longer holds it; a re-key
    moves what it holds to the master ULN. A notice takes back or mends what the partner was
    given, so it is always allowed; a correction names the decision its replacement relies on.
    """
    uln = uln or notice.uln  # the learner it is about (a recall may not name them to the partner)
    fields = tuple(notice.replacement.fields) if notice.replacement else ()
    stamp = notice.replacement.stamp if notice.replacement else None
    basis = Basis(stamp.agreement_id, stamp.agreement_version, stamp.consent_version) if stamp else None
    await audit(
        uow,
        Allowed(None, fields, basis=basis),
        at=at,
        recipient=partner.org_id,
        uln=uln,
        what=notice_item(notice.kind, notice.event_ids),
        purpose=stamp.purpose if stamp else Purpose.RECALL,
        correlation_id=correlation_id,
        reason=notice.reason,
    )
    await uow.sharing.add_notice(
        NoticeRecord(notice.notice_id, partner.org_id, notice.kind, uln, tuple(notice.event_ids), notice.reason, at)
    )
    if notice.kind == "recall" and uln:
        await uow.sharing.recalled(partner.org_id, uln, notice.event_ids)
    if notice.kind == "rekey" and notice.uln and notice.new_uln:
        await uow.sharing.rekeyed(partner.org_id, notice.uln, notice.new_uln)
    await queue(uow, partner, notice, correlation_id, None)
