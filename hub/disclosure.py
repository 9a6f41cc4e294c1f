"""The disclosure gate: the one way anything leaves the hub for an organisation.

`decide` says whether a recipient may receive a view of a learner for a purpose, and
projects exactly the permitted fields; `send_answer` and `send_rejection` build every
outbound message from those decisions and audit each one, allowed or refused.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

from contracts.base import Contract
from contracts.codes import OrganisationKind, ResponseCode
from contracts.learner import Candidate, LearnerAnswer, LearnerView, MessageRejected
from contracts.plr import (
    ChallengeAnswer,
    ChallengeNotice,
    ChallengeOutcome,
    ItemOutcome,
    LearningEventOutcomes,
    LearningEventView,
    Verification,
    VerificationResult,
)
from contracts.sharing import DecisionStamp, DeliveredItem, Delivery, PartnerRecord
from contracts.sharing import Notice as PartnerNotice
from hub import attempts, plr, policy
from hub.answers import (
    DESCRIPTIONS,
    AnswerDraft,
    Attempt,
    DetailsChange,
    Draft,
    Notice,
    OutcomesDraft,
    PartnerDraft,
    PortalDraft,
    RecordDraft,
    ReplyDraft,
    VerificationDraft,
    VerifiedItem,
)
from hub.linking import resolve_master
from hub.matching import ScoredLearner
from hub.model import Learner, Organisation
from hub.policy import Agreement, Consent, Feed, Grant, Offer, Ruling
from hub.ports import AuditEntry, DeliveryRecord, NoticeRecord, OutboundMessage, UnitOfWork
from hub.routing import OUTBOUND_EXCHANGE
from hub.vocabulary import Purpose, What, feed_item, notice_item

# Which kind of organisation may receive each of the PLR's messages, and for what purpose.
DETAILS_KEY = "details"  # what a partner holds of a learner's details is filed under this key

_PLR_POLICY: dict[What, tuple[frozenset[OrganisationKind], Purpose]] = {
    What.VERIFICATION: (frozenset({OrganisationKind.AWARDING_ORGANISATION}), Purpose.VERIFICATION),
    What.RECEIPT: (
        frozenset({OrganisationKind.AWARDING_ORGANISATION, OrganisationKind.PROVIDER}),
        Purpose.RECEIPT,
    ),
    What.CHALLENGE_NOTICE: (
        frozenset({OrganisationKind.AWARDING_ORGANISATION, OrganisationKind.PROVIDER}),
        Purpose.CHALLENGE,
    ),
    What.CHALLENGE_ANSWER: (frozenset({OrganisationKind.LEARNER_PORTAL}), Purpose.CHALLENGE),
    What.CHALLENGE_OUTCOME: (frozenset({OrganisationKind.LEARNER_PORTAL}), Purpose.CHALLENGE),
}


@dataclass(frozen=True)
class Allowed:
    view: Contract | None
    fields: tuple[str, ...]


@dataclass(frozen=True)
class Refused:
    reason: str


Decision = Allowed | Refused


def _register_view(learner: Learner) -> LearnerView:
    d = learner.details
    return LearnerView(
        uln=learner.uln,
        version=learner.version,
        given_name=d.given_name,
        family_name=d.family_name,
        date_of_birth=d.date_of_birth,
        gender=d.gender,
        last_known_postcode=d.last_known_postcode,
        linked_ulns=learner.linked_ulns,
    )


def _candidate_view(scored: ScoredLearner) -> Candidate:
    d = scored.learner.details
    return Candidate(
        uln=scored.learner.uln,
        given_name=d.given_name,
        family_name=d.family_name,
        date_of_birth=d.date_of_birth,
        gender=d.gender,
        last_known_postcode=d.last_known_postcode,
        differing_fields=list(scored.differing_fields),
        score=scored.score,
        agreement=scored.agreement,
    )


async def decide(
    uow: UnitOfWork, recipient: Organisation, learner: Learner | ScoredLearner | None, what: What, purpose: Purpose
) -> Decision:
    """Decide whether `recipient` may receive `what` about `learner` for `purpose`."""
    if what in (What.REJECTION, What.ANSWER) and learner is None:
        return Allowed(None, ())  # carries no learner data
    if what in _PLR_POLICY:
        return _decide_plr(recipient, what, purpose)
    if recipient.kind != OrganisationKind.PROVIDER or not recipient.active:
        return Refused("only active learning providers receive Learner Register answers")
    if purpose != Purpose.REGISTRATION:
        return Refused(f"purpose {purpose} does not cover learner data for a provider")
    if what == What.MATCH_CANDIDATE and isinstance(learner, ScoredLearner):
        # Candidates answer the provider's own search: just enough to tell them apart.
        view = _candidate_view(learner)
        return Allowed(view, tuple(Candidate.model_fields))
    if what == What.REGISTER_VIEW and isinstance(learner, Learner):
        if await uow.learners.is_linked(learner.uln, recipient.org_id):
            return Allowed(_register_view(learner), tuple(LearnerView.model_fields))
        return Refused("the recipient has not submitted this learner")
    return Refused(f"no policy lets a provider receive {what}")


def _decide_plr(recipient: Organisation, what: What, purpose: Purpose) -> Decision:
    kinds, allowed_purpose = _PLR_POLICY[what]
    if not recipient.active:
        return Refused("the recipient is suspended")
    if recipient.kind not in kinds:
        return Refused(f"a {recipient.kind} does not receive {what}")
    if purpose != allowed_purpose:
        return Refused(f"{what} is sent only for {allowed_purpose}")
    return Allowed(None, _FIELDS[what])


_FIELDS: dict[What, tuple[str, ...]] = {
    What.VERIFICATION: ("uln", "response_code"),
    What.RECEIPT: ("uln", "event_id", "version", "outcome"),
    What.CHALLENGE_NOTICE: tuple(ChallengeNotice.model_fields),
    What.CHALLENGE_ANSWER: tuple(ChallengeAnswer.model_fields),
    What.CHALLENGE_OUTCOME: tuple(ChallengeOutcome.model_fields),
}


async def _audit(
    uow: UnitOfWork,
    at: datetime,
    recipient: Organisation,
    uln: str | None,
    what: What,
    purpose: Purpose,
    decision: Decision,
    correlation_id: str | None,
) -> None:
    allowed = isinstance(decision, Allowed)
    await uow.audit.append(
        AuditEntry(
            at=at,
            recipient=recipient.org_id,
            uln=uln,
            what=what.value,
            purpose=purpose.value,
            decision="allowed" if allowed else "refused",
            reason=decision.reason if isinstance(decision, Refused) else "",
            fields=decision.fields if isinstance(decision, Allowed) else (),
            correlation_id=correlation_id,
        )
    )


async def _audit_change(
    uow: UnitOfWork, at: datetime, provider: Organisation, change: DetailsChange, correlation_id: str | None
) -> None:
    """Log a change of a learner's details where the learner reads their log: who, which fields, why not."""
    entry = AuditEntry(
        at=at,
        recipient=provider.org_id,
        uln=change.uln,
        what=What.UPDATE.value,
        purpose=Purpose.REGISTRATION.value,
        decision="refused" if change.refused else "allowed",
        reason=change.refused or change.note,
        fields=change.fields,
        correlation_id=correlation_id,
    )
    await uow.audit.append(entry)


async def send_answer(
    uow: UnitOfWork,
    recipient: Organisation,
    draft: AnswerDraft,
    correlation_id: str,
    at: datetime,
    headers: dict[str, str] | None = None,
) -> LearnerAnswer:
    """Build the answer to a provider's request from what the gate allows, audit it, queue it."""
    purpose = Purpose.REGISTRATION
    view: LearnerView | None = None
    candidates: list[Candidate] = []
    audited = False
    if draft.learner is not None:
        decision = await decide(uow, recipient, draft.learner, What.REGISTER_VIEW, purpose)
        await _audit(uow, at, recipient, draft.learner.uln, What.REGISTER_VIEW, purpose, decision, correlation_id)
        audited = True
        if isinstance(decision, Allowed) and isinstance(decision.view, LearnerView):
            view = decision.view
    for scored in draft.candidates:
        decision = await decide(uow, recipient, scored, What.MATCH_CANDIDATE, purpose)
        await _audit(uow, at, recipient, scored.learner.uln, What.MATCH_CANDIDATE, purpose, decision, correlation_id)
        audited = True
        if isinstance(decision, Allowed) and isinstance(decision.view, Candidate):
            candidates.append(decision.view)
    if not audited:
        await _audit(uow, at, recipient, None, What.ANSWER, purpose, Allowed(None, ()), correlation_id)
    if draft.change is not None:
        await _audit_change(uow, at, recipient, draft.change, correlation_id)
    answer = LearnerAnswer(
        request_type=draft.request_type,
        response_code=draft.code,
        description=draft.text,
        uln=draft.uln if view is not None else None,
        learner=view,
        candidates=candidates,
        mis_identifier=draft.mis_identifier,
        score=draft.match.score if draft.match and view else None,
        agreement=draft.match.agreement if draft.match and view else {},
    )
    await _queue(uow, recipient, answer, correlation_id, headers)
    return answer


async def send_draft(
    uow: UnitOfWork,
    recipient: Organisation,
    draft: Draft,
    correlation_id: str,
    at: datetime,
    headers: dict[str, str] | None = None,
) -> None:
    """Send whatever a handler decided: the answer to the sender, then any notices to others."""
    match draft:
        case AnswerDraft():
            await send_answer(uow, recipient, draft, correlation_id, at, headers)
        case VerificationDraft():
            await _send_verification(uow, recipient, draft, correlation_id, at, headers)
        case OutcomesDraft():
            await _send_outcomes(uow, recipient, draft, correlation_id, at, headers)
        case ReplyDraft():
            await _send_reply(uow, recipient, draft, correlation_id, at, headers)
        case PortalDraft():
            await send_to_portal(uow, recipient, draft.uln, draft.answer, draft.what, at, correlation_id)
        case PartnerDraft():
            if draft.delivery is not None:
                await deliver(uow, recipient, draft.delivery[0], draft.delivery[1], at, correlation_id)
            await answer_partner(uow, recipient, draft.answer, correlation_id, at)
        case RecordDraft():
            await _send_record(uow, recipient, draft, at, correlation_id)
    for notice in draft.notices:
        await _send_notice(uow, notice, correlation_id, at)


async def _send_verification(
    uow: UnitOfWork,
    recipient: Organisation,
    draft: VerificationDraft,
    correlation_id: str,
    at: datetime,
    headers: dict[str, str] | None,
) -> None:
    """A response code per learner; the ULN (the master's, when linked) only where it verified.

    Every attempt goes into the log of the learner it named (verified or not, or refused by the
    attempt limit), so a learner can see who tried to verify them and how it went."""
    gate = _decide_plr(recipient, What.VERIFICATION, Purpose.VERIFICATION)
    allowed = isinstance(gate, Allowed)
    results = []
    for item in draft.items:
        decision, outcome = _attempt(item, gate)
        await _audit_attempt(uow, at, recipient, item.about, decision, outcome, correlation_id)
        uln = item.learner.uln if item.learner is not None and allowed else None
        if allowed and item.refused:
            description = attempts.REFUSAL
        elif allowed and item.code:
            description = DESCRIPTIONS.get(item.code, "")
        else:
            description = _refusal(gate)
        results.append(
            VerificationResult(
                index=item.index,
                ref=item.ref,
                supplied_uln=item.supplied_uln,
                response_code=item.code if allowed else None,
                description=description,
                uln=uln,
                errors=list(item.errors),
                reason=attempts.TOO_MANY_ATTEMPTS if allowed and item.refused else None,
            )
        )
    await _queue(uow, recipient, Verification(request_type=draft.request_type, items=results), correlation_id, headers)


def _attempt(item: VerifiedItem, gate: Decision) -> tuple[Decision, str]:
    """What a verification attempt disclosed, and its outcome as the learner's log shows it."""
    if isinstance(gate, Refused):
        return gate, gate.reason
    if item.code is None:
        return Allowed(None, ()), "the item is not valid"
    return _checked(Attempt(item.about, item.code, item.learner is not None, item.differing, item.refused))


def _checked(attempt: Attempt) -> tuple[Decision, str]:
    """What a check of a learner's details disclosed, whatever message asked it, and its outcome
    as the learner's log shows it (the fields that differed are told to her, never the sender)."""
    if attempt.refused:
        return Refused(attempts.TOO_MANY_ATTEMPTS), f"{attempts.TOO_MANY_ATTEMPTS}: not checked"
    if attempt.verified:
        return Allowed(None, _FIELDS[What.VERIFICATION]), f"verified {attempt.code}"
    why = f": {', '.join(attempt.differing)} did not match" if attempt.differing else ""
    why += f": {attempt.note}" if attempt.note else ""
    return Allowed(None, ("response_code",)), f"not verified {attempt.code}{why}"


async def _audit_attempt(
    uow: UnitOfWork,
    at: datetime,
    recipient: Organisation,
    uln: str | None,
    decision: Decision,
    outcome: str,
    correlation_id: str | None,
) -> None:
    entry = AuditEntry(
        at=at,
        recipient=recipient.org_id,
        uln=uln,
        what=What.VERIFICATION.value,
        purpose=Purpose.VERIFICATION.value,
        decision="allowed" if isinstance(decision, Allowed) else "refused",
        reason=outcome,
        fields=decision.fields if isinstance(decision, Allowed) else (),
        correlation_id=correlation_id,
    )
    await uow.audit.append(entry)


async def _audit_attempts(
    uow: UnitOfWork, at: datetime, recipient: Organisation, checks: Sequence[Attempt], correlation_id: str | None
) -> None:
    """Log every check of a learner's details an achievement, enrolment or record request made,
    in the log of the learner it named, as a verification is logged."""
    for attempt in checks:
        decision, outcome = _checked(attempt)
        await _audit_attempt(uow, at, recipient, attempt.about, decision, outcome, correlation_id)


def _refusal(decision: Decision) -> str:
    return decision.reason if isinstance(decision, Refused) else "the item is not valid"


async def _send_outcomes(
    uow: UnitOfWork,
    recipient: Organisation,
    draft: OutcomesDraft,
    correlation_id: str,
    at: datetime,
    headers: dict[str, str] | None,
) -> None:
    """Receipts: each item's outcome, and the ULN it is held under, to the organisation that sent it."""
    await _audit_attempts(uow, at, recipient, draft.attempts, correlation_id)
    decision = _decide_plr(recipient, What.RECEIPT, Purpose.RECEIPT)
    items: list[ItemOutcome] = []
    for item in draft.items:
        await _audit(uow, at, recipient, item.uln, What.RECEIPT, Purpose.RECEIPT, decision, correlation_id)
        items.append(item if isinstance(decision, Allowed) else item.model_copy(update={"uln": None}))
    applied = sum(1 for i in items if i.outcome != "rejected")
    outcomes = LearningEventOutcomes(
        request_type=draft.request_type, applied=applied, rejected=len(items) - applied, items=items
    )
    await _queue(uow, recipient, outcomes, correlation_id, headers)


async def _send_reply(
    uow: UnitOfWork,
    recipient: Organisation,
    draft: ReplyDraft,
    correlation_id: str,
    at: datetime,
    headers: dict[str, str] | None,
) -> None:
    decision = _decide_plr(recipient, What.CHALLENGE_ANSWER, Purpose.CHALLENGE)
    await _audit(uow, at, recipient, draft.uln, What.CHALLENGE_ANSWER, Purpose.CHALLENGE, decision, correlation_id)
    if isinstance(decision, Allowed):
        await _queue(uow, recipient, draft.reply, correlation_id, headers)


_NOTICES: dict[type[Contract], What] = {
    ChallengeNotice: What.CHALLENGE_NOTICE,
    ChallengeOutcome: What.CHALLENGE_OUTCOME,
}


async def _send_notice(uow: UnitOfWork, notice: Notice, correlation_id: str, at: datetime) -> None:
    """A message to an organisation other than the sender: only about a record it sent or raised."""
    recipient = await uow.organisations.get(notice.recipient)
    if recipient is None:
        return  # the organisation left the register; nothing can reach it
    what = _NOTICES[type(notice.message)]
    decision = _decide_plr(recipient, what, Purpose.CHALLENGE)
    if isinstance(decision, Allowed) and notice.about_org != recipient.org_id:
        decision = Refused("a notice goes only to the organisation whose record it is about")
    await _audit(uow, at, recipient, notice.uln, what, Purpose.CHALLENGE, decision, correlation_id)
    if isinstance(decision, Allowed):
        await _queue(uow, recipient, notice.message, correlation_id, None)


async def show_record(
    uow: UnitOfWork, operator: str, uln: str, at: datetime
) -> tuple[str | None, list[LearningEventView]]:
    """An operator reads a learner's whole PLR (to support the learner), audited like any disclosure.

    Returns the ULN the record is held under (the master's, when `uln` is linked; None when no
    learner has `uln`) and every entry, withdrawn ones included.
    """
    master, events = await plr.record_of(uow, uln)
    if master is not None:
        entry = AuditEntry(
            at=at,
            recipient=operator,
            uln=master,
            what=What.FULL_RECORD.value,
            purpose=Purpose.OPERATOR_SUPPORT.value,
            decision="allowed",
            reason="",
            fields=tuple(LearningEventView.model_fields),
            correlation_id=None,
        )
        await uow.audit.append(entry)
    return master, [plr.view(e) for e in events]


async def show_log(uow: UnitOfWork, operator: str, uln: str, at: datetime) -> tuple[str, list[AuditEntry]]:
    """An operator reads every audit entry about a learner (master and linked ULNs): audited too."""
    learner, _ = await resolve_master(uow, uln)
    master = learner.uln if learner else uln
    entries = await uow.audit.about([master, *(learner.linked_ulns if learner else [])])
    await uow.audit.append(
        AuditEntry(
            at=at,
            recipient=operator,
            uln=master,
            what=What.AUDIT_LOG.value,
            purpose=Purpose.OPERATOR_SUPPORT.value,
            decision="allowed",
            reason="",
            fields=tuple(AuditEntry.__dataclass_fields__),
            correlation_id=None,
        )
    )
    return master, entries


async def send_rejection(
    uow: UnitOfWork,
    recipient: Organisation,
    rejection: MessageRejected,
    correlation_id: str | None,
    at: datetime,
    headers: dict[str, str] | None = None,
) -> None:
    """Tell a sender its message was refused; the rejection carries no learner data."""
    decision = await decide(uow, recipient, None, What.REJECTION, Purpose.REJECTION)
    await _audit(uow, at, recipient, None, What.REJECTION, Purpose.REJECTION, decision, correlation_id)
    await _queue(uow, recipient, rejection, correlation_id, headers)


async def _queue(
    uow: UnitOfWork,
    recipient: Organisation,
    message: Contract,
    correlation_id: str | None,
    headers: dict[str, str] | None,
) -> None:
    await uow.outbox.add(
        OutboundMessage(
            exchange=OUTBOUND_EXCHANGE,
            routing_key=recipient.org_id,
            message_type=message.message_type,
            body=message.model_dump(mode="json"),
            correlation_id=correlation_id,
            headers=headers or {},
        )
    )


# --- Partners: every item a partner might receive is ruled on by hub/policy.py --------------


@dataclass
class SharingContext:
    """What one unit of work's partner decisions rely on, read once: agreements and consents."""

    today: date
    agreements: list[Agreement]
    consents: dict[str, Consent]

    def consent(self, uln: str) -> Consent:
        return self.consents.get(uln) or Consent(uln)


async def sharing_context(uow: UnitOfWork, ulns: Sequence[str], today: date) -> SharingContext:
    """Agreements and the learners' consents (their registration's default where they never chose)."""
    wanted = sorted(set(ulns))
    consents = await uow.sharing.consents(wanted)
    missing = [u for u in wanted if u not in consents]
    if missing:
        consents |= {u: Consent.default_for(x) for u, x in (await uow.learners.get_many(missing)).items()}
    return SharingContext(today, await uow.sharing.agreements(), consents)


def _what(offer: Offer) -> str:
    return feed_item(offer.feed, offer.event_id)


async def rule(
    uow: UnitOfWork,
    ctx: SharingContext,
    partner: Organisation,
    offer: Offer,
    purpose: str,
    at: datetime,
    correlation_id: str | None = None,
) -> Ruling:
    """Decide one offer for a partner (hub/policy.py) and audit the decision, allowed or refused."""
    ruling = policy.decide(partner, ctx.agreements, ctx.consent(offer.uln), offer, purpose, ctx.today)
    consent = ctx.consent(offer.uln)
    if isinstance(ruling, Grant):
        a = ruling.agreement
        fields = tuple(sorted(ruling.fields))
        entry = AuditEntry(
            at,
            partner.org_id,
            offer.uln,
            _what(offer),
            purpose,
            "allowed",
            "",
            fields,
            correlation_id,
            a.agreement_id,
            a.version,
            consent.version,
        )
    else:
        agreement = policy.agreement_for(ctx.agreements, partner.org_id, purpose, offer.feed, ctx.today)
        a_id, a_version = (
            (agreement.agreement_id, agreement.version) if isinstance(agreement, Agreement) else (None, None)
        )
        entry = AuditEntry(
            at,
            partner.org_id,
            offer.uln,
            _what(offer),
            purpose,
            "refused",
            ruling.reason,
            (),
            correlation_id,
            a_id,
            a_version,
            consent.version,
        )
    await uow.audit.append(entry)
    return ruling


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
    await _queue(uow, partner, Delivery(feed=feed.value, items=items), correlation_id, None)


async def answer_partner(
    uow: UnitOfWork, partner: Organisation, answer: Contract, correlation_id: str | None, at: datetime
) -> None:
    """An answer about the partner's own requests (subscriptions, backfill pages): no learner data."""
    await _audit(uow, at, partner, None, What.ANSWER, Purpose.RECEIPT, Allowed(None, ()), correlation_id)
    await _queue(uow, partner, answer, correlation_id, None)


async def _send_record(
    uow: UnitOfWork, partner: Organisation, draft: RecordDraft, at: datetime, correlation_id: str
) -> None:
    """A record request's answer: what the policy allows for the purpose (each item ruled and
    audited), WSEC0206 when the learner does not share, or the verification's refusal."""
    await _audit_attempts(uow, at, partner, draft.attempts, correlation_id)
    granted: list[tuple[Offer, Grant]] = []
    code = draft.code
    if draft.offers:
        ctx = await sharing_context(uow, [draft.uln], at.date())
        rulings = [(o, await rule(uow, ctx, partner, o, draft.purpose, at, correlation_id)) for o in draft.offers]
        granted = [(o, r) for o, r in rulings if isinstance(r, Grant)]
        if any(isinstance(r, policy.Denial) and r.opted_out for _, r in rulings):
            code, granted = ResponseCode.OPTED_OUT, []
    else:
        await _audit(uow, at, partner, None, What.ANSWER, Purpose.RECEIPT, Allowed(None, ()), correlation_id)
    if granted:
        await uow.sharing.delivered([held_record(partner.org_id, o, g, at) for o, g in granted])
    items = [delivered_item(o, g) for o, g in granted]
    description = draft.description or DESCRIPTIONS.get(code, code.value)
    if draft.offers and not granted and code != ResponseCode.OPTED_OUT:
        description = "Nothing of this learner is shared with you for this purpose"
    record = PartnerRecord(response_code=code, description=description, items=items)
    await _queue(uow, partner, record, correlation_id, None)


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
    moves what it holds to the master ULN.
    """
    uln = uln or notice.uln  # the learner it is about (a recall may not name them to the partner)
    fields = tuple(notice.replacement.fields) if notice.replacement else ()
    stamp = notice.replacement.stamp if notice.replacement else None
    await uow.audit.append(
        AuditEntry(
            at,
            partner.org_id,
            uln,
            notice_item(notice.kind, notice.event_ids),
            stamp.purpose if stamp else Purpose.RECALL.value,
            "allowed",
            notice.reason,
            fields,
            correlation_id,
            stamp.agreement_id if stamp else None,
            stamp.agreement_version if stamp else None,
            stamp.consent_version if stamp else None,
        )
    )
    await uow.sharing.add_notice(
        NoticeRecord(notice.notice_id, partner.org_id, notice.kind, uln, tuple(notice.event_ids), notice.reason, at)
    )
    if notice.kind == "recall" and uln:
        await uow.sharing.recalled(partner.org_id, uln, notice.event_ids)
    if notice.kind == "rekey" and notice.uln and notice.new_uln:
        await uow.sharing.rekeyed(partner.org_id, notice.uln, notice.new_uln)
    await _queue(uow, partner, notice, correlation_id, None)


async def send_to_portal(
    uow: UnitOfWork,
    portal: Organisation,
    uln: str | None,
    answer: Contract,
    what: What,
    at: datetime,
    correlation_id: str,
) -> None:
    """An answer to the learner portal about the learner it speaks for (their own data, for them)."""
    if portal.kind != OrganisationKind.LEARNER_PORTAL or not portal.active:
        decision: Decision = Refused("only the active learner portal receives a learner's own data")
    else:
        decision = Allowed(None, tuple(type(answer).model_fields))
    await uow.audit.append(
        AuditEntry(
            at,
            portal.org_id,
            uln,
            what.value,
            Purpose.LEARNER_ACCESS.value,
            "allowed" if isinstance(decision, Allowed) else "refused",
            decision.reason if isinstance(decision, Refused) else "",
            decision.fields if isinstance(decision, Allowed) else (),
            correlation_id,
        )
    )
    if isinstance(decision, Allowed):
        await _queue(uow, portal, answer, correlation_id, None)
