"""The disclosure gate: the one way anything leaves the hub for an organisation.

`decide` says whether a recipient may receive a view of a learner for a purpose, and
projects exactly the permitted fields; `send_answer` and `send_rejection` build every
outbound message from those decisions and audit each one, allowed or refused.
"""

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from contracts.base import Contract
from contracts.codes import OrganisationKind
from contracts.learner import Candidate, LearnerAnswer, LearnerView, MessageRejected
from hub.answers import AnswerDraft
from hub.matching import ScoredLearner
from hub.model import Learner, Organisation
from hub.ports import AuditEntry, OutboundMessage, UnitOfWork
from hub.routing import OUTBOUND_EXCHANGE


class Purpose(StrEnum):
    REGISTRATION = "registration"  # answering a provider's own Learner Register request
    REJECTION = "rejection"  # telling a sender what was wrong with its message


class What(StrEnum):
    REGISTER_VIEW = "learner.register_view"
    MATCH_CANDIDATE = "learner.match_candidate"
    ANSWER = "learner.answer"  # the answer itself: response code, no learner data
    REJECTION = "message.rejected"


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


async def _audit(
    uow: UnitOfWork, at: datetime, recipient: Organisation, uln: str | None, what: What, purpose: Purpose,
    decision: Decision, correlation_id: str | None,
) -> None:  # fmt: skip
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


async def send_answer(
    uow: UnitOfWork, recipient: Organisation, draft: AnswerDraft, correlation_id: str, at: datetime,
    headers: dict[str, str] | None = None,
) -> LearnerAnswer:  # fmt: skip
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


async def send_rejection(
    uow: UnitOfWork, recipient: Organisation, rejection: MessageRejected, correlation_id: str | None, at: datetime,
    headers: dict[str, str] | None = None,
) -> None:  # fmt: skip
    """Tell a sender its message was refused; the rejection carries no learner data."""
    decision = await decide(uow, recipient, None, What.REJECTION, Purpose.REJECTION)
    await _audit(uow, at, recipient, None, What.REJECTION, Purpose.REJECTION, decision, correlation_id)
    await _queue(uow, recipient, rejection, correlation_id, headers)


async def _queue(
    uow: UnitOfWork, recipient: Organisation, message: Contract, correlation_id: str | None,
    headers: dict[str, str] | None,
) -> None:  # fmt: skip
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
