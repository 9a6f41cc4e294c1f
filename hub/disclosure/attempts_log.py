"""Checks of a learner's details, in the log of the learner they named, whatever message asked."""

from collections.abc import Sequence
from datetime import datetime

from hub.disclosure.decision import VERIFICATION_FIELDS, Allowed, Decision, Refused, audit
from hub.kernel.model import Organisation
from hub.kernel.ports import UnitOfWork
from hub.kernel.vocabulary import Purpose, What
from hub.pipeline.drafts import Attempt, VerifiedItem
from hub.records import attempts


def attempt_of(item: VerifiedItem, gate: Decision) -> tuple[Decision, str]:
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
        return Allowed(None, VERIFICATION_FIELDS), f"verified {attempt.code}"
    why = f": {', '.join(attempt.differing)} did not match" if attempt.differing else ""
    why += f": {attempt.note}" if attempt.note else ""
    return Allowed(None, ("response_code",)), f"not verified {attempt.code}{why}"


async def audit_attempt(
    uow: UnitOfWork,
    at: datetime,
    recipient: Organisation,
    uln: str | None,
    decision: Decision,
    outcome: str,
    correlation_id: str | None,
) -> None:
    """Log one check as a verification, its outcome the entry's reason, allowed or not."""
    await audit(
        uow,
        decision,
        at=at,
        recipient=recipient.org_id,
        uln=uln,
        what=What.VERIFICATION,
        purpose=Purpose.VERIFICATION,
        correlation_id=correlation_id,
        reason=outcome,
    )


async def audit_attempts(
    uow: UnitOfWork, at: datetime, recipient: Organisation, checks: Sequence[Attempt], correlation_id: str | None
) -> None:
    """Log every check of a learner's details an achievement, enrolment or record request made,
    in the log of the learner it named, as a verification is logged."""
    for attempt in checks:
        decision, outcome = _checked(attempt)
        await audit_attempt(uow, at, recipient, attempt.about, decision, outcome, correlation_id)
