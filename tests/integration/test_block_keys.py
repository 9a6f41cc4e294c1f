"""Candidate retrieval by blocking keys in PostgreSQL, and re-keying rows indexed under older keys."""

from datetime import date

from adapters.bootstrap import Hub
from adapters.postgres.reindex import reindex_block_keys
from contracts.codes import OrganisationKind
from contracts.learner import Demographics
from hub.kernel.model import Learner, Organisation
from hub.register.blocking import BLOCK_KEYS_VERSION, query_block_keys
from tests.conftest import new_ukprn
from tests.integration.conftest import Cli
from tests.unit.builders import learner

# The registered learner's demographics with the date of birth wholly replaced (year and month).
_BORN_WRONG = {"date_of_birth": date(2001, 2, 14)}


async def _register(hub: Hub, someone: Learner) -> None:
    college = Organisation(new_ukprn(), OrganisationKind.PROVIDER, "A College")
    async with hub.new_uow() as uow:
        await uow.organisations.add(college)
        await uow.learners.add(someone, college.org_id)
        await uow.commit()


def _query(someone: Learner, **changes: object) -> Demographics:
    fields = someone.details.model_dump(
        include={"given_name", "family_name", "date_of_birth", "gender", "last_known_postcode"}
    )
    return Demographics.model_validate(fields | changes)


async def _candidates(hub: Hub, query: Demographics) -> list[str]:
    async with hub.new_uow() as uow:
        return [c.uln for c in await uow.learners.candidates(query_block_keys(query))]


async def test_a_learner_whose_date_of_birth_is_wholly_wrong_is_still_a_candidate(hub: Hub) -> None:
    """Both names and the postcode district find the learner when no date-of-birth key can (issue 13)."""
    someone = learner(date_of_birth=date(2009, 6, 3))
    await _register(hub, someone)

    assert await _candidates(hub, _query(someone, **_BORN_WRONG)) == [someone.uln]


async def test_reindex_gives_rows_written_under_older_keys_the_current_ones(hub: Hub) -> None:
    """A row of key version 1 lacks the new keys until `hub learners reindex`; a second run does nothing."""
    someone = learner(date_of_birth=date(2009, 6, 3))
    await _register(hub, someone)
    async with hub.pool.acquire() as conn:
        assert await conn.fetchval("SELECT block_keys_version FROM learner WHERE uln = $1", someone.uln) == 2
        # As a row written before migration 0019: no keys of the new kind (here none at all), version 1.
        await conn.execute("DELETE FROM learner_block WHERE uln = $1", someone.uln)
        await conn.execute("UPDATE learner SET block_keys_version = 1 WHERE uln = $1", someone.uln)
    before = await _candidates(hub, _query(someone, **_BORN_WRONG))

    rekeyed = [await reindex_block_keys(hub.pool, chunk=1), await reindex_block_keys(hub.pool, chunk=1)]

    after = await _candidates(hub, _query(someone, **_BORN_WRONG)), await _candidates(hub, _query(someone))
    async with hub.pool.acquire() as conn:
        version = await conn.fetchval("SELECT block_keys_version FROM learner WHERE uln = $1", someone.uln)
    assert (before, rekeyed, after, version) == ([], [1, 0], ([someone.uln], [someone.uln]), BLOCK_KEYS_VERSION)


async def test_hub_learners_reindex_says_how_many_rows_it_rekeyed(hub: Hub, cli: Cli) -> None:
    """The operator's command re-keys the rows behind and reports the count; run again, it finds none."""
    someone = learner()
    await _register(hub, someone)
    async with hub.pool.acquire() as conn:
        await conn.execute("UPDATE learner SET block_keys_version = 1 WHERE uln = $1", someone.uln)

    first, second = await cli("learners", "reindex"), await cli("learners", "reindex")

    assert [(r.exit_code, r.output) for r in (first, second)] == [
        (0, "1 learner row(s) re-keyed under the current blocking keys\n"),
        (0, "0 learner row(s) re-keyed under the current blocking keys\n"),
    ]
