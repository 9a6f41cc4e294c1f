"""Send whatever a handler decided: each kind of draft has its one sender, in `SENDERS`."""

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

from contracts.base import Contract
from hub.disclosure.decision import Allowed, decide_and_audit
from hub.disclosure.outbox import queue
from hub.disclosure.partner_items import answer_partner, deliver, send_record
from hub.disclosure.plr_messages import send_notice, send_outcomes, send_reply, send_verification
from hub.disclosure.register_answers import send_answer
from hub.kernel.model import Organisation
from hub.kernel.ports import UnitOfWork
from hub.kernel.vocabulary import Purpose, What
from hub.pipeline.drafts import (
    AnswerDraft,
    Draft,
    OutcomesDraft,
    PartnerDraft,
    PortalDraft,
    RecordDraft,
    ReplyDraft,
    VerificationDraft,
)


async def send_draft(
    uow: UnitOfWork,
    recipient: Organisation,
    draft: Draft,
    correlation_id: str,
    at: datetime,
    headers: dict[str, str] | None = None,
) -> None:
    """Send whatever a handler decided: the answer to the sender, then any notices to others."""
    await SENDERS[type(draft)](uow, recipient, draft, correlation_id, at, headers)
    for notice in draft.notices:
        await send_notice(uow, notice, correlation_id, at)


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
    decision = await decide_and_audit(
        uow, portal, uln, what, Purpose.LEARNER_ACCESS, uln=uln, at=at, correlation_id=correlation_id
    )
    if isinstance(decision, Allowed):
        await queue(uow, portal, answer, correlation_id, None)


async def _answer(
    uow: UnitOfWork, r: Organisation, d: AnswerDraft, cid: str, at: datetime, h: dict[str, str] | None
) -> None:
    await send_answer(uow, r, d, cid, at, h)


async def _portal(
    uow: UnitOfWork, r: Organisation, d: PortalDraft, cid: str, at: datetime, h: dict[str, str] | None
) -> None:
    await send_to_portal(uow, r, d.uln, d.answer, d.what, at, cid)


async def _partner(
    uow: UnitOfWork, r: Organisation, d: PartnerDraft, cid: str, at: datetime, h: dict[str, str] | None
) -> None:
    if d.delivery is not None:  # a backfill page's items go before the page's answer
        await deliver(uow, r, d.delivery[0], d.delivery[1], at, cid)
    await answer_partner(uow, r, d.answer, cid, at)


async def _record(
    uow: UnitOfWork, r: Organisation, d: RecordDraft, cid: str, at: datetime, h: dict[str, str] | None
) -> None:
    await send_record(uow, r, d, at, cid)


# Each kind of draft's sender: (uow, recipient, draft, correlation_id, at, headers); the learner
# portal's and partners' answers are queued without the request's headers. A test checks that
# every kind of Draft has one.
SENDERS: dict[
    type, Callable[[UnitOfWork, Organisation, Any, str, datetime, dict[str, str] | None], Awaitable[None]]
] = {
    AnswerDraft: _answer,
    VerificationDraft: send_verification,
    OutcomesDraft: send_outcomes,
    ReplyDraft: send_reply,
    PortalDraft: _portal,
    PartnerDraft: _partner,
    RecordDraft: _record,
}
