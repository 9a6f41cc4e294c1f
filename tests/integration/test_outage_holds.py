"""A database outage longer than the delivery limit's retries turns no good message into poison:
the hub holds it, backing off, and answers it once the database is back (issue 12, item 1)."""

import asyncio

from adapters.bootstrap import Hub
from tests.integration.conftest import AddOrg, OrgLogin
from tests.integration.mis import Mis, body, register

REGISTER = "learner.register.v1"
# Longer than the delivery limit (5 in tests) times the retry pause (0.5 s) several times over.
OUTAGE_S = 8
# Three people for each fault, none like another, so that every registration issues a new ULN.
_PEOPLE = [
    ("Ada", "Lovelace", "2007-12-10", "N1 9GU"),
    ("Bea", "Mwangi", "2009-03-01", "LS1 4AP"),
    ("Cyrus", "Okoro", "2008-06-21", "M1 1AE"),
    ("Dilys", "Pryce", "2006-02-14", "CF10 1EP"),
    ("Eamon", "Quigley", "2007-08-30", "BT1 5GS"),
    ("Farah", "Rahman", "2009-11-05", "B1 1BB"),
    ("Gideon", "Sawyer", "2008-01-19", "EH1 1YZ"),
    ("Hana", "Takahashi", "2006-05-27", "G1 1XQ"),
    ("Ivor", "Underwood", "2007-04-08", "BS1 4DJ"),
]
PEOPLE = [{"given_name": g, "family_name": f, "date_of_birth": d, "last_known_postcode": p} for g, f, d, p in _PEOPLE]


# The faults a database outage shows the hub: an administrator's shutdown, a server starting up
# (cannot connect now), and a serialization failure.
SQLSTATES = {"57P01": "admin shutdown", "57P03": "cannot connect now", "40001": "serialization failure"}


# DDL on `inbox` from the outages running at once would deadlock: one at a time.
_DDL = asyncio.Lock()


async def _fail_every_write_of(hub: Hub, sender: str, sqlstate: str) -> None:
    """Fail every inbox write from `sender` with `sqlstate`, as the database would while away."""
    async with _DDL, hub.pool.acquire() as conn:
        await conn.execute(
            f"CREATE FUNCTION away_{sqlstate}() RETURNS trigger LANGUAGE plpgsql AS"
            f" $$ BEGIN RAISE EXCEPTION 'away' USING ERRCODE = '{sqlstate}'; END $$"
        )
        await conn.execute(
            f"CREATE TRIGGER away_{sqlstate} BEFORE INSERT ON inbox FOR EACH ROW WHEN (NEW.sender = '{sender}')"
            f" EXECUTE FUNCTION away_{sqlstate}()"
        )


async def _back(hub: Hub, sqlstate: str) -> None:
    async with _DDL, hub.pool.acquire() as conn:
        await conn.execute(f"DROP TRIGGER away_{sqlstate} ON inbox")
        await conn.execute(f"DROP FUNCTION away_{sqlstate}()")


async def _dead_letters(hub: Hub) -> int:
    queue = await hub.channel.declare_queue("lrs.dead", passive=True)
    return queue.declaration_result.message_count or 0


async def _held_then_answered(hub: Hub, provider: OrgLogin, sqlstate: str) -> tuple[str, list[str], set[str]]:
    ukprn = provider.org.org_id
    first = 3 * list(SQLSTATES).index(sqlstate)
    people = PEOPLE[first : first + 3]
    await _fail_every_write_of(hub, ukprn, sqlstate)
    async with Mis(provider.amqp_url, ukprn) as mis:
        sent = [await mis.send(REGISTER, register(ukprn, **person)) for person in people]
        assert await mis.no_answer(OUTAGE_S), f"answered during the outage ({SQLSTATES[sqlstate]})"
        await _back(hub, sqlstate)
        answers = [await mis.answer(timeout_s=60) for _ in sent]
    unanswered = sorted(set(sent) - {a.correlation_id or "" for a in answers})
    return sqlstate, unanswered, {body(a)["response_code"] for a in answers}


async def test_a_good_message_is_held_through_an_outage_and_answered_after_it(hub: Hub, add_org: AddOrg) -> None:
    """Registrations sent while the database refuses them are answered once it is back; none is
    dead-lettered. One provider per kind of fault, all at once (each outage is seconds long)."""
    providers = [await add_org() for _ in SQLSTATES]
    dead_before = await _dead_letters(hub)
    results = await asyncio.gather(*(_held_then_answered(hub, p, s) for p, s in zip(providers, SQLSTATES, strict=True)))

    assert {SQLSTATES[s]: unanswered for s, unanswered, _ in results} == {name: [] for name in SQLSTATES.values()}
    assert {SQLSTATES[s]: codes for s, _, codes in results} == {name: {"WSRC0005"} for name in SQLSTATES.values()}
    assert await _dead_letters(hub) == dead_before
