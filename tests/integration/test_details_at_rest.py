"""Learner data at rest: contact details and notes sealed in PostgreSQL, confirmed outbox bodies dropped.

Read raw, a learner's row holds her email address, address and notes only sealed, under a
key bound to her ULN; the hub reads them back whole. A token moved to another learner's row
does not open; rows sealed under a retired key still do, and `hub learners seal` re-seals
them, as it seals rows written in clear before sealing.
"""

import asyncio
import json
import secrets
from typing import Any

import pytest

from adapters.bootstrap import Hub
from adapters.log import pseudonym
from adapters.postgres.sealing import DetailsSealer, SealedDetailsError, WeakDataKeyError
from adapters.postgres.unit_of_work import PostgresUnitOfWork
from adapters.retention import prune
from adapters.settings import Settings
from contracts.learner import LearnerDetails
from tests.conftest import DATA_KEY
from tests.integration.conftest import Cli, OrgLogin
from tests.integration.mis import AMELIA, Mis, body, register
from tests.unit.builders import fresh_uln

CONTACT_AND_NOTES: dict[str, Any] = {
    "email_address": "amelia.okafor@example.org",
    "last_known_address_line1": "14 Larkspur Gardens",
    "last_known_address_line2": "Flat 3",
    "last_known_address_town": "Whitstable",
    "last_known_address_county_or_city": "Kent",
    "verification_type": 999,
    "other_verification_description": "Seen her foster carer's letter from Kent County Council",
    "notes": "Lives with her aunt since March; do not contact her father",
}
SECRETS = [v for k, v in CONTACT_AND_NOTES.items() if k != "verification_type"]
CLEAR_FIELDS = {
    *("given_name", "family_name", "date_of_birth", "gender", "last_known_postcode"),
    *("verification_type", "ability_to_share"),
}

REFUSAL = (
    "LRS_DATA_KEY must be a secret of at least 32 characters (e.g. `openssl rand -hex 32`), kept outside the "
    "database: learners' contact details and notes are sealed under it"
)
_SEALED = "{} learner row(s) sealed that were in clear, {} re-sealed from a retired key\n"


async def _registered(provider: OrgLogin, **learner: object) -> str:
    async with Mis(provider.amqp_url, provider.org.org_id) as mis:
        await mis.send("learner.register.v1", register(provider.org.org_id, **learner))
        answer = body(await mis.answer())
    assert answer["response_code"] == "WSRC0005", answer
    return str(answer["uln"])


async def _raw_row(hub: Hub, uln: str) -> str:
    """The learner's whole row as PostgreSQL prints it, every column."""
    async with hub.pool.acquire() as conn:
        row: str = await conn.fetchval("SELECT learner::text FROM learner WHERE uln = $1", uln)
    return row


async def _read(hub: Hub, uln: str, sealer: DetailsSealer | None = None) -> LearnerDetails | None:
    async with PostgresUnitOfWork(hub.pool, sealer=sealer) as uow:
        learner = await uow.learners.get(uln)
    return None if learner is None else learner.details


async def test_contact_details_and_notes_are_sealed_in_the_table_and_read_back_whole(
    hub: Hub, provider: OrgLogin
) -> None:
    """Registered, a learner's email, address, verification description and notes appear nowhere in her row
    in clear (names, birth date, gender and postcode do, for matching); the hub reads every field back."""
    uln = await _registered(provider, **CONTACT_AND_NOTES)
    row = await _raw_row(hub, uln)
    async with hub.pool.acquire() as conn:
        clear = json.loads(await conn.fetchval("SELECT details FROM learner WHERE uln = $1", uln))

    assert [s for s in SECRETS if s in row or json.dumps(s)[1:-1] in row] == []
    assert (set(clear), clear["family_name"]) == (CLEAR_FIELDS, "Okafor")
    assert await _read(hub, uln) == LearnerDetails.model_validate(AMELIA | CONTACT_AND_NOTES)


async def test_a_sealed_token_moved_to_another_learners_row_does_not_open(hub: Hub, provider: OrgLogin) -> None:
    """Amelia's sealed fields copied into another learner's row fail to open there, naming the row, rather
    than showing her address as his; her own row still opens."""
    amelia = await _registered(provider, **CONTACT_AND_NOTES)
    other = await _registered(provider, given_name="Tomasz", family_name="Brzezinski", date_of_birth="2007-09-30")
    async with hub.pool.acquire() as conn:
        await conn.execute(
            "UPDATE learner SET (sealed_fields, sealed_key) = (SELECT sealed_fields, sealed_key FROM learner"
            " WHERE uln = $1) WHERE uln = $2",
            amelia,
            other,
        )

    with pytest.raises(SealedDetailsError) as refused:
        await _read(hub, other)
    assert str(refused.value) == (
        f"the sealed details in learner row uln~{pseudonym(other)} do not open for that learner: "
        "they were sealed for another learner (moved between rows) or changed"
    )
    assert await _read(hub, amelia) == LearnerDetails.model_validate(AMELIA | CONTACT_AND_NOTES)


async def test_rows_sealed_under_a_retired_key_open_until_hub_learners_seal_reseals_them(
    hub: Hub, provider: OrgLogin, cli: Cli
) -> None:
    """After a key change, rows sealed under the old key open while it is retired (not without it);
    `hub learners seal` re-seals them under the new key, and a second run changes nothing."""
    uln = await _registered(provider, **CONTACT_AND_NOTES)
    new_key = secrets.token_hex(32)
    rotated, new_only = DetailsSealer(new_key, retired=[DATA_KEY]), DetailsSealer(new_key)
    expected = LearnerDetails.model_validate(AMELIA | CONTACT_AND_NOTES)

    before = await _read(hub, uln, rotated)
    with pytest.raises(SealedDetailsError) as unknown:
        await _read(hub, uln, new_only)
    first = await cli("learners", "seal", LRS_DATA_KEY=new_key, LRS_DATA_RETIRED_KEYS=f" {DATA_KEY} ,")
    second = await cli("learners", "seal", LRS_DATA_KEY=new_key)
    async with hub.pool.acquire() as conn:
        key_id = await conn.fetchval("SELECT sealed_key FROM learner WHERE uln = $1", uln)

    assert before == expected
    assert str(unknown.value) == (
        f"the details of learner row uln~{pseudonym(uln)} are sealed under data key "
        f"{DetailsSealer(DATA_KEY).key_id}, which is neither LRS_DATA_KEY nor one of LRS_DATA_RETIRED_KEYS"
    )
    assert (first.exit_code, first.output) == (0, _SEALED.format(0, 1))
    assert (second.exit_code, second.output) == (0, _SEALED.format(0, 0))
    assert (key_id, await _read(hub, uln, new_only)) == (new_only.key_id, expected)


async def test_hub_learners_seal_seals_rows_written_in_clear_before_sealing(
    hub: Hub, provider: OrgLogin, cli: Cli
) -> None:
    """A row written in clear (before migration 0013) reads as it is; `hub learners seal` seals it, after
    which nothing of its contact details or notes is in clear and it reads back the same."""
    uln = fresh_uln()
    details = LearnerDetails.model_validate(AMELIA | CONTACT_AND_NOTES)
    async with hub.pool.acquire() as conn:
        await conn.execute(
            "INSERT INTO learner (uln, status, version, details, date_of_birth, gender, registered_by)"
            " VALUES ($1, 'active', 1, $2, $3, $4, $5)",
            uln,
            details.model_dump_json(exclude_none=True),
            details.date_of_birth,
            details.gender,
            provider.org.org_id,
        )
    in_clear = await _read(hub, uln)

    sealed = await cli("learners", "seal", LRS_DATA_KEY=DATA_KEY)
    again = await cli("learners", "seal", LRS_DATA_KEY=DATA_KEY)
    row = await _raw_row(hub, uln)

    assert in_clear == details
    assert (sealed.exit_code, sealed.output) == (0, _SEALED.format(1, 0))
    assert (again.exit_code, again.output) == (0, _SEALED.format(0, 0))
    assert [s for s in SECRETS if s in row] == []
    assert await _read(hub, uln) == details


async def test_hub_learners_seal_without_a_data_key_exits_2_saying_what_to_set(cli: Cli) -> None:
    """Without LRS_DATA_KEY, `hub learners seal` changes nothing and says how to make a key."""
    result = await cli("learners", "seal", LRS_DATA_KEY="")
    assert (result.exit_code, result.output) == (2, f"error: {REFUSAL}\n")


@pytest.mark.parametrize("key", ["", "change-me-in-production", "k" * 31], ids=["unset", "known", "short"])
async def test_the_hub_refuses_to_start_without_a_strong_data_key(settings: Settings, key: str) -> None:
    """Starting the hub with no data key, a known one or one under 32 characters raises, naming LRS_DATA_KEY."""
    with pytest.raises(WeakDataKeyError) as refused:
        async with Hub(settings.model_copy(update={"data_key": key})):
            pass
    assert str(refused.value) == REFUSAL


async def test_an_outbox_row_keeps_no_body_once_the_broker_confirmed_it(hub: Hub, provider: OrgLogin) -> None:
    """The answer to a registration, once confirmed by the broker, is marked sent with its body gone (it held
    her contact details); the row itself stays until retention prunes it."""
    async with Mis(provider.amqp_url, provider.org.org_id) as mis:
        request_id = await mis.send("learner.register.v1", register(provider.org.org_id, **CONTACT_AND_NOTES))
        await mis.answer()
    async with hub.pool.acquire() as conn, asyncio.timeout(10):
        query = "SELECT id, sent_at, body FROM outbox WHERE correlation_id = $1"
        while (row := await conn.fetchrow(query, request_id)) is not None and row["sent_at"] is None:
            await asyncio.sleep(0.05)
        assert row is not None
        await prune(hub.pool, outbox_keep_s=0.001, inbox_keep_s=7 * 86400)
        left = await conn.fetchval("SELECT count(*) FROM outbox WHERE id = $1", row["id"])

    assert (row["body"], left) == (None, 0)
