"""An operator's readings of a learner's data, to support them: audited like any disclosure."""

from datetime import datetime

from contracts.plr import LearningEventView
from hub.kernel.ports import AuditEntry, UnitOfWork
from hub.kernel.vocabulary import Purpose, What
from hub.records import plr
from hub.register.linking import ulns_of


async def show_record(
    uow: UnitOfWork, operator: str, uln: str, at: datetime
) -> tuple[str | None, list[LearningEventView]]:
    """An operator reads a learner's whole PLR (to support the learner), audited like any disclosure.

    Returns the ULN the record is held under (the master's, when `uln` is linked; None when no
    learner has `uln`) and every entry, withdrawn ones included.
    """
    master, events = await plr.record_of(uow, uln)
    if master is not None:
        await _audit_read(uow, operator, master, What.FULL_RECORD, tuple(LearningEventView.model_fields), at)
    return master, [plr.view(e) for e in events]


async def show_log(uow: UnitOfWork, operator: str, uln: str, at: datetime) -> tuple[str, list[AuditEntry]]:
    """An operator reads every audit entry about a learner (master and linked ULNs): audited too."""
    master, ulns = await ulns_of(uow, uln)
    entries = await uow.audit.about(ulns)
    await _audit_read(uow, operator, master, What.AUDIT_LOG, tuple(AuditEntry.__dataclass_fields__), at)
    return master, entries


async def _audit_read(
    uow: UnitOfWork, operator: str, uln: str, what: What, fields: tuple[str, ...], at: datetime
) -> None:
    """An operator's read of a learner's data, audited like any disclosure."""
    entry = AuditEntry.of(
        allowed=True, at=at, recipient=operator, uln=uln, what=what, purpose=Purpose.OPERATOR_SUPPORT, fields=fields
    )
    await uow.audit.append(entry)
