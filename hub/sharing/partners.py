"""A partner's request for a learner's record: verified like an awarding organisation's, within
the same attempt limit, then answered with what the policy allows for the purpose, or the LRS's
refusal, never more.

A partner whose agreement reaches only learners who nominated it learns nothing of a learner who
has not: the answer, and the attempt counted, are those for details that match no learner. Else
its record requests would tell it which ULNs and names belong together, nominated or not.
"""

from datetime import date, datetime

from contracts.codes import ResponseCode
from contracts.sharing import AcknowledgeNotices, NoticesAcknowledged, RequestRecord
from hub.kernel.model import Learner, Organisation
from hub.kernel.ports import UnitOfWork
from hub.pipeline.drafts import PartnerDraft, RecordDraft
from hub.records import plr
from hub.records.attempts import REFUSAL
from hub.records.verification import Checker, Claim
from hub.sharing import feeds
from hub.sharing.policy import Agreement, Consent, Denial, Feed, Scope, agreement_for

NOT_NOMINATED = "the learner has not nominated the partner: answered as not verified"


async def _reaches(uow: UnitOfWork, partner: str, agreement: Agreement, learner: Learner, today: date) -> bool:
    """Whether the agreement reaches this learner at all (her sharing and choices aside)."""
    if agreement.scope != Scope.NOMINATED:
        return True
    consent = (await uow.sharing.consents([learner.uln])).get(learner.uln) or Consent(learner.uln)
    return consent.nominated(partner, today)


async def request_record(uow: UnitOfWork, sender: Organisation, request: RequestRecord, now: datetime) -> RecordDraft:
    """Verify the learner; offer their details and every current PLR entry for the gate to rule on.

    A partner with no agreement in force for the purpose is not even told whether the details
    match a learner: the register does not verify identities for organisations it shares nothing with.
    """
    today = now.date()
    agreements = await uow.sharing.agreements()
    covering = [agreement_for(agreements, sender.org_id, request.purpose, f, today) for f in Feed]
    agreement = next((a for a in covering if not isinstance(a, Denial)), None)
    if agreement is None:
        why = "no data sharing agreement in force covers this purpose: nothing is verified or shared"
        return RecordDraft(ResponseCode.NOT_VERIFIED, request.purpose, (), request.uln, why)
    checker = await Checker.load(uow, sender, [request.uln], now)
    verdict = await checker.judge(Claim(request.uln, request.given_name, request.family_name))
    if verdict.learner is not None and not await _reaches(uow, sender.org_id, agreement, verdict.learner, today):
        verdict = await checker.fail(verdict, NOT_NOMINATED)
    attempts = tuple(checker.attempts)
    if verdict.learner is None:
        refusal = REFUSAL if verdict.refused else None
        return RecordDraft(verdict.code, request.purpose, (), request.uln, refusal, attempts=attempts)
    learner = verdict.learner
    _, entries = await plr.record_of(uow, learner.uln)
    offers = feeds.current_offers(learner, entries)
    return RecordDraft(verdict.code, request.purpose, tuple(offers), learner.uln, attempts=attempts)


async def acknowledge(
    uow: UnitOfWork, sender: Organisation, request: AcknowledgeNotices, now: datetime
) -> PartnerDraft:
    """A partner confirms it acted on notices (deleted, replaced, re-keyed)."""
    acked = await uow.sharing.acknowledge(sender.org_id, request.notice_ids, now)
    unknown = sorted(set(request.notice_ids) - set(acked))
    return PartnerDraft(NoticesAcknowledged(acknowledged=sorted(acked), unknown=unknown))
