"""The outcomes of LRS batch file rows (hub.kernel.ports.Batches), over the fakes and over PostgreSQL."""

import uuid
from dataclasses import replace

from hub.kernel.ports import BatchRowOutcome

from .conftest import Backend
from .seeds import seeded


def _row(batch_id: str, org_id: str, row_number: int, **overrides: object) -> BatchRowOutcome:
    fields: dict[str, object] = {
        "batch_id": batch_id,
        "org_id": org_id,
        "row_number": row_number,
        "total_rows": 3,
        "return_code": "RC001",
        "response_code": "WSRC0004",
        "uln": "9000000008",
        "reason": "",
        "mis_identifier": f"MIS-{row_number}",
    }
    return BatchRowOutcome(**(fields | overrides))  # type: ignore[arg-type]


async def test_a_batchs_row_outcomes_are_kept_at_commit_and_a_row_answered_again_replaces_its_first(
    backend: Backend,
) -> None:
    """Each row's outcome is written at commit, once per row: a row handled again (a replay) keeps its last."""
    org_id, batch_id = await seeded(backend.new_uow), f"B-{uuid.uuid4().hex[:10]}"
    first, second = _row(batch_id, org_id, 1), _row(batch_id, org_id, 2, uln=None, return_code="RC011")
    again = replace(second, return_code="RC001", response_code="WSRC0004", uln="9000000008", reason="replayed")
    async with backend.new_uow() as uow:
        await uow.batches.record_row(_row(batch_id, org_id, 3))
    async with backend.new_uow() as uow:
        await uow.batches.record_row(second)
        await uow.batches.record_row(first)
        await uow.commit()
    async with backend.new_uow() as uow:
        await uow.batches.record_row(again)
        await uow.commit()
    assert await backend.peek.batch_rows(batch_id) == [first, again]
