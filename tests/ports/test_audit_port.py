"""The audit log (hub.kernel.ports.AuditLog), over the fakes and over PostgreSQL."""

from datetime import UTC, datetime, timedelta

from hub.kernel.ports import AuditEntry
from hub.kernel.vocabulary import Purpose, What

from .conftest import NewUow
from .seeds import organisation, seeded, someone

AT = datetime(2026, 11, 2, 14, 0, tzinfo=UTC)


def _entry(uln: str | None, minutes: int, **overrides: object) -> AuditEntry:
    fields: dict[str, object] = {
        "allowed": True,
        "at": AT + timedelta(minutes=minutes),
        "recipient": organisation().org_id,
        "uln": uln,
        "what": What.ANSWER,
        "purpose": Purpose.RECEIPT,
    }
    return AuditEntry.of(**(fields | overrides))  # type: ignore[arg-type]


async def test_entries_about_learners_read_back_oldest_first_with_this_transactions_own(new_uow: NewUow) -> None:
    """about() lists every entry about those learners as written, in the order appended, this transaction's last."""
    amelia, other, stranger = someone(), someone(), someone()
    await seeded(new_uow, amelia, other, stranger)
    refused = _entry(
        amelia.uln,
        1,
        allowed=False,
        reason="no agreement covers it",
        fields=("grade",),
        correlation_id="c-1",
        agreement_id="DSA-1",
        agreement_version=2,
        consent_version=3,
    )
    first, about_other, nobody = _entry(amelia.uln, 0), _entry(other.uln, 2), _entry(None, 3)
    async with new_uow() as uow:
        for e in (first, refused, about_other, nobody, _entry(stranger.uln, 4)):
            await uow.audit.append(e)
        await uow.commit()
    later = _entry(amelia.uln, -60)  # appended later, whatever its time says
    async with new_uow() as uow:
        await uow.audit.append(later)
        inside = await uow.audit.about([amelia.uln, other.uln])
        await uow.commit()
    async with new_uow() as uow:
        after, none = await uow.audit.about([other.uln, amelia.uln]), await uow.audit.about([])
    assert inside == after == [first, refused, about_other, later]
    assert none == []


async def test_entries_appended_without_commit_are_not_kept(new_uow: NewUow) -> None:
    amelia = someone()
    await seeded(new_uow, amelia)
    async with new_uow() as uow:
        await uow.audit.append(_entry(amelia.uln, 0))
    async with new_uow() as uow:
        assert await uow.audit.about([amelia.uln]) == []
