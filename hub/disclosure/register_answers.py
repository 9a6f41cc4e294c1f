"""Answers to a provider's Learner Register requests, and rejections to any sender."""

from datetime import datetime

from contracts.learner import Candidate, LearnerAnswer, LearnerView, MessageRejected
from hub.disclosure.decision import Allowed, decide_and_audit
from hub.disclosure.outbox import queue
from hub.kernel.model import Organisation
from hub.kernel.ports import AuditEntry, UnitOfWork
from hub.kernel.vocabulary import Purpose, What
from hub.pipeline.drafts import AnswerDraft, DetailsChange


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
    if draft.learner is not None:
        uln = draft.learner.uln
        decision = await decide_and_audit(
            uow, recipient, draft.learner, What.REGISTER_VIEW, purpose, uln=uln, at=at, correlation_id=correlation_id
        )
        if isinstance(decision, Allowed) and isinstance(decision.view, LearnerView):
            view = decision.view
    for scored in draft.candidates:
        uln = scored.learner.uln
        decision = await decide_and_audit(
            uow, recipient, scored, What.MATCH_CANDIDATE, purpose, uln=uln, at=at, correlation_id=correlation_id
        )
        if isinstance(decision, Allowed) and isinstance(decision.view, Candidate):
            candidates.append(decision.view)
    if draft.learner is None and not draft.candidates:
        await decide_and_audit(
            uow, recipient, None, What.ANSWER, purpose, uln=None, at=at, correlation_id=correlation_id
        )
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
    await queue(uow, recipient, answer, correlation_id, headers)
    return answer


async def _audit_change(
    uow: UnitOfWork, at: datetime, provider: Organisation, change: DetailsChange, correlation_id: str | None
) -> None:
    """Log a change of a learner's details where the learner reads their log: who, which fields, why not."""
    entry = AuditEntry.of(
        allowed=not change.refused,
        at=at,
        recipient=provider.org_id,
        uln=change.uln,
        what=What.UPDATE,
        purpose=Purpose.REGISTRATION,
        reason=change.refused or change.note,
        fields=change.fields,
        correlation_id=correlation_id,
    )
    await uow.audit.append(entry)


async def send_rejection(
    uow: UnitOfWork,
    recipient: Organisation,
    rejection: MessageRejected,
    correlation_id: str | None,
    at: datetime,
    headers: dict[str, str] | None = None,
) -> None:
    """Tell a sender its message was refused; the rejection carries no learner data."""
    await decide_and_audit(
        uow, recipient, None, What.REJECTION, Purpose.REJECTION, uln=None, at=at, correlation_id=correlation_id
    )
    await queue(uow, recipient, rejection, correlation_id, headers)
