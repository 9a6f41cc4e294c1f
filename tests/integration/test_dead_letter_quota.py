"""What one sender can leave in the dead letters is bounded; every refused message is still answered."""

import asyncio

import pytest

from adapters.bootstrap import Hub
from adapters.postgres.dead_letter_index import DeadLetterIndex
from adapters.postgres.dead_letter_quota import DeadLetterQuota
from adapters.rabbit import dead_letters
from adapters.settings import Settings
from tests.integration.conftest import AddOrg
from tests.integration.mis import Mis, body

QUOTA = 3


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"dead_letters_a_day": QUOTA})


async def test_a_flood_of_bad_input_keeps_only_the_quota_and_answers_every_message(hub: Hub, add_org: AddOrg) -> None:
    """Past its daily quota, a sender's refused messages are answered but not kept in lrs.dead;
    another sender's dead letters are still kept, and the operator sees what was not."""
    flooder, other = await add_org(), await add_org()
    async with Mis(flooder.amqp_url, flooder.org.org_id) as mis:
        sent = [await mis.send("learner.register.v1", b"{not json") for _ in range(QUOTA + 3)]
        answered = [(await mis.answer()).correlation_id or "" for _ in sent]
    async with Mis(other.amqp_url, other.org.org_id) as mis:
        other_id = await mis.send("learner.register.v1", b"{not json")
        assert body(await mis.answer())["reason"] == "malformed_json"
    index = DeadLetterIndex(hub.pool)
    async with asyncio.timeout(10):  # dead letters are published just after the answers are queued
        while len(await index.list(100)) < QUOTA + 1:
            await asyncio.sleep(0.1)
    await asyncio.sleep(0.5)  # and no more come
    kept, held = await index.list(100), await dead_letters.held_count(hub.channel)
    over = await DeadLetterQuota(hub.pool, QUOTA, 10**9).over()

    assert sorted(answered) == sorted(sent)
    kept_ids = {d.message_id for d in kept}
    assert (len(kept_ids & set(sent)), other_id in kept_ids, len(kept), held) == (QUOTA, True, QUOTA + 1, QUOTA + 1)
    assert [(q.sender, q.letters, q.dropped) for q in over] == [(flooder.org.org_id, QUOTA + 3, 3)]
