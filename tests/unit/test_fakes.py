"""The fakes themselves: staged commits and the same blocking as the PostgreSQL register."""

from datetime import date

from contracts.learner import Demographics
from hub.kernel.model import Learner, LearnerStatus
from hub.register.blocking import query_block_keys

from .builders import learner, provider
from .fakes import FakeUnitOfWorkFactory


async def test_changes_without_commit_are_discarded(hub_db: FakeUnitOfWorkFactory) -> None:
    """Whatever a unit of work wrote is gone if it ends without commit."""
    amelia = learner()
    async with hub_db() as uow:
        await uow.learners.add(amelia, "10030488")
        await uow.organisations.add(provider())
        assert await uow.learners.get(amelia.uln) == amelia
    assert (hub_db.state.learners, hub_db.state.organisations) == ({}, {})


async def test_committed_changes_are_seen_by_the_next_unit_of_work(hub_db: FakeUnitOfWorkFactory) -> None:
    """A commit makes the staged changes the shared state."""
    amelia = learner()
    async with hub_db() as uow:
        await uow.learners.add(amelia, "10030488")
        await uow.learners.link_provider(amelia.uln, "10030488")
        await uow.commit()
    async with hub_db() as uow:
        assert (await uow.learners.get(amelia.uln), await uow.learners.is_linked(amelia.uln, "10030488")) == (
            amelia,
            True,
        )


async def test_issue_numbers_are_not_rolled_back(hub_db: FakeUnitOfWorkFactory) -> None:
    """Like a database sequence, an issue number taken in a rolled-back unit of work is not given again."""
    async with hub_db() as uow:
        first = await uow.learners.next_issue_number()
    async with hub_db() as uow:
        assert await uow.learners.next_issue_number() == first + 1


async def test_candidates_are_the_active_learners_sharing_a_blocking_key(hub_db: FakeUnitOfWorkFactory) -> None:
    """A search finds learners with one slip in any field, and not linked learners or strangers."""
    query = Demographics(
        given_name="Amelia",
        family_name="Okafor",
        date_of_birth=date(2008, 4, 12),
        gender=2,
        last_known_postcode="SW1A 1AA",
    )
    other_given = hub_db.add_learner(learner(given_name="Zed", last_known_postcode="M1 1AA"))
    other_family = hub_db.add_learner(learner(family_name="Zed", last_known_postcode="M1 1AA"))
    day_month_swapped = hub_db.add_learner(learner(date_of_birth=date(2008, 12, 4), last_known_postcode="M1 1AA"))
    other_year = hub_db.add_learner(learner(date_of_birth=date(2008, 1, 3), last_known_postcode="M1 1AA"))
    previous_family = hub_db.add_learner(
        learner(given_name="Zed", family_name="Smith", previous_family_name="Okafor", last_known_postcode="M1 1AA")
    )
    hub_db.add_learner(learner(given_name="Zed", family_name="Zed", last_known_postcode="M1 1AA"))  # dob only
    merged = learner()
    hub_db.add_learner(Learner(merged.uln, merged.details, status=LearnerStatus.LINKED, master_uln=other_given.uln))
    async with hub_db() as uow:
        found = await uow.learners.candidates(query_block_keys(query))
    assert {c.uln for c in found} == {
        u.uln for u in (other_given, other_family, day_month_swapped, other_year, previous_family)
    }
