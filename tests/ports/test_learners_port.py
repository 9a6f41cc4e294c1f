"""The Learner Register (hub.kernel.ports.LearnerRepository), over the fakes and over PostgreSQL."""

import asyncio
from dataclasses import replace

import pytest

from hub.kernel.errors import TransientError
from hub.kernel.model import Learner, LearnerStatus
from hub.register.blocking import learner_block_keys, query_block_keys
from tests.unit.builders import fresh_uln

from .conftest import KEY_VIOLATION, Backend, NewUow
from .seeds import name, seeded, someone


async def test_a_learner_reads_back_as_added(new_uow: NewUow) -> None:
    """get and get_many return the learner as added (sealed details opened); registered_by names its provider."""
    amelia = someone(email_address="amelia@example.org", notes="prefers Millie", middle_other_name="Grace")
    org_id = await seeded(new_uow, amelia)
    async with new_uow() as uow:
        found = (await uow.learners.get(amelia.uln), await uow.learners.get_many([amelia.uln, fresh_uln()]))
        registrant = await uow.learners.registered_by(amelia.uln)
    assert (found, registrant) == ((amelia, {amelia.uln: amelia}), org_id)


async def test_unknown_ulns_are_absent(new_uow: NewUow) -> None:
    """A ULN nobody has reads as None, is left out of get_many, and has no registrant."""
    async with new_uow() as uow:
        uln = fresh_uln()
        found = (await uow.learners.get(uln), await uow.learners.get_many([uln]), await uow.learners.registered_by(uln))
    assert found == (None, {}, None)


async def test_a_learner_added_without_commit_is_not_in_the_register(new_uow: NewUow) -> None:
    """Read in its own transaction, an added learner is there; left uncommitted, it never was."""
    amelia, org_id = someone(), await seeded(new_uow)
    async with new_uow() as uow:
        await uow.learners.add(amelia, org_id)
        inside = await uow.learners.get(amelia.uln)
    async with new_uow() as uow:
        after = await uow.learners.get(amelia.uln), await uow.learners.candidates(learner_block_keys(amelia))
    assert (inside, after) == (amelia, (None, []))


async def test_adding_a_uln_already_in_the_register_is_refused(new_uow: NewUow) -> None:
    """A ULN is the register's key: a second learner under it is refused, the first stays."""
    amelia = someone()
    org_id = await seeded(new_uow, amelia)
    async with new_uow() as uow:
        with pytest.raises(KEY_VIOLATION):
            await uow.learners.add(replace(someone(), uln=amelia.uln), org_id)
    async with new_uow() as uow:
        assert await uow.learners.get(amelia.uln) == amelia


async def test_an_update_replaces_the_details_and_the_version(new_uow: NewUow) -> None:
    """The next version replaces the learner's details; candidates are then found by the new ones only."""
    amelia = someone()
    await seeded(new_uow, amelia)
    renamed = replace(amelia, details=amelia.details.model_copy(update={"family_name": name()}), version=2)
    async with new_uow() as uow:
        await uow.learners.update(renamed)
        await uow.commit()
    async with new_uow() as uow:
        found = await uow.learners.get(amelia.uln)
        by_old = await uow.learners.candidates(learner_block_keys(amelia) - learner_block_keys(renamed))
        by_new = await uow.learners.candidates(learner_block_keys(renamed) - learner_block_keys(amelia))
    assert (found, by_old, by_new) == (renamed, [], [renamed])


async def test_an_update_that_does_not_follow_the_stored_version_is_refused_as_transient(new_uow: NewUow) -> None:
    """Two updates of the version a provider read: the second changes nothing and is retried (it then
    reads the first's version and is answered 'changed since'), never silently undoing the first."""
    amelia = someone()
    await seeded(new_uow, amelia)
    first = replace(amelia, details=amelia.details.model_copy(update={"notes": "first"}), version=2)
    second = replace(amelia, details=amelia.details.model_copy(update={"notes": "second"}), version=2)
    async with new_uow() as uow:
        await uow.learners.update(first)
        await uow.commit()
    async with new_uow() as uow:
        with pytest.raises(TransientError):
            await uow.learners.update(second)
    async with new_uow() as uow:
        assert await uow.learners.get(amelia.uln) == first


async def test_candidates_are_the_active_learners_sharing_a_key(new_uow: NewUow) -> None:
    """A search finds the active learners indexed under any of its keys, not a linked one, not others."""
    amelia = someone()
    twin = someone(family_name=amelia.details.family_name, date_of_birth=amelia.details.date_of_birth)
    merged = someone(family_name=amelia.details.family_name, date_of_birth=amelia.details.date_of_birth)
    await seeded(new_uow, amelia, twin, merged, someone())
    async with new_uow() as uow:
        await uow.learners.link(merged.uln, twin.uln)
        await uow.commit()
    async with new_uow() as uow:
        found = await uow.learners.candidates(query_block_keys(amelia.details))
        none = await uow.learners.candidates(set())
    expected = [amelia, replace(twin, linked_ulns=[merged.uln])]  # as get() has them, links and all
    assert (sorted(found, key=_uln), none) == (sorted(expected, key=_uln), [])


def _uln(learner: Learner) -> str:
    return learner.uln  # candidates() promises no order


async def test_past_the_cap_candidates_are_those_sharing_the_most_keys(new_uow: NewUow) -> None:
    """200 candidates at most: past that, those sharing the most keys with the search (the right
    learner, registered last among 200 namesakes, is still among them)."""
    amelia = someone(last_known_postcode="SW1A 1AA")
    family, born = amelia.details.family_name, amelia.details.date_of_birth
    # Same family name and birth date (two keys shared), elsewhere and with other given names.
    namesakes = [someone(family_name=family, date_of_birth=born, last_known_postcode="M1 1AE") for _ in range(200)]
    await seeded(new_uow, *namesakes, amelia)
    async with new_uow() as uow:
        found = await uow.learners.candidates(learner_block_keys(amelia))
    assert (len(found), amelia.uln in {x.uln for x in found}) == (200, True)


async def test_a_linked_uln_names_its_master_and_the_master_lists_it(new_uow: NewUow) -> None:
    """link() makes a learner linked to its master (which then lists it); link(None) makes it active again."""
    master, other = someone(), someone()
    await seeded(new_uow, master, other)
    async with new_uow() as uow:
        await uow.learners.link(other.uln, master.uln)
        await uow.commit()
    async with new_uow() as uow:
        merged = await uow.learners.get_many([master.uln, other.uln])
        await uow.learners.link(other.uln, None)
        await uow.commit()
    async with new_uow() as uow:
        unmerged = await uow.learners.get_many([master.uln, other.uln])
    assert (merged, unmerged) == (
        {
            master.uln: replace(master, linked_ulns=[other.uln]),
            other.uln: replace(other, status=LearnerStatus.LINKED, master_uln=master.uln),
        },
        {master.uln: master, other.uln: other},
    )


async def test_linked_ulns_are_read_from_the_links_not_from_the_learner_added(new_uow: NewUow) -> None:
    """A learner's linked ULNs are those linked to it now, whatever the Learner it was added as said."""
    claims = someone()
    claims.linked_ulns = [fresh_uln()]
    await seeded(new_uow, claims)
    async with new_uow() as uow:
        found = await uow.learners.get(claims.uln)
    assert found == replace(claims, linked_ulns=[])


async def test_recent_lists_the_latest_active_registrations_first(new_uow: NewUow) -> None:
    """The most recently registered active learners first, within a transaction too; linked ones left out."""
    first, second, third, linked = someone(), someone(), someone(), someone()
    await seeded(new_uow, first)
    await seeded(new_uow, second, third, linked)
    async with new_uow() as uow:
        await uow.learners.link(linked.uln, first.uln)
        await uow.commit()
    async with new_uow() as uow:
        found = await uow.learners.recent(3), await uow.learners.recent(1)
    assert found == ([third.uln, second.uln, first.uln], [third.uln])


async def test_issue_numbers_are_never_handed_out_twice_even_after_a_rollback(new_uow: NewUow) -> None:
    """Like a sequence: each number is new and larger, and one taken in a rolled-back transaction stays used."""
    async with new_uow() as uow:
        rolled_back = await uow.learners.next_issue_number()
    async with new_uow() as uow:
        later = [await uow.learners.next_issue_number() for _ in range(3)]
    assert [rolled_back, *later] == sorted(set([rolled_back, *later]))


async def test_locking_a_birth_date_makes_the_next_registration_of_it_wait(new_uow: NewUow) -> None:
    """A second transaction locking the same date waits until the first ends, then sees its learner."""
    amelia = someone()
    org_id = await seeded(new_uow)
    born = amelia.details.date_of_birth
    seen: list[list[Learner]] = []

    async def second() -> None:
        async with new_uow() as uow:
            await uow.learners.lock_births_on(born)
            seen.append(await uow.learners.candidates(learner_block_keys(amelia)))

    async with new_uow() as uow:
        await uow.learners.lock_births_on(born)
        waiting = asyncio.create_task(second())
        await asyncio.sleep(0.2)
        while_locked = list(seen)
        await uow.learners.add(amelia, org_id)
        await uow.commit()
    await asyncio.wait_for(waiting, 5)
    assert (while_locked, seen) == ([], [[amelia]])


async def test_a_provider_link_is_seen_at_once_kept_at_commit_and_dropped_on_rollback(new_uow: NewUow) -> None:
    """is_linked is true in the linking transaction, after its commit, and twice-linked is once; not otherwise."""
    amelia, kept, dropped = someone(), await seeded(new_uow), await seeded(new_uow)
    registrant = await seeded(new_uow, amelia)
    async with new_uow() as uow:
        await uow.learners.link_provider(amelia.uln, kept)
        await uow.learners.link_provider(amelia.uln, kept)
        inside = await uow.learners.is_linked(amelia.uln, kept)
        await uow.commit()
    async with new_uow() as uow:
        await uow.learners.link_provider(amelia.uln, dropped)
    async with new_uow() as uow:
        after = [await uow.learners.is_linked(amelia.uln, org) for org in (kept, dropped, registrant)]
    assert (inside, after) == (True, [True, False, False])


async def test_a_registration_override_is_kept_with_its_reason_and_candidates(backend: Backend) -> None:
    """Why a provider had a new ULN issued despite possible matches is written at commit, and only then."""
    amelia, possible, dropped = someone(), someone(), someone()
    org_id = await seeded(backend.new_uow, amelia, possible, dropped)
    async with backend.new_uow() as uow:
        await uow.learners.record_override(amelia.uln, org_id, "not the same person", [possible.uln])
        await uow.commit()
    async with backend.new_uow() as uow:
        await uow.learners.record_override(dropped.uln, org_id, "never committed", [])
    found = await backend.peek.override(amelia.uln), await backend.peek.override(dropped.uln)
    assert found == ((org_id, "not the same person", [possible.uln]), None)


async def test_a_uln_has_one_registration_override(new_uow: NewUow) -> None:
    """A ULN is issued once, so it is overridden once: a second override of it is refused."""
    amelia = someone()
    org_id = await seeded(new_uow, amelia)
    async with new_uow() as uow:
        await uow.learners.record_override(amelia.uln, org_id, "not the same person", [])
        await uow.commit()
    with pytest.raises(KEY_VIOLATION):
        async with new_uow() as uow:
            await uow.learners.record_override(amelia.uln, org_id, "again", [])
            await uow.commit()
