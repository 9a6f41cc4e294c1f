"""The verification attempt counts (hub.kernel.ports.VerificationAttempts), over the fakes and over PostgreSQL."""

import asyncio
from datetime import UTC, datetime, timedelta

from contracts.codes import OrganisationKind

from .conftest import NewUow
from .seeds import seeded, someone

NOW = datetime.now(UTC)
SINCE = NOW - timedelta(hours=24)


async def _ao(new_uow: NewUow) -> str:
    return await seeded(new_uow, kind=OrganisationKind.AWARDING_ORGANISATION)


async def test_failures_are_counted_per_sender_and_learner_after_since(new_uow: NewUow) -> None:
    """Each learner's count of the sender's failures after `since` (those at or before it not counted),
    this transaction's included; a learner never failed is absent."""
    sender, other_sender = await _ao(new_uow), await _ao(new_uow)
    amelia, ben, never = someone().uln, someone().uln, someone().uln
    async with new_uow() as uow:
        for at in (SINCE, NOW - timedelta(hours=2), NOW - timedelta(hours=1)):
            await uow.attempts.failed(sender, amelia, at)
        await uow.attempts.failed(other_sender, ben, NOW)
        await uow.commit()
    async with new_uow() as uow:
        await uow.attempts.failed(sender, ben, NOW)
        await uow.attempts.failed(sender, amelia, NOW)
        inside = await uow.attempts.failures(sender, [amelia, ben, never], SINCE)
        await uow.commit()
    async with new_uow() as uow:
        after = await uow.attempts.failures(sender, [amelia, ben, never], SINCE)
        theirs = await uow.attempts.failures(other_sender, [amelia, ben], SINCE)
        recent = await uow.attempts.failures(sender, [amelia], NOW - timedelta(minutes=90))
    assert (inside, after, theirs, recent) == ({amelia: 3, ben: 1}, {amelia: 3, ben: 1}, {ben: 1}, {amelia: 2})


async def test_failures_counted_without_commit_are_not_kept(new_uow: NewUow) -> None:
    sender, amelia = await _ao(new_uow), someone().uln
    async with new_uow() as uow:
        await uow.attempts.failed(sender, amelia, NOW)
    async with new_uow() as uow:
        assert await uow.attempts.failures(sender, [amelia], SINCE) == {}


async def test_a_senders_counts_are_locked_until_commit(new_uow: NewUow) -> None:
    """A second transaction counting the same sender's failures of a learner waits for the first, then sees them."""
    sender, amelia = await _ao(new_uow), someone().uln
    async with new_uow() as uow:
        await uow.attempts.failed(sender, amelia, NOW - timedelta(hours=1))
        await uow.commit()
    seen: list[dict[str, int]] = []

    async def second() -> None:
        async with new_uow() as uow:
            seen.append(await uow.attempts.failures(sender, [amelia], SINCE))

    async with new_uow() as uow:
        await uow.attempts.failures(sender, [amelia], SINCE)
        waiting = asyncio.create_task(second())
        await asyncio.sleep(0.2)
        while_locked = list(seen)
        await uow.attempts.failed(sender, amelia, NOW)
        await uow.commit()
    await asyncio.wait_for(waiting, 5)
    assert (while_locked, seen) == ([], [{amelia: 2}])
