"""The inbox and the outbox (hub.kernel.ports.Inbox, Outbox), over the fakes and over PostgreSQL."""

import uuid

import pytest

from hub.kernel.errors import TransientError
from hub.kernel.ports import InboxKey, InboxRecord, OutboundMessage

from .conftest import Backend, NewUow
from .seeds import organisation

SHA = "0" * 64


def _key(consumer: str = "requests", sender: str | None = None) -> InboxKey:
    return InboxKey(consumer, sender or organisation().org_id, str(uuid.uuid4()))


async def test_the_inbox_keeps_each_senders_ids_apart(new_uow: NewUow) -> None:
    """A record is found under its own (consumer, sender, id) only, and only once committed."""
    mine = _key()
    theirs = InboxKey(mine.consumer, organisation().org_id, mine.message_id)
    other_queue = InboxKey("lrs.feeds", mine.sender, mine.message_id)
    async with new_uow() as uow:
        await uow.inbox.record(mine, InboxRecord(SHA, None))
        inside = await uow.inbox.get(mine)
    async with new_uow() as uow:
        assert await uow.inbox.get(mine) is None  # rolled back: never committed
        await uow.inbox.record(mine, InboxRecord(SHA, "refused: why"))
        await uow.commit()
    async with new_uow() as uow:
        found = [await uow.inbox.get(k) for k in (mine, theirs, other_queue)]
    assert (inside, found) == (InboxRecord(SHA, None), [InboxRecord(SHA, "refused: why"), None, None])


async def test_a_message_recorded_meanwhile_by_another_transaction_fails_as_transient(new_uow: NewUow) -> None:
    """Recording a message another transaction recorded and committed (a concurrent delivery of it) fails,
    so that, retried, the message is found handled; the first record stands."""
    key = _key()
    async with new_uow() as uow:
        await uow.inbox.record(key, InboxRecord(SHA, None))
        await uow.commit()
    with pytest.raises(TransientError):
        async with new_uow() as uow:
            await uow.inbox.record(key, InboxRecord("1" * 64, "other"))
            await uow.commit()
    async with new_uow() as uow:
        assert await uow.inbox.get(key) == InboxRecord(SHA, None)


async def test_a_forgotten_message_is_no_longer_in_the_inbox_once_committed(new_uow: NewUow) -> None:
    """forget() (a dead letter replayed) drops the record, and may be recorded afresh; undone on rollback."""
    kept, forgotten, never = _key(), _key(), _key()
    async with new_uow() as uow:
        await uow.inbox.record(kept, InboxRecord(SHA, "dead-lettered"))
        await uow.inbox.record(forgotten, InboxRecord(SHA, "dead-lettered"))
        await uow.commit()
    async with new_uow() as uow:
        await uow.inbox.forget(kept)
    async with new_uow() as uow:
        await uow.inbox.forget(forgotten)
        await uow.inbox.forget(never)
        inside = await uow.inbox.get(forgotten)
        await uow.commit()
    async with new_uow() as uow:
        after = [await uow.inbox.get(k) for k in (kept, forgotten, never)]
        await uow.inbox.forget(kept)
        await uow.inbox.record(kept, InboxRecord("1" * 64, None))
        replayed = await uow.inbox.get(kept)
        await uow.commit()
    async with new_uow() as uow:
        assert await uow.inbox.get(kept) == replayed
    assert (inside, after, replayed) == (
        None,
        [InboxRecord(SHA, "dead-lettered"), None, None],
        InboxRecord("1" * 64, None),
    )


async def test_prefetching_changes_nothing_get_returns(new_uow: NewUow) -> None:
    """After prefetch, get answers as without it: for records there, absent, and recorded or forgotten since."""
    there, absent, recorded, forgotten = _key(), _key(), _key(), _key()
    async with new_uow() as uow:
        await uow.inbox.record(there, InboxRecord(SHA, None))
        await uow.inbox.record(forgotten, InboxRecord(SHA, "why"))
        await uow.commit()
    async with new_uow() as uow:
        await uow.inbox.prefetch([there, absent, recorded, forgotten])
        await uow.inbox.record(recorded, InboxRecord(SHA, None))
        await uow.inbox.forget(forgotten)
        found = [await uow.inbox.get(k) for k in (there, absent, recorded, forgotten)]
        await uow.inbox.prefetch([])
    assert found == [InboxRecord(SHA, None), None, InboxRecord(SHA, None), None]


async def test_outbox_messages_are_written_whole_at_commit_and_only_then(backend: Backend) -> None:
    """Every message added is kept as added (body, headers, correlation id) when committed; none otherwise."""
    org = organisation().org_id
    answer = OutboundMessage("lrs.outbound", org, "learner.answer.v1", {"uln": "9000000008", "n": [1, 2]}, "c-1")
    notice = OutboundMessage("lrs.outbound", org, "partner.notice.v1", {"kind": "recall"}, None, {"lrs-batch": "B-1"})
    async with backend.new_uow() as uow:
        await uow.outbox.add(OutboundMessage("lrs.outbound", org, "never.sent.v1", {}))
    async with backend.new_uow() as uow:
        await uow.outbox.add(notice)
        await uow.outbox.add(answer)
        await uow.commit()
    assert await backend.peek.outbox(org) == [answer, notice]
