"""The unit of work itself (hub.kernel.ports.UnitOfWork): one transaction, over the fakes and over PostgreSQL."""

import uuid
from datetime import UTC, datetime

import pytest

from contracts.codes import OrganisationKind
from hub.kernel.model import EventKind
from hub.kernel.ports import AuditEntry, BatchRowOutcome, DeliveryRecord, InboxKey, InboxRecord, OutboundMessage
from hub.kernel.vocabulary import Purpose, What
from hub.sharing.policy import Consent, Feed

from .conftest import Backend
from .seeds import entry, organisation, seeded, someone

AT = datetime(2026, 11, 2, 14, 0, tzinfo=UTC)


class _Boom(Exception):
    pass


async def _write_everything(backend: Backend, commit: bool) -> dict[str, object]:
    """Write through every repository in one unit of work (committed or not); return what to look for."""
    amelia = someone()
    ao = await seeded(backend.new_uow, amelia, kind=OrganisationKind.AWARDING_ORGANISATION)
    college, partner = organisation(), await seeded(backend.new_uow, kind=OrganisationKind.PARTNER)
    key, gcse, newcomer = InboxKey("requests", ao, str(uuid.uuid4())), entry(amelia.uln, ao, loaded_at=AT), someone()
    batch_id = f"B-{uuid.uuid4().hex[:10]}"
    async with backend.new_uow() as uow:
        await uow.organisations.add(college)
        await uow.learners.add(newcomer, ao)
        await uow.learners.link_provider(amelia.uln, ao)
        await uow.plr.save(gcse)
        await uow.sharing.save_consent(Consent(amelia.uln, version=1, sharing=True))
        record = DeliveryRecord(
            partner, amelia.uln, Feed.ACHIEVEMENTS, gcse.event_id, 1, ("grade",), "D", 1, 1, "p", AT
        )
        await uow.sharing.delivered([record])
        await uow.inbox.record(key, InboxRecord("0" * 64, None))
        await uow.outbox.add(OutboundMessage("lrs.outbound", ao, "learner.answer.v1", {"ok": True}))
        entry_ = AuditEntry.of(
            allowed=True, at=AT, recipient=ao, what=What.ANSWER, purpose=Purpose.RECEIPT, uln=amelia.uln
        )
        await uow.audit.append(entry_)
        await uow.attempts.failed(ao, amelia.uln, AT)
        await uow.batches.record_row(BatchRowOutcome(batch_id, ao, 1, 1, "RC001", None, None, ""))
        if commit:
            await uow.commit()
    async with backend.new_uow() as uow:
        return {
            "organisation": await uow.organisations.get(college.org_id),
            "learner": await uow.learners.get(newcomer.uln),
            "provider link": await uow.learners.is_linked(amelia.uln, ao),
            "entry": await uow.plr.by_source(ao, EventKind.ACHIEVEMENT, [gcse.source_ref]),
            "consent": await uow.sharing.consents([amelia.uln]),
            "held": await uow.sharing.held(partner=partner),
            "inbox": await uow.inbox.get(key),
            "outbox": await backend.peek.outbox(ao),
            "audit": await uow.audit.about([amelia.uln]),
            "attempts": await uow.attempts.failures(ao, [amelia.uln], datetime(2026, 1, 1, tzinfo=UTC)),
            "batch rows": await backend.peek.batch_rows(batch_id),
        }


async def test_a_unit_of_work_left_without_commit_writes_nothing(backend: Backend) -> None:
    """Whatever every repository was given, leaving without commit leaves no trace of it."""
    found = await _write_everything(backend, commit=False)
    assert found == {
        "organisation": None,
        "learner": None,
        "provider link": False,
        "entry": {},
        "consent": {},
        "held": [],
        "inbox": None,
        "outbox": [],
        "audit": [],
        "attempts": {},
        "batch rows": [],
    }


async def test_a_committed_unit_of_work_writes_everything_at_once(backend: Backend) -> None:
    """The same writes, committed, are all there for the next unit of work."""
    found = await _write_everything(backend, commit=True)
    assert {name for name, value in found.items() if not value} == set()


async def test_a_fault_inside_a_unit_of_work_rolls_it_back_and_is_raised(backend: Backend) -> None:
    """An exception leaving `async with` undoes the transaction and goes on up unchanged."""
    org = organisation()
    with pytest.raises(_Boom):
        async with backend.new_uow() as uow:
            await uow.organisations.add(org)
            raise _Boom
    async with backend.new_uow() as uow:
        assert await uow.organisations.get(org.org_id) is None
