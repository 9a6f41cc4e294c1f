"""The PLR's messages: verification answers and receipts to the organisations that asked or
sent, challenge replies to the learner portal, and notices to the organisation a record is about."""

from datetime import datetime

from contracts.base import Contract
from contracts.plr import (
    ChallengeNotice,
    ChallengeOutcome,
    ItemOutcome,
    LearningEventOutcomes,
    Verification,
    VerificationResult,
)
from hub.disclosure.attempts_log import attempt_of, audit_attempt, audit_attempts
from hub.disclosure.decision import Allowed, Decision, Refused, audit, decide, decide_and_audit
from hub.disclosure.outbox import queue
from hub.kernel.model import Organisation
from hub.kernel.ports import UnitOfWork
from hub.kernel.vocabulary import Purpose, What
from hub.pipeline.drafts import DESCRIPTIONS, Notice, OutcomesDraft, ReplyDraft, VerificationDraft
from hub.records import attempts


async def send_verification(
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
    gate = await decide(uow, recipient, None, What.VERIFICATION, Purpose.VERIFICATION)
    allowed = isinstance(gate, Allowed)
    results = []
    for item in draft.items:
        decision, outcome = attempt_of(item, gate)
        await audit_attempt(uow, at, recipient, item.about, decision, outcome, correlation_id)
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
    await queue(uow, recipient, Verification(request_type=draft.request_type, items=results), correlation_id, headers)


def _refusal(decision: Decision) -> str:
    return decision.reason if isinstance(decision, Refused) else "the item is not valid"


async def send_outcomes(
    uow: UnitOfWork,
    recipient: Organisation,
    draft: OutcomesDraft,
    correlation_id: str,
    at: datetime,
    headers: dict[str, str] | None,
) -> None:
    """Receipts: each item's outcome, and the ULN it is held under, to the organisation that sent it."""
    await audit_attempts(uow, at, recipient, draft.attempts, correlation_id)
    decision = await decide(uow, recipient, None, What.RECEIPT, Purpose.RECEIPT)
    items: list[ItemOutcome] = []
    for item in draft.items:
        await audit(
            uow,
            decision,
            at=at,
            recipient=recipient.org_id,
            uln=item.uln,
            what=What.RECEIPT,
            purpose=Purpose.RECEIPT,
            correlation_id=correlation_id,
        )
        items.append(item if isinstance(decision, Allowed) else item.model_copy(update={"uln": None}))
    applied = sum(1 for i in items if i.outcome != "rejected")
    outcomes = LearningEventOutcomes(
        request_type=draft.request_type, applied=applied, rejected=len(items) - applied, items=items
    )
    await queue(uow, recipient, outcomes, correlation_id, headers)


async def send_reply(
    uow: UnitOfWork,
    recipient: Organisation,
    draft: ReplyDraft,
    correlation_id: str,
    at: datetime,
    headers: dict[str, str] | None,
) -> None:
    """A reply to the sender about one learner (a challenge's answer)."""
    decision = await decide_and_audit(
        uow,
        recipient,
        draft.uln,
        What.CHALLENGE_ANSWER,
        Purpose.CHALLENGE,
        uln=draft.uln,
        at=at,
        correlation_id=correlation_id,
    )
    if isinstance(decision, Allowed):
        await queue(uow, recipient, draft.reply, correlation_id, headers)


_NOTICES: dict[type[Contract], What] = {
    ChallengeNotice: What.CHALLENGE_NOTICE,
    ChallengeOutcome: What.CHALLENGE_OUTCOME,
}


async def send_notice(uow: UnitOfWork, notice: Notice, correlation_id: str, at: datetime) -> None:
    """A message to an organisation other than the sender: only about a record it sent or raised."""
    recipient = await uow.organisations.get(notice.recipient)
    if recipient is None:
        return  # the organisation left the register; nothing can reach it
    what = _NOTICES[type(notice.message)]
    decision = await decide(uow, recipient, notice.uln, what, Purpose.CHALLENGE)
    if isinstance(decision, Allowed) and notice.about_org != recipient.org_id:
        decision = Refused("a notice goes only to the organisation whose record it is about")
    await audit(
        uow,
        decision,
        at=at,
        recipient=recipient.org_id,
        uln=notice.uln,
        what=what,
        purpose=Purpose.CHALLENGE,
        correlation_id=correlation_id,
    )
    if isinstance(decision, Allowed):
        await queue(uow, recipient, notice.message, correlation_id, None)
