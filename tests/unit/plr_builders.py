"""Builders and readers for the PLR's unit tests: message bodies, sending, and what came out.

Messages go through hub.pipeline.inbound.handle_inbound, which dates them by the clock (UTC), so dates
that must be "today" or "in the future" are computed from `hub_today()`, not builders.TODAY.
"""

import uuid
from datetime import UTC, date, datetime
from typing import Any

from contracts.learner import MessageRejected
from contracts.plr import (
    AmendAchievement,
    LearningEventOutcomes,
    PublishEnrolment,
    SubmitAchievement,
    WithdrawAchievement,
)
from hub.kernel.model import EventKind, LearningEvent, Organisation
from hub.kernel.ports import AuditEntry, OutboundMessage
from hub.pipeline.inbound import Handled, InboundMessage, handle_inbound
from hub.pipeline.routing import EVENTS_EXCHANGE, OUTBOUND_EXCHANGE

from .builders import inbound
from .fakes import FakeUnitOfWorkFactory

SUBMIT = SubmitAchievement.message_type
AMEND = AmendAchievement.message_type
WITHDRAW = WithdrawAchievement.message_type
PUBLISH = PublishEnrolment.message_type

# Amelia Okafor, as builders.details() registers her.
AMELIA = {"given_name": "Amelia", "family_name": "Okafor", "date_of_birth": "2008-04-12"}


def hub_today() -> date:
    """The date handle_inbound judges dates by."""
    return datetime.now(UTC).date()


def fresh_ref(prefix: str = "R") -> str:
    """A sender's own id for a record (result id, enrolment id) nobody else in the run has."""
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


def achievement_body(uln: str, result_id: str, **overrides: Any) -> dict[str, Any]:
    """An achievement record (a GCSE in mathematics, grade 7) as JSON carries it, without its action."""
    body: dict[str, Any] = {
        "result_id": result_id,
        "version": 1,
        "uln": uln,
        **AMELIA,
        "subject_code": "601/4567/X",
        "subject": "Mathematics",
        "level": "2",
        "qualification_type": "GCSE",
        "grade": "7",
        "award_date": "2024-08-22",
        "status": "Final",
    }
    return body | overrides


def submit_body(uln: str, result_id: str, **overrides: Any) -> dict[str, Any]:
    return {"action": "submit"} | achievement_body(uln, result_id, **overrides)


def amend_body(uln: str, result_id: str, version: int, **overrides: Any) -> dict[str, Any]:
    return {"action": "amend"} | achievement_body(uln, result_id, version=version, **overrides)


def withdraw_body(result_id: str, version: int, reason: str = "entered in error", **overrides: Any) -> dict[str, Any]:
    return {"action": "withdraw", "result_id": result_id, "version": version, "reason": reason} | overrides


def enrolment_body(org: Organisation, uln: str, enrolment_id: str, **overrides: Any) -> dict[str, Any]:
    """A provider's enrolment of Amelia on an A level maths aim, as JSON carries it."""
    body: dict[str, Any] = {
        "ukprn": org.org_id,
        "enrolment_id": enrolment_id,
        "version": 1,
        "uln": uln,
        **AMELIA,
        "learning_aim_reference": "50079116",
        "learning_aim_title": "GCE A Level in Mathematics",
        "start_date": "2024-09-02",
        "planned_end_date": "2026-06-30",
    }
    return body | overrides


def verify_item(uln: str, **overrides: Any) -> dict[str, Any]:
    """One learner to verify: Amelia's ULN and names."""
    return {"uln": uln, "given_name": "Amelia", "family_name": "Okafor"} | overrides


async def send(
    hub_db: FakeUnitOfWorkFactory, sender: Organisation, body: dict[str, Any], message_type: str, **kw: Any
) -> tuple[Handled, InboundMessage]:
    """Deliver one message from `sender`, routed as its own, and handle it."""
    message = inbound(sender.org_id, body, message_type, **kw)
    return await handle_inbound(hub_db, message), message


def outbound_to(hub_db: FakeUnitOfWorkFactory, org: Organisation) -> list[OutboundMessage]:
    """Everything queued for `org`, in order."""
    return [m for m in hub_db.state.outbox if m.exchange == OUTBOUND_EXCHANGE and m.routing_key == org.org_id]


def published(hub_db: FakeUnitOfWorkFactory, message_type: str | None = None) -> list[OutboundMessage]:
    """The hub's events on lrs.events, of one type if given."""
    return [
        m
        for m in hub_db.state.outbox
        if m.exchange == EVENTS_EXCHANGE and (message_type is None or m.message_type == message_type)
    ]


def last_receipt(hub_db: FakeUnitOfWorkFactory, org: Organisation) -> LearningEventOutcomes:
    """The last plr.outcomes.v1 queued for `org`."""
    [*_, last] = [m for m in outbound_to(hub_db, org) if m.message_type == LearningEventOutcomes.message_type]
    return LearningEventOutcomes.model_validate(last.body)


def last_rejection(hub_db: FakeUnitOfWorkFactory, org: Organisation) -> MessageRejected:
    """The last message.rejected.v1 queued for `org`."""
    [*_, last] = [m for m in outbound_to(hub_db, org) if m.message_type == MessageRejected.message_type]
    return MessageRejected.model_validate(last.body)


def audited(hub_db: FakeUnitOfWorkFactory, what: str) -> list[AuditEntry]:
    """The audit entries of one kind of disclosure, in order."""
    return [e for e in hub_db.state.audit if e.what == what]


def entry_of(hub_db: FakeUnitOfWorkFactory, org: Organisation, kind: EventKind, ref: str) -> LearningEvent:
    """The one stored PLR entry `org` sent under its own id `ref`."""
    [entry] = [
        e for e in hub_db.state.events.values() if (e.source_org, e.kind, e.source_ref) == (org.org_id, kind, ref)
    ]
    return entry
