"""The Personal Learning Records (hub.kernel.ports.LearningEvents), over the fakes and over PostgreSQL."""

import asyncio
import copy
import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from contracts.codes import OrganisationKind
from hub.kernel.model import Challenge, ChallengeStatus, EventKind, LearningEvent

from .conftest import KEY_VIOLATION, NewUow
from .seeds import entry, organisation, seeded, someone

T0 = datetime(2026, 8, 20, 9, 0, tzinfo=UTC)


async def _learner_and_sender(new_uow: NewUow) -> tuple[str, str]:
    """A registered learner's ULN and an awarding organisation's id."""
    amelia = someone()
    await seeded(new_uow, amelia)
    return amelia.uln, await seeded(new_uow, kind=OrganisationKind.AWARDING_ORGANISATION)


async def _saved(new_uow: NewUow, *events: LearningEvent) -> None:
    async with new_uow() as uow:
        for e in events:
            await uow.plr.save(e)
        await uow.commit()


async def test_an_entry_reads_back_as_saved_stamped_with_the_commit_time(new_uow: NewUow) -> None:
    """Saved with no load date, an entry is loaded and updated when its transaction commits."""
    uln, ao = await _learner_and_sender(new_uow)
    gcse = entry(uln, ao)
    before = datetime.now(UTC)
    await _saved(new_uow, gcse)
    after = datetime.now(UTC)
    async with new_uow() as uow:
        found = await uow.plr.get(gcse.event_id)
    assert found is not None and found.loaded_at is not None and found.updated_at is not None
    assert (replace(found, loaded_at=None, updated_at=None), found.loaded_at == found.updated_at) == (gcse, True)
    assert before <= found.updated_at <= after


async def test_saving_again_replaces_the_entry_but_keeps_its_load_date(new_uow: NewUow) -> None:
    """An amendment (same event id) replaces what the entry records; DateLoaded stays the first save's."""
    uln, ao = await _learner_and_sender(new_uow)
    other = someone()
    await seeded(new_uow, other)
    gcse = entry(uln, ao, loaded_at=T0)
    await _saved(new_uow, gcse)
    amended = replace(gcse, uln=other.uln, version=2, fields={"subject": "Mathematics", "grade": "8"}, withdrawn=True)
    await _saved(new_uow, replace(amended, loaded_at=T0 + timedelta(days=30), withdrawn_reason="entered in error"))
    async with new_uow() as uow:
        found = await uow.plr.get(gcse.event_id)
    assert found is not None
    assert replace(found, updated_at=None) == replace(amended, withdrawn_reason="entered in error")


async def test_unknown_entries_and_challenges_are_absent(new_uow: NewUow) -> None:
    """Ids nobody used read as None or nothing."""
    uln, ao = await _learner_and_sender(new_uow)
    async with new_uow() as uow:
        found = (
            await uow.plr.get(str(uuid.uuid4())),
            await uow.plr.by_source(ao, EventKind.ACHIEVEMENT, ["R-none"]),
            await uow.plr.for_learners([uln]),
            await uow.plr.get_challenge(str(uuid.uuid4())),
            await uow.plr.open_challenges([str(uuid.uuid4())]),
        )
    assert found == (None, {}, [], None, [])


async def test_by_source_finds_the_senders_own_entries_of_a_kind_by_its_refs(new_uow: NewUow) -> None:
    """Only the sender's entries of that kind under the refs asked for, this transaction's included."""
    uln, ao = await _learner_and_sender(new_uow)
    other_ao = await seeded(new_uow, kind=OrganisationKind.AWARDING_ORGANISATION)
    mine = entry(uln, ao, ref="R-1", loaded_at=T0)
    theirs = entry(uln, other_ao, ref="R-1", loaded_at=T0)
    enrolment = entry(uln, ao, EventKind.PARTICIPATION, ref="R-1", loaded_at=T0)
    await _saved(new_uow, mine, theirs, enrolment, entry(uln, ao, ref="R-3", loaded_at=T0))
    pending = entry(uln, ao, ref="R-2", loaded_at=T0)
    async with new_uow() as uow:
        await uow.plr.save(pending)
        found = await uow.plr.by_source(ao, EventKind.ACHIEVEMENT, ["R-1", "R-2", "R-9"])
    assert {ref: replace(e, updated_at=None) for ref, e in found.items()} == {"R-1": mine, "R-2": pending}


async def test_a_senders_ref_names_one_entry_of_a_kind(new_uow: NewUow) -> None:
    """A second entry (another event id) under a sender's ref of the same kind is refused; the first stays."""
    uln, ao = await _learner_and_sender(new_uow)
    gcse = entry(uln, ao, ref="R-1", loaded_at=T0)
    await _saved(new_uow, gcse)
    with pytest.raises(KEY_VIOLATION):
        await _saved(new_uow, entry(uln, ao, ref="R-1", loaded_at=T0))
    async with new_uow() as uow:
        found = await uow.plr.by_source(ao, EventKind.ACHIEVEMENT, ["R-1"])
    assert {ref: replace(e, updated_at=None) for ref, e in found.items()} == {"R-1": gcse}


async def test_entries_saved_without_commit_are_seen_in_their_transaction_only(new_uow: NewUow) -> None:
    """get, by_source and for_learners see a transaction's own saves; rolled back, they never were."""
    uln, ao = await _learner_and_sender(new_uow)
    gcse = entry(uln, ao, loaded_at=T0)
    async with new_uow() as uow:
        await uow.plr.save(gcse)
        inside = (
            await uow.plr.get(gcse.event_id),
            await uow.plr.by_source(ao, EventKind.ACHIEVEMENT, [gcse.source_ref]),
            await uow.plr.for_learners([uln]),
        )
    async with new_uow() as uow:
        after = (
            await uow.plr.get(gcse.event_id),
            await uow.plr.by_source(ao, EventKind.ACHIEVEMENT, [gcse.source_ref]),
            await uow.plr.for_learners([uln]),
        )
    assert (inside, after) == ((gcse, {gcse.source_ref: gcse}, [gcse]), (None, {}, []))


async def test_an_entry_saved_or_read_is_the_callers_own_copy(new_uow: NewUow) -> None:
    """Changing an entry after saving it, or one read back (saved in this transaction or before),
    changes nothing stored until it is saved."""
    uln, ao = await _learner_and_sender(new_uow)
    committed, pending = entry(uln, ao, loaded_at=T0), entry(uln, ao, loaded_at=T0)
    await _saved(new_uow, committed)
    async with new_uow() as uow:
        changed_after_saving = copy.deepcopy(pending)
        await uow.plr.save(changed_after_saving)
        changed_after_saving.fields["grade"] = "U"
        for e in (committed, pending):
            read = await uow.plr.get(e.event_id)
            assert read is not None
            read.fields["grade"], read.under_challenge = "U", True
            [by_ref] = (await uow.plr.by_source(ao, EventKind.ACHIEVEMENT, [e.source_ref])).values()
            by_ref.version = 9
            [*_, listed] = [x for x in await uow.plr.for_learners([uln]) if x.event_id == e.event_id]
            listed.withdrawn = True
        reread = [await uow.plr.get(e.event_id) for e in (committed, pending)]
    assert [replace(e, updated_at=None) if e else None for e in reread] == [committed, pending]


async def test_a_learners_entries_are_listed_oldest_first(new_uow: NewUow) -> None:
    """for_learners lists every entry of those learners by DateLoaded, then event id, however saved."""
    uln, ao = await _learner_and_sender(new_uow)
    other, stranger = someone(), someone()
    await seeded(new_uow, other, stranger)
    old, older, oldest = (entry(uln, ao, loaded_at=T0 - timedelta(days=d)) for d in (1, 2, 3))
    await _saved(new_uow, older, old, entry(stranger.uln, ao, loaded_at=T0))
    await _saved(new_uow, oldest)
    # Two entries of one transaction, loaded at once: by event id, in it and after it.
    twins = sorted((entry(other.uln, ao, loaded_at=T0), entry(other.uln, ao, loaded_at=T0)), key=lambda e: e.event_id)
    async with new_uow() as uow:
        for e in reversed(twins):
            await uow.plr.save(e)
        inside = await uow.plr.for_learners([uln, other.uln])
        await uow.commit()
    async with new_uow() as uow:
        after = await uow.plr.for_learners([other.uln, uln])
    expected = [oldest.event_id, older.event_id, old.event_id, *(e.event_id for e in twins)]
    assert ([e.event_id for e in inside], [e.event_id for e in after]) == (expected, expected)


async def test_changed_since_pages_through_a_kinds_entries_in_update_order(new_uow: NewUow) -> None:
    """Entries of one kind by (updated_at, event_id) strictly after the cursor, a page at a time;
    an entry saved again moves to the end, as it changed last."""
    uln, ao = await _learner_and_sender(new_uow)
    since = datetime.now(UTC)
    first = sorted((entry(uln, ao, loaded_at=T0) for _ in range(3)), key=lambda e: e.event_id)
    await _saved(new_uow, *first, entry(uln, ao, EventKind.PARTICIPATION, loaded_at=T0))
    await _saved(new_uow, replace(first[0], version=2))
    async with new_uow() as uow:
        everything = await uow.plr.changed_since(EventKind.ACHIEVEMENT, since, "", 10)
        assert everything[0].updated_at is not None
        page = await uow.plr.changed_since(EventKind.ACHIEVEMENT, since, "", 2)
        rest = await uow.plr.changed_since(EventKind.ACHIEVEMENT, everything[0].updated_at, first[1].event_id, 10)
    assert [[e.event_id for e in x] for x in (everything, page, rest)] == [
        [first[1].event_id, first[2].event_id, first[0].event_id],
        [first[1].event_id, first[2].event_id],
        [first[2].event_id, first[0].event_id],
    ]
    assert everything[-1].version == 2


async def test_a_challenge_reads_back_and_is_open_until_resolved(new_uow: NewUow) -> None:
    """A saved challenge reads back; it is among the entry's open challenges until saved resolved."""
    uln, ao = await _learner_and_sender(new_uow)
    portal = organisation(OrganisationKind.PARTNER)
    gcse, other = entry(uln, ao, loaded_at=T0), entry(uln, ao, loaded_at=T0)
    challenge = Challenge(str(uuid.uuid4()), gcse.event_id, uln, portal.org_id, "not my grade", T0)
    async with new_uow() as uow:
        await uow.organisations.add(portal)
        await uow.plr.save(gcse)
        await uow.plr.save(other)
        await uow.plr.save_challenge(challenge)
        inside = await uow.plr.open_challenges([gcse.event_id])
        await uow.commit()
    resolved = replace(challenge, status=ChallengeStatus.RESOLVED, resolution="confirmed", resolved_at=T0)
    async with new_uow() as uow:
        found = await uow.plr.get_challenge(challenge.challenge_id)
        open_ = await uow.plr.open_challenges([gcse.event_id, other.event_id])
        await uow.plr.save_challenge(resolved)
        open_after_resolving = await uow.plr.open_challenges([gcse.event_id])
        await uow.commit()
    async with new_uow() as uow:
        after = await uow.plr.get_challenge(challenge.challenge_id), await uow.plr.open_challenges([gcse.event_id])
    assert (inside, found, open_, open_after_resolving, after) == (
        [challenge],
        challenge,
        [challenge],
        [],
        (resolved, []),
    )


async def test_an_entry_has_one_open_challenge_at_a_time(new_uow: NewUow) -> None:
    """A second open challenge of an entry is refused; once the first is resolved, a new one may open."""
    uln, ao = await _learner_and_sender(new_uow)
    portal = await seeded(new_uow, kind=OrganisationKind.PARTNER)
    gcse = entry(uln, ao, loaded_at=T0)
    first = Challenge(str(uuid.uuid4()), gcse.event_id, uln, portal, "not my grade", T0)
    async with new_uow() as uow:
        await uow.plr.save(gcse)
        await uow.plr.save_challenge(first)
        await uow.commit()
    second = replace(first, challenge_id=str(uuid.uuid4()), reason="still not my grade")
    with pytest.raises(KEY_VIOLATION):
        async with new_uow() as uow:
            await uow.plr.save_challenge(second)
            await uow.commit()
    async with new_uow() as uow:
        await uow.plr.save_challenge(replace(first, status=ChallengeStatus.RESOLVED, resolution="confirmed"))
        await uow.plr.save_challenge(second)
        await uow.commit()
    async with new_uow() as uow:
        assert await uow.plr.open_challenges([gcse.event_id]) == [second]


async def test_entries_read_by_source_are_locked_until_commit(new_uow: NewUow) -> None:
    """A second transaction reading the same entry by its ref waits for the first to end, then sees its amendment."""
    uln, ao = await _learner_and_sender(new_uow)
    gcse = entry(uln, ao, loaded_at=T0)
    await _saved(new_uow, gcse)
    seen: list[int] = []

    async def second() -> None:
        async with new_uow() as uow:
            found = await uow.plr.by_source(ao, EventKind.ACHIEVEMENT, [gcse.source_ref])
            seen.append(found[gcse.source_ref].version)

    async with new_uow() as uow:
        [read] = (await uow.plr.by_source(ao, EventKind.ACHIEVEMENT, [gcse.source_ref])).values()
        waiting = asyncio.create_task(second())
        await asyncio.sleep(0.2)
        while_locked = list(seen)
        await uow.plr.save(replace(read, version=2))
        await uow.commit()
    await asyncio.wait_for(waiting, 5)
    assert (while_locked, seen) == ([], [2])
