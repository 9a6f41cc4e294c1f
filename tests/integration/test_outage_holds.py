"""A database outage longer than the delivery limit's retries turns no good message into poison:
the hub holds it, backing off, and answers it once the database is back (issue 12, item 1)."""

import pytest

from adapters.bootstrap import Hub
from tests.integration.conftest import OrgLogin
from tests.integration.mis import Mis, body, register

REGISTER = "learner.register.v1"
# Longer than the delivery limit (5 in tests) times the retry pause (0.5 s) several times over.
OUTAGE_S = 8
PEOPLE = [
    {"given_name": "Ada", "family_name": "Lovelace", "date_of_birth": "2007-12-10", "last_known_postcode": "N1 9GU"},
    {"given_name": "Bea", "family_name": "Mwangi", "date_of_birth": "2009-03-01", "last_known_postcode": "LS1 4AP"},
    {"given_name": "Cyrus", "family_name": "Okoro", "date_of_birth": "2008-06-21", "last_known_postcode": "M1 1AE"},
]


async def _fail_every_write_of(hub: Hub, sender: str, sqlstate: str) -> None:
    """Fail every inbox write from `sender` with `sqlstate`, as the database would while away."""
    async with hub.pool.acquire() as conn:
        await conn.execute(
            "CREATE FUNCTION away() RETURNS trigger LANGUAGE plpgsql AS"
            f" $$ BEGIN RAISE EXCEPTION 'away' USING ERRCODE = '{sqlstate}'; END $$"
        )
        await conn.execute(
            f"CREATE TRIGGER away BEFORE INSERT ON inbox FOR EACH ROW WHEN (NEW.sender = '{sender}')"
            " EXECUTE FUNCTION away()"
        )


async def _back(hub: Hub) -> None:
    async with hub.pool.acquire() as conn:
        await conn.execute("DROP TRIGGER away ON inbox")


async def _dead_letters(hub: Hub) -> int:
    queue = await hub.channel.declare_queue("lrs.dead", passive=True)
    return queue.declaration_result.message_count or 0


@pytest.mark.parametrize(
    "sqlstate", ["57P01", "57P03", "40001"], ids=["admin shutdown", "cannot connect now", "serialization failure"]
)
async def test_a_good_message_is_held_through_an_outage_and_answered_after_it(
    hub: Hub, provider: OrgLogin, sqlstate: str
) -> None:
    """Registrations sent while the database refuses them are answered once it is back; none is dead-lettered."""
    ukprn = provider.org.org_id
    await _fail_every_write_of(hub, ukprn, sqlstate)
    async with Mis(provider.amqp_url, ukprn) as mis:
        sent = [await mis.send(REGISTER, register(ukprn, **person)) for person in PEOPLE]
        assert await mis.no_answer(OUTAGE_S)
        await _back(hub)
        answers = [await mis.answer(timeout_s=60) for _ in sent]

    assert sorted(a.correlation_id or "" for a in answers) == sorted(sent)
    assert {body(a)["response_code"] for a in answers} == {"WSRC0005"}
    assert await _dead_letters(hub) == 0
