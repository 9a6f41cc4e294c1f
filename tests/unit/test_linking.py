"""Linked learners: merge, unmerge, and finding likely duplicates."""

from contracts.codes import ResponseCode
from contracts.learner import FindLearnerByUln, LearnersMerged, LearnersUnmerged
from hub.kernel.model import LearnerStatus, Organisation
from hub.register import linking, registration
from hub.register.linking import LinkOutcome

from .builders import NOW, learner
from .fakes import FakeUnitOfWorkFactory


async def _merge(hub_db: FakeUnitOfWorkFactory, master: str, linked: str) -> LinkOutcome:
    async with hub_db() as uow:
        outcome = await linking.merge_learners(uow, master, linked)
        await uow.commit()
    return outcome


async def test_merged_uln_resolves_to_its_master(hub_db: FakeUnitOfWorkFactory, college: Organisation) -> None:
    """After a merge, finding the duplicate's ULN answers WSRC0022 with the master's ULN."""
    master, duplicate = hub_db.add_learner(learner()), hub_db.add_learner(learner())
    assert await _merge(hub_db, master.uln, duplicate.uln) == LinkOutcome(True)
    request = FindLearnerByUln(ukprn=college.org_id, uln=duplicate.uln, given_name="Amelia", family_name="Okafor")
    async with hub_db() as uow:
        draft = await registration.find_by_uln(uow, college, request, NOW)

    assert (draft.code, draft.uln) == (ResponseCode.LINKED_LEARNER, master.uln)
    assert [m.body for m in hub_db.state.outbox] == [
        LearnersMerged(master_uln=master.uln, linked_uln=duplicate.uln).model_dump(mode="json")
    ]


async def test_merging_a_master_repoints_its_links(hub_db: FakeUnitOfWorkFactory) -> None:
    """Merging a learner that already has links moves those links to the new master: links never chain."""
    a, b, c = (hub_db.add_learner(learner()) for _ in range(3))
    await _merge(hub_db, b.uln, c.uln)
    await _merge(hub_db, a.uln, b.uln)

    assert {u: (x.status, x.master_uln) for u, x in hub_db.state.learners.items()} == {
        a.uln: (LearnerStatus.ACTIVE, None),
        b.uln: (LearnerStatus.LINKED, a.uln),
        c.uln: (LearnerStatus.LINKED, a.uln),
    }


async def test_merge_refuses_what_cannot_be_merged(hub_db: FakeUnitOfWorkFactory) -> None:
    """Merging into itself, an unknown or invalid ULN, or an already linked learner is refused with a reason."""
    a, b, c = (hub_db.add_learner(learner()) for _ in range(3))
    await _merge(hub_db, a.uln, b.uln)

    outcomes = [
        await _merge(hub_db, a.uln, a.uln),
        await _merge(hub_db, a.uln, "1000000043"),
        await _merge(hub_db, a.uln, "1234567890"),
        await _merge(hub_db, c.uln, b.uln),
        await _merge(hub_db, b.uln, c.uln),
    ]
    assert [o.applied for o in outcomes] == [False] * 5
    assert outcomes[3].reason == f"{b.uln} is already linked to {a.uln}"


async def test_unmerge_reverses_a_wrong_merge(hub_db: FakeUnitOfWorkFactory) -> None:
    """Unmerging makes the linked learner active again and tells the rest of the hub."""
    master, duplicate = hub_db.add_learner(learner()), hub_db.add_learner(learner())
    await _merge(hub_db, master.uln, duplicate.uln)
    async with hub_db() as uow:
        outcome = await linking.unmerge_learners(uow, master.uln, duplicate.uln)
        await uow.commit()

    assert outcome == LinkOutcome(True)
    assert (hub_db.state.learners[duplicate.uln].status, hub_db.state.outbox[-1].body) == (
        LearnerStatus.ACTIVE,
        LearnersUnmerged(master_uln=master.uln, linked_uln=duplicate.uln).model_dump(mode="json"),
    )


async def test_likely_duplicates_pair_the_same_person_registered_twice(hub_db: FakeUnitOfWorkFactory) -> None:
    """A learner registered twice with a typo is listed once as a likely pair; a stranger is not."""
    first = hub_db.add_learner(learner())
    second = hub_db.add_learner(learner(given_name="Amelai"))
    hub_db.add_learner(learner(given_name="Thomas", family_name="Whitfield", last_known_postcode="LS1 4AP"))
    async with hub_db() as uow:
        pairs = await linking.likely_duplicates(uow, await uow.learners.recent(10))

    assert [(p.uln, p.other_uln) for p in pairs] == [tuple(sorted((first.uln, second.uln)))]
