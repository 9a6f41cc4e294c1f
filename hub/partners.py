"""A partner's request for a learner's record: verified like an awarding organisation's, then
answered with what the policy allows for the purpose, or the LRS's refusal, never more."""

from datetime import date

from contracts.codes import ResponseCode
from contracts.sharing import AcknowledgeNotices, NoticesAcknowledged, RequestRecord
from hub import clock, feeds, plr
from hub.answers import PartnerDraft, RecordDraft
from hub.model import Organisation
from hub.policy import Denial, Feed, agreement_for
from hub.ports import UnitOfWork
from hub.verification import Claim, judge, load


async def request_record(uow: UnitOfWork, sender: Organisation, request: RequestRecord, today: date) -> RecordDraft:
    """Verify the learner; offer their details and every current PLR entry for the gate to rule on.

    A partner with no agreement in force for the purpose is not even told whether the details
    match a learner: the register does not verify identities for organisations it shares nothing with.
    """
    agreements = await uow.sharing.agreements()
    if all(isinstance(agreement_for(agreements, sender.org_id, request.purpose, f, today), Denial) for f in Feed):
        why = "no data sharing agreement in force covers this purpose: nothing is verified or shared"
        return RecordDraft(ResponseCode.NOT_VERIFIED, request.purpose, (), request.uln, why)
    verdict = judge(Claim(request.uln, request.given_name, request.family_name), await load(uow, [request.uln]))
    if verdict.learner is None:
        return RecordDraft(verdict.code, request.purpose, (), request.uln)
    learner = verdict.learner
    _, entries = await plr.record_of(uow, learner.uln)
    offers = feeds.current_offers(learner, entries)
    return RecordDraft(verdict.code, request.purpose, tuple(offers), learner.uln)


async def acknowledge(uow: UnitOfWork, sender: Organisation, request: AcknowledgeNotices, today: date) -> PartnerDraft:
    """A partner confirms it acted on notices (deleted, replaced, re-keyed)."""
    acked = await uow.sharing.acknowledge(sender.org_id, request.notice_ids, clock.now())
    unknown = sorted(set(request.notice_ids) - set(acked))
    return PartnerDraft(NoticesAcknowledged(acknowledged=sorted(acked), unknown=unknown))
