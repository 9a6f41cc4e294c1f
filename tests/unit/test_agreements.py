"""hub.sharing.agreements: an agreement names only purposes a partner could send on the wire."""

import pytest

from contracts.sharing import RequestRecord
from hub.kernel import clock
from hub.sharing import agreements
from hub.sharing.agreements import AgreementChange

from .fakes import FakeUnitOfWorkFactory
from .sharing_builders import agreement_of, in_uow, partner, with_agreement

SPACED = "careers advice"
WHY = (
    "purpose 'careers advice' is not valid: 2-50 lower-case letters, digits and underscores, starting with a "
    "letter (e.g. admissions, careers_advice)"
)


def test_the_wire_refuses_a_spaced_purpose() -> None:
    """A record request for "careers advice" is refused by the contract, so no agreement may name it."""
    with pytest.raises(ValueError, match="purpose"):
        RequestRecord(uln="9276308686", given_name="Amelia", family_name="Okafor", purpose=SPACED)


async def test_approving_an_agreement_for_a_purpose_the_wire_refuses_is_refused(
    hub_db: FakeUnitOfWorkFactory,
) -> None:
    """Approving an agreement for "careers advice" is refused with the rule, and nothing is saved."""
    org = hub_db.add_organisation(partner())
    draft = agreement_of(org, purposes=frozenset({"admissions", SPACED}))
    change = await in_uow(hub_db, lambda uow: agreements.approve(uow, draft))
    assert (change, hub_db.state.agreements) == (AgreementChange(False, reason=WHY), [])


async def test_amending_an_agreement_to_a_purpose_the_wire_refuses_is_refused(
    hub_db: FakeUnitOfWorkFactory,
) -> None:
    """Amending an agreement to cover "careers advice" is refused, and the agreement stays as it was."""
    org = hub_db.add_organisation(partner())
    current = with_agreement(hub_db, org)
    change = await in_uow(
        hub_db, lambda uow: agreements.change(uow, current.agreement_id, now=clock.now(), purposes=frozenset({SPACED}))
    )
    assert (change, hub_db.state.agreements) == (AgreementChange(False, current, reason=WHY), [current])


async def test_approving_an_agreement_for_a_valid_purpose_applies(hub_db: FakeUnitOfWorkFactory) -> None:
    """Approving an agreement for careers_advice applies it (version 1, active)."""
    org = hub_db.add_organisation(partner())
    draft = agreement_of(org, purposes=frozenset({"careers_advice"}))
    change = await in_uow(hub_db, lambda uow: agreements.approve(uow, draft))
    assert (change.applied, [a.purposes for a in hub_db.state.agreements]) == (True, [frozenset({"careers_advice"})])


async def test_an_agreement_with_an_old_unusable_purpose_can_still_be_revoked(hub_db: FakeUnitOfWorkFactory) -> None:
    """An agreement saved before purposes were checked ("careers advice") can still be revoked."""
    org = hub_db.add_organisation(partner())
    current = with_agreement(hub_db, org, purposes=frozenset({SPACED}))
    change = await in_uow(hub_db, lambda uow: agreements.revoke(uow, current.agreement_id, now=clock.now()))
    assert (change.applied, [a.status.value for a in hub_db.state.agreements]) == (True, ["active", "revoked"])
