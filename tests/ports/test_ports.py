"""One contract per port, run over the in-memory fakes and over the PostgreSQL adapters, so the
fakes the unit tier relies on cannot drift from what the real adapters do."""

from dataclasses import replace
from datetime import UTC, datetime

import pytest

from contracts.codes import OrganisationKind
from hub.errors import TransientError
from hub.model import Organisation
from hub.policy import Consent
from hub.ports import InboxKey, InboxRecord
from tests.conftest import new_ukprn
from tests.unit.builders import learner

from .conftest import NewUow


async def _registered(new_uow: NewUow) -> str:
    someone, college = learner(), Organisation(new_ukprn(), OrganisationKind.PROVIDER, "A College")
    async with new_uow() as uow:
        await uow.organisations.add(college)
        await uow.learners.add(someone, college.org_id)
        await uow.commit()
    return someone.uln


async def test_a_consent_version_replaces_only_the_one_before_it(new_uow: NewUow) -> None:
    """Version n+1 replaces version n; a stale version (two changes at once) is refused as transient."""
    uln = await _registered(new_uow)
    first = Consent(uln, version=1, sharing=True)
    async with new_uow() as uow:
        await uow.sharing.save_consent(first)
        await uow.commit()
    async with new_uow() as uow:
        await uow.sharing.save_consent(replace(first, version=2, sharing=False))
        await uow.commit()
    async with new_uow() as uow:
        with pytest.raises(TransientError):
            await uow.sharing.save_consent(replace(first, version=2, basic_only=True))  # read 1, 2 won meanwhile
    async with new_uow() as uow:
        stored = (await uow.sharing.consents([uln]))[uln]

    assert (stored.version, stored.sharing, stored.basic_only) == (2, False, False)


async def test_the_inbox_keeps_each_senders_ids_apart(new_uow: NewUow) -> None:
    """A record is found under its own (consumer, sender, id) only, and only once committed."""
    mine, theirs = InboxKey("requests", "10000001", "m-1"), InboxKey("requests", "10000002", "m-1")
    async with new_uow() as uow:
        await uow.inbox.record(mine, InboxRecord("0" * 64, None))
    async with new_uow() as uow:
        assert await uow.inbox.get(mine) is None  # rolled back: never committed
        await uow.inbox.record(mine, InboxRecord("0" * 64, "refused: why"))
        await uow.commit()
    async with new_uow() as uow:
        assert (await uow.inbox.get(mine), await uow.inbox.get(theirs)) == (InboxRecord("0" * 64, "refused: why"), None)


async def test_an_organisation_is_stored_as_added(new_uow: NewUow) -> None:
    org = Organisation(new_ukprn(), OrganisationKind.PARTNER, "A University")
    async with new_uow() as uow:
        await uow.organisations.add(org)
        await uow.commit()
    async with new_uow() as uow:
        assert await uow.organisations.get(org.org_id) == org
        assert await uow.organisations.get(new_ukprn()) is None


async def test_acknowledging_unknown_or_foreign_notices_acknowledges_nothing(new_uow: NewUow) -> None:
    partner = Organisation(new_ukprn(), OrganisationKind.PARTNER, "A University")
    async with new_uow() as uow:
        await uow.organisations.add(partner)
        await uow.commit()
    async with new_uow() as uow:
        acked = await uow.sharing.acknowledge(partner.org_id, ["not-a-notice", "0" * 8], datetime.now(UTC))
    assert acked == []
