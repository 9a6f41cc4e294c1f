"""Acknowledging notices with ids in forms Python's uuid accepts but the hub never issues."""

import uuid
from datetime import UTC, datetime

import pytest

from adapters.bootstrap import Hub
from adapters.postgres.unit_of_work import PostgresUnitOfWork

ISSUED = uuid.uuid4()


@pytest.mark.parametrize(
    "notice_id",
    [f"{{{ISSUED}}}", f"urn:uuid:{ISSUED}", ISSUED.hex, str(ISSUED).upper(), f" {ISSUED}"],
    ids=["braced", "urn", "no hyphens", "upper case", "padded"],
)
async def test_a_notice_id_not_in_the_form_the_hub_issues_is_unknown_not_a_fault(hub: Hub, notice_id: str) -> None:
    """Only the canonical lower-case form the hub sends is looked up; any other is acknowledged as nothing."""
    async with PostgresUnitOfWork(hub.pool) as uow:
        assert await uow.sharing.acknowledge("20000001", [notice_id], datetime.now(UTC)) == []
        await uow.commit()
