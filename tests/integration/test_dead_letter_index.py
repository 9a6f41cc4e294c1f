"""Dead letters are listed from an index, expire and are bounded by a broker policy, and lose nothing.

Listing never reads lrs.dead (a read of a quorum queue raises the letter's x-delivery-count);
an unknown id is refused without reading it; a full lrs.dead refuses new letters, and the hub
then keeps the original on its queue and says so; before letters expire the hub warns.
"""

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import aio_pika
import httpx
import pytest
from aio_pika.abc import AbstractIncomingMessage
from pydantic import ValidationError
from structlog.testing import capture_logs

from adapters.bootstrap import Hub
from adapters.postgres.dead_letter_index import Ageing, DeadLetterIndex, warn_of_expiry
from adapters.rabbit import dead_letters
from adapters.rabbit.admin import COMMAND_QUEUE_POLICY, DEAD_LETTER_POLICY, BrokerAdmin
from adapters.retention import prune_dead_letter_index
from adapters.settings import Settings
from tests.integration import test_operator_cli
from tests.integration.conftest import AddOrg, OrgLogin
from tests.integration.mis import Mis, body, register
from tests.integration.test_operator_cli import Cli

cli = test_operator_cli.cli  # `hub ...` run in-process with this test's settings
MALFORMED = b"{not json"


async def _dead_lettered(hub: Hub, count: int, timeout_s: float = 15) -> None:
    """Wait until lrs.dead holds `count` letters (a passive declare reads none of them)."""
    async with asyncio.timeout(timeout_s):
        while await dead_letters.held_count(hub.channel) < count:
            await asyncio.sleep(0.1)


async def _delivery_counts(hub: Hub) -> dict[str | None, int]:
    """Each letter's x-delivery-count as the next read sees it (this read raises them all)."""
    channel = await hub.connection.channel()
    seen: list[AbstractIncomingMessage] = []
    try:
        queue = await channel.get_queue("lrs.dead", ensure=False)
        while (message := await queue.get(no_ack=False, fail=False)) is not None:
            seen.append(message)
        # The broker sets x-delivery-count, an int; a header's type allows any field value.
        return {m.message_id: int((m.headers or {}).get("x-delivery-count", 0)) for m in seen}  # type: ignore[arg-type]
    finally:
        await channel.close()


async def test_listing_dead_letters_three_times_leaves_their_delivery_count_unchanged(
    hub: Hub, provider: OrgLogin, cli: Cli
) -> None:
    """`hub dead list` reads the index: three listings later the letter was never delivered, and each
    listing shows its sender, reason and expiry."""
    async with Mis(provider.amqp_url, provider.org.org_id) as mis:
        request_id = await mis.send("learner.register.v1", MALFORMED)
        await mis.answer()
    await _dead_lettered(hub, 1)
    listings = [await cli("dead", "list") for _ in range(3)]

    assert [r.exit_code for r in listings] == [0, 0, 0]
    line = listings[-1].output.splitlines()[0].split("\t")
    assert (line[0], line[2], line[4].startswith("expires "), "malformed_json" in line[5]) == (
        request_id,
        f"from {provider.org.org_id}",
        True,
        True,
    )
    assert "1 dead letter(s) listed of 1 indexed; lrs.dead holds 1" in listings[-1].output
    assert await _delivery_counts(hub) == {request_id: 0}


async def test_replaying_an_unknown_id_is_refused_at_once_without_reading_the_queue(
    hub: Hub, provider: OrgLogin, cli: Cli
) -> None:
    """An id the index does not know is refused without a read of lrs.dead: its letters are untouched."""
    async with Mis(provider.amqp_url, provider.org.org_id) as mis:
        request_id = await mis.send("learner.register.v1", MALFORMED)
        await mis.answer()
    await _dead_lettered(hub, 1)
    unknown = str(uuid.uuid4())
    result = await cli("dead", "replay", unknown)

    assert (result.exit_code, f"no dead letter with message_id {unknown} in the index" in result.output) == (1, True)
    assert await _delivery_counts(hub) == {request_id: 0}


async def test_a_replay_found_through_the_index_is_answered_audited_and_leaves_the_index(
    hub: Hub, add_org: AddOrg, broker_admin: BrokerAdmin, cli: Cli
) -> None:
    """A letter from a sender added since is found through the index, replayed as that sender,
    answered, audited under the operator, and no longer listed."""
    org_id = f"1{uuid.uuid4().int % 10**7:07d}"
    await broker_admin.add_organisation_user(org_id, "pw")
    async with Mis(hub.settings.amqp_url_for(org_id, "pw"), org_id) as mis:
        request_id = await mis.send("learner.register.v1", register(org_id))
    await _dead_lettered(hub, 1)
    login = await add_org(org_id=org_id)
    result = await cli("dead", "replay", request_id, "--operator", "alice")
    async with Mis(login.amqp_url, org_id) as mis:
        answer = await mis.answer()
    async with hub.pool.acquire() as conn:
        audited = await conn.fetch(
            "SELECT recipient, what, decision FROM audit_log WHERE correlation_id = $1 AND what LIKE 'dead_letter.%'",
            request_id,
        )

    assert (result.exit_code, answer.correlation_id, body(answer)["response_code"]) == (0, request_id, "WSRC0005")
    assert [tuple(r) for r in audited] == [("operator:alice", "dead_letter.replay", "allowed")]
    assert await DeadLetterIndex(hub.pool).find(request_id) == []


@pytest.fixture
def settings(settings: Settings, request: pytest.FixtureRequest) -> Settings:
    limits = getattr(request, "param", {"dead_letter_keep_days": 3, "dead_letter_max": 500})
    return settings.model_copy(update=limits)


async def _effective_policy(settings: Settings, queue: str) -> dict[str, object]:
    """The policy definition the broker applies to `queue` (the management API shows it after a
    statistics interval)."""
    url = f"{settings.rabbit_management_url}/api/queues/{settings.vhost}/{queue}"
    async with httpx.AsyncClient(auth=("guest", "guest")) as client, asyncio.timeout(30):
        while not (definition := (await client.get(url)).json().get("effective_policy_definition")):
            await asyncio.sleep(0.5)
    assert isinstance(definition, dict)
    return definition


async def test_lrs_dead_has_the_configured_expiry_and_length_limit(hub: Hub, broker_admin: BrokerAdmin) -> None:
    """The hub sets lrs.dead's policy at start: expiry, length limit refusing rather than dropping,
    a delivery limit no reading reaches; the command queues dead-letter at least once."""
    dead = {
        "message-ttl": 3 * 86_400_000,
        "max-length": 500,
        "overflow": "reject-publish",
        "delivery-limit": 1_000_000,
    }
    commands = {"dead-letter-strategy": "at-least-once", "overflow": "reject-publish"}

    assert await broker_admin.policy(DEAD_LETTER_POLICY) == dead
    assert await _effective_policy(hub.settings, "lrs.dead") == dead
    assert await broker_admin.policy(COMMAND_QUEUE_POLICY) == commands
    assert await _effective_policy(hub.settings, "lrs.registration") == commands


@pytest.mark.parametrize("settings", [{"dead_letter_max": 1}], indirect=True)
async def test_a_full_lrs_dead_loses_nothing_and_the_operator_is_told(hub: Hub, provider: OrgLogin) -> None:
    """With lrs.dead full (a quorum queue keeps max-length + 1), the next letter is refused: the hub
    logs an error and keeps the message on its queue, and once there is room it is dead-lettered
    (indexed and counted against its sender's quota once)."""
    # The hub sets lrs.dead's length limit as it starts; on a busy broker the queue applies it
    # a moment later, and letters sent before then are all taken.
    await _effective_policy(hub.settings, "lrs.dead")
    with capture_logs() as logs:
        ids, answers = [], []
        async with Mis(provider.amqp_url, provider.org.org_id) as mis:
            # One at a time: a quorum queue checks its length against what it holds, not what is
            # in flight to it, so letters arriving together can all be taken past the limit.
            for held in (1, 2, 2):
                ids.append(await mis.send("learner.register.v1", MALFORMED))
                answers.append((await mis.answer()).correlation_id or "")
                await _dead_lettered(hub, held)
        async with asyncio.timeout(15):
            while not any(e["event"].startswith("lrs.dead is full") for e in logs):
                await asyncio.sleep(0.1)
        held_while_full = await dead_letters.held_count(hub.channel)
        # A quorum queue refusing publishes accepts them again below 80% of its limit: empty, here.
        made_room = {await _take_one(hub), await _take_one(hub)}
        async with asyncio.timeout(30):
            while await dead_letters.held_count(hub.channel) < 1:
                await asyncio.sleep(0.2)
    full = next(e for e in logs if e["event"].startswith("lrs.dead is full"))
    counted = await hub.pool.fetchval("SELECT letters FROM dead_letter_quota WHERE sender = $1", provider.org.org_id)
    indexed = {(d.message_id, d.copies) for d in await DeadLetterIndex(hub.pool).list(10)}

    assert (sorted(answers), held_while_full) == (sorted(ids), 2)
    assert (full["log_level"], full["sender"], full["queue"]) == ("error", provider.org.org_id, "lrs.registration")
    assert set(await _delivery_counts(hub)) | made_room == set(ids)
    assert (counted, indexed) == (3, {(i, 1) for i in ids})  # each kept, and counted, once


async def _take_one(hub: Hub) -> str | None:
    """Remove one letter from lrs.dead, as an operator making room would."""
    queue = await hub.channel.get_queue("lrs.dead", ensure=False)
    message = await queue.get(no_ack=True)
    assert message is not None
    return message.message_id


@pytest.fixture
async def index(hub: Hub) -> AsyncIterator[DeadLetterIndex]:
    yield DeadLetterIndex(hub.pool)


async def test_the_hub_warns_before_dead_letters_expire(hub: Hub, index: DeadLetterIndex) -> None:
    """No warning while every letter is younger than the warning age; one with counts once one is older."""
    await index.record(sender="1", message_id="new", message_type="t", consumer="q", reason="r", size=1)
    with capture_logs() as quiet:
        none_old = await warn_of_expiry(index, timedelta(days=7), timedelta(days=30))
    await index.record(sender="1", message_id="old", message_type="t", consumer="q", reason="r", size=1)
    eight_days_ago = datetime.now(UTC) - timedelta(days=8)
    await hub.pool.execute("UPDATE dead_letter SET first_seen_at = $1 WHERE message_id = 'old'", eight_days_ago)
    with capture_logs() as logs:
        ageing = await warn_of_expiry(index, timedelta(days=7), timedelta(days=30))

    assert (none_old, quiet) == (None, [])
    assert ageing == Ageing(total=2, old=1, oldest_at=eight_days_ago)
    assert [(e["log_level"], e["old_letters"], e["letters"], e["oldest_expires_at"]) for e in logs] == [
        ("warning", 1, 2, (eight_days_ago + timedelta(days=30)).isoformat())
    ]


async def test_a_letter_the_index_lacks_is_still_found_by_scan_and_indexed_by_peek(
    hub: Hub, provider: OrgLogin, cli: Cli
) -> None:
    """A letter put in lrs.dead behind the index's back is counted as not indexed, found by
    `replay --scan` (and refused there: no validated sender), and indexed by `list --peek`."""
    stray = str(uuid.uuid4())
    await hub.channel.default_exchange.publish(
        aio_pika.Message(b"{}", message_id=stray, type="learner.register.v1", user_id="guest"), routing_key="lrs.dead"
    )
    before = await cli("dead", "list")
    unscanned, scanned = await cli("dead", "replay", stray), await cli("dead", "replay", stray, "--scan")
    peeked = await cli("dead", "list", "--peek", "--operator", "bob")
    after = await DeadLetterIndex(hub.pool).find(stray)

    assert "0 dead letter(s) listed of 0 indexed; lrs.dead holds 1" in before.output
    assert "1 held letter(s) not in the index" in before.output
    assert ("in the index (--scan" in unscanned.output, "its sender is not known" in scanned.output) == (True, True)
    assert (peeked.exit_code, f"--- {stray}" in peeked.output) == (0, True)
    assert [d.message_id for d in after] == [stray]


async def test_index_rows_go_once_their_letters_have_expired(hub: Hub, index: DeadLetterIndex) -> None:
    """A row whose last copy is older than the keep time is pruned; a younger one stays."""
    for message_id in ("expired", "kept"):
        await index.record(sender="1", message_id=message_id, message_type="t", consumer="q", reason="r", size=1)
    await hub.pool.execute(
        "UPDATE dead_letter SET first_seen_at = now() - interval '31 days', last_seen_at = now() - interval '31 days'"
        " WHERE message_id = 'expired'"
    )
    removed = await prune_dead_letter_index(hub.pool, timedelta(days=30).total_seconds())

    assert (removed, [d.message_id for d in await index.list(10)]) == (1, ["kept"])


def test_the_warning_age_must_come_before_the_expiry() -> None:
    """Settings refuse a warning that would come only after the letters had expired."""
    with pytest.raises(ValidationError, match="LRS_DEAD_LETTER_WARN_DAYS must be less"):
        Settings(dead_letter_keep_days=7, dead_letter_warn_days=7)
