"""The organisation register (hub.kernel.ports.OrganisationRepository), over the fakes and over PostgreSQL."""

from dataclasses import replace

from contracts.codes import OrganisationKind
from hub.kernel.model import OrganisationStatus

from .conftest import NewUow
from .seeds import organisation


async def test_an_organisation_is_stored_as_added(new_uow: NewUow) -> None:
    """get returns the organisation as added; an id nobody has reads as None."""
    org, nobody = organisation(OrganisationKind.PARTNER), organisation()
    async with new_uow() as uow:
        await uow.organisations.add(org)
        await uow.commit()
    async with new_uow() as uow:
        assert (await uow.organisations.get(org.org_id), await uow.organisations.get(nobody.org_id)) == (org, None)


async def test_adding_an_organisation_again_replaces_it_at_once(new_uow: NewUow) -> None:
    """A second add (a suspension, a new name) replaces the first, read in its own transaction too."""
    org = organisation()
    suspended = replace(org, name="Renamed College", status=OrganisationStatus.SUSPENDED)
    async with new_uow() as uow:
        await uow.organisations.add(org)
        await uow.commit()
    async with new_uow() as uow:
        before = await uow.organisations.get(org.org_id)
        await uow.organisations.add(suspended)
        inside = await uow.organisations.get(org.org_id)
        await uow.commit()
    async with new_uow() as uow:
        after = await uow.organisations.get(org.org_id)
    assert (before, inside, after) == (org, suspended, suspended)


async def test_an_organisation_added_without_commit_is_not_kept(new_uow: NewUow) -> None:
    org = organisation()
    async with new_uow() as uow:
        await uow.organisations.add(org)
        inside = await uow.organisations.get(org.org_id)
    async with new_uow() as uow:
        assert (inside, await uow.organisations.get(org.org_id)) == (org, None)
