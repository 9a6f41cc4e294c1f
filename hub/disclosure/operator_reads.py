"""An operator's readings of a learner's data, to support them: audited like any disclosure."""

from datetime import datetime

from contracts.plr import LearningEventView
from hub import plr
from hub.linking import ulns_of
from hub.ports import AuditEntry, UnitOfWork
from hub.vocabulary import Purpose, What


async def show_record(
    uow: UnitOfWork, operator: str, uln: str, at: datetime
) -> tuple[str | None, list[LearningEventView]]:
    """An operator reads a learner's whole PLR (to support the learner), audited like any disclosure.

    Returns the ULN the record is held under (the master's, when `uln` is linked; None when no
    learner has `uln`) and every entry, withdrawn ones included.
    """
    master, events = await plr.record_of(uow, uln)
    if master is not None:
        entry = AuditEntry.of(
            allowed=True,
            at=at,
            recipient=operator,
            uln=master,
            what=What.FULL_RECORD,
            purpose=Purpose.OPERATOR_SUPPORT,
            fields=tuple(LearningEventView.model_fields),
        )
        await uow.audit.append(entry)
    return master, [plr.view(e) for e in events]


async def show_log(uow: UnitOfWork, operator: str, uln: str, at: datetime) -> tuple[str, list[AuditEntry]]:
    """An operator reads every audit entry about a learner (master and linked ULNs): audited too."""
    master, ulns = await ulns_of(uow, uln)
    entries = await uow.audit.about(ulns)
    entry = AuditEntry.of(
        allowed=True,
        at=at,
        recipient=operator,
        uln=master,
        what=What.AUDIT_LOG,
        purpose=Purpose.OPERATOR_SUPPORT,
        fields=tuple(AuditEntry.__dataclass_fields__),
    )
    await uow.audit.append(entry)
    return master, entries
