"""The fakes themselves: staged commits and the same blocking as the PostgreSQL register."""

from datetime import date

from hub.model import Learner, LearnerStatus

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


async def test_candidates_block_as_the_sql_does(hub_db: FakeUnitOfWorkFactory) -> None:
    """Candidates share the date of birth and one name or postcode key, or all three keys without it."""
    born = date(2008, 4, 12)
    same_family = hub_db.add_learner(learner(given_name="Zed", last_known_postcode="M1 1AA"))
    same_given = hub_db.add_learner(learner(family_name="Zed", last_known_postcode="M1 1AA"))
    same_postcode = hub_db.add_learner(learner(given_name="Zed", family_name="Zed"))
    previous_family = hub_db.add_learner(
        learner(given_name="Zed", family_name="Smith", previous_family_name="Okafor", last_known_postcode="M1 1AA")
    )
    other_birthday = hub_db.add_learner(learner(date_of_birth=date(2007, 1, 1)))
    hub_db.add_learner(learner(given_name="Zed", family_name="Zed", last_known_postcode="M1 1AA"))  # dob only
    hub_db.add_learner(learner(family_name="Zed", date_of_birth=date(2007, 1, 1)))  # two keys, other birthday
    merged = learner()
    hub_db.add_learner(Learner(merged.uln, merged.details, status=LearnerStatus.LINKED, master_uln=same_family.uln))
    async with hub_db() as uow:
        found = await uow.learners.candidates(learner(date_of_birth=born).keys)
    assert [c.uln for c in found] == [
        u.uln for u in (same_family, same_given, same_postcode, previous_family, other_birthday)
    ]
