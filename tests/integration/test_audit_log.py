"""The audit log against someone who can write to the database: keyed, anchored, published.

Whoever holds a database login can INSERT rows and, as the owner, disable the append-only
triggers. The chain's HMAC key is not in the database, so a forged or rewritten entry fails
`hub audit verify`; an anchor that was deleted is not silently replaced; the heads `hub serve`
publishes outside the database catch a cut tail; and the hub's own role cannot rewrite the log
at all, nor can any role but the hub's append to it.
"""

import asyncio
import json
import secrets
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import asyncpg
import pytest
from yarl import URL

from adapters.audit_heads import read_heads
from adapters.bootstrap import Hub
from adapters.organisations import add_organisation
from adapters.postgres import audit
from adapters.postgres.audit import chain_head, read_chain
from adapters.postgres.connection import AnyConnection
from adapters.rabbit.admin import BrokerAdmin
from adapters.settings import Settings
from contracts.codes import OrganisationKind
from hub.kernel.audit import GENESIS_HASH, ChainKey, WeakAuditKeyError, unkeyed_hash
from hub.kernel.model import Organisation
from hub.kernel.ports import AuditEntry
from tests.conftest import AUDIT_KEY, PG_SERVER, new_ukprn
from tests.integration.conftest import Cli, OrgLogin
from tests.integration.mis import Mis, body, register

FORGED = AuditEntry(
    at=datetime(2026, 12, 2, 9, 0, tzinfo=UTC),
    recipient="10099999",
    uln=None,
    what="learner.register_view",
    purpose="registration",
    decision="allowed",
    reason="",
    fields=("uln", "given_name"),
    correlation_id="forged",
)


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """The hub publishes its chain's head every fifth of a second, so a test need not wait minutes."""
    return settings.model_copy(update={"audit_head_every_s": 0.2})


async def _register(provider: OrgLogin, **learner: str) -> None:
    async with Mis(provider.amqp_url, provider.org.org_id) as mis:
        await mis.send("learner.register.v1", register(provider.org.org_id, **learner))
        assert body(await mis.answer())["response_code"] == "WSRC0005"


async def _as_superuser(hub: Hub, *statements: str) -> None:
    """What a database superuser (or the tables' owner) can do behind the hub's back."""
    async with hub.pool.acquire() as conn, conn.transaction():
        await conn.execute("ALTER TABLE audit_log DISABLE TRIGGER USER")
        for statement in statements:
            await conn.execute(statement)
        await conn.execute("ALTER TABLE audit_log ENABLE TRIGGER USER")


async def _insert(conn: AnyConnection, entry: AuditEntry, hash_: str, key_id: str | None) -> None:
    last = await conn.fetchrow("SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1")
    assert last is not None
    await conn.execute(
        "INSERT INTO audit_log (seq, at, recipient, uln, what, purpose, decision, reason, fields, correlation_id,"
        " prev_hash, hash, key_id) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
        last["seq"] + 1, entry.at, entry.recipient, entry.uln, entry.what, entry.purpose, entry.decision,
        entry.reason, list(entry.fields), entry.correlation_id, last["hash"], hash_, key_id,
    )  # fmt: skip


async def _last_hash(hub: Hub) -> str:
    async with hub.pool.acquire() as conn:
        return str(await conn.fetchval("SELECT hash FROM audit_log ORDER BY seq DESC LIMIT 1"))


def _verify(anchor: Path, *more: str) -> tuple[str, ...]:
    return ("audit", "verify", "--anchor", str(anchor), *more)


@pytest.mark.parametrize(
    ("how", "reason"),
    [
        ("unkeyed", "an unkeyed entry after the chain was keyed (appended without the key)"),
        ("guessed key", "changed, deleted, reordered or appended without the key"),
    ],
)
async def test_an_entry_appended_with_a_plain_insert_fails_verification_even_with_the_anchor(
    hub: Hub, provider: OrgLogin, cli: Cli, tmp_path: Path, how: str, reason: str
) -> None:
    """A forged entry INSERTed after the last, hashed as the chain was before keying or under a key
    the forger made up (labelled as the hub's), is found; the anchor taken before it holds."""
    await _register(provider)
    anchor = tmp_path / "anchor.json"
    assert (await cli(*_verify(anchor, "--new-anchor"))).exit_code == 0
    previous = await _last_hash(hub)
    async with hub.pool.acquire() as conn:
        count = await conn.fetchval("SELECT count(*) FROM audit_log")
        if how == "unkeyed":
            await _insert(conn, FORGED, unkeyed_hash(previous, FORGED), None)
        else:
            await _insert(
                conn, FORGED, ChainKey(secrets.token_hex(32)).link(previous, FORGED), ChainKey(AUDIT_KEY).key_id
            )

    result = await cli(*_verify(anchor))
    assert (result.exit_code, result.output) == (1, f"audit log broken at entry {count + 1} of {count + 1}: {reason}\n")


async def test_a_log_rewritten_with_every_hash_recomputed_fails_verification(
    hub: Hub, provider: OrgLogin, cli: Cli, tmp_path: Path
) -> None:
    """Turning the first entry's `allowed` into `refused` and rehashing the whole log with SHA-256,
    as if it predated keying (all anyone without the key can compute), is found at the first entry."""
    await _register(provider)
    await _register(provider, given_name="Tomasz", family_name="Brzezinski", date_of_birth="2007-09-30")
    async with hub.pool.acquire() as conn:
        chain = await read_chain(conn)
    previous, rewrites = GENESIS_HASH, []
    for seq, linked in enumerate(chain, 1):
        entry = replace(linked.entry, decision="refused") if seq == 1 else linked.entry
        previous = unkeyed_hash(previous, entry)
        rewrites.append(f"UPDATE audit_log SET decision = '{entry.decision}', hash = '{previous}', key_id = NULL "
                        f"WHERE seq = {seq}")  # fmt: skip
    await _as_superuser(hub, *rewrites)

    result = await cli(*_verify(tmp_path / "anchor.json", "--new-anchor"))
    assert (result.exit_code, result.output) == (
        1,
        f"audit log broken at entry 1 of {len(chain)}: an unkeyed entry no anchor vouches for (written or "
        "rewritten without the key)\n",
    )


async def test_a_missing_anchor_is_refused_unless_a_new_one_is_asked_for(
    hub: Hub, provider: OrgLogin, cli: Cli, tmp_path: Path
) -> None:
    """With its anchor deleted, verification fails and writes no new anchor; --new-anchor starts one."""
    await _register(provider)
    anchor = tmp_path / "anchor.json"

    refused = await cli(*_verify(anchor))
    assert (refused.exit_code, refused.output.startswith(f"no anchor at {anchor}: "), anchor.exists()) == (
        1,
        True,
        False,
    )
    started = await cli(*_verify(anchor, "--new-anchor"))
    assert (started.exit_code, started.output.startswith("audit log intact: "), anchor.exists()) == (0, True, True)
    async with hub.pool.acquire() as conn:
        head = await chain_head(conn)
    assert json.loads(anchor.read_text()) == {"entries": head.entries, "hash": head.hash}


async def test_a_cut_tail_is_found_by_the_anchor(hub: Hub, provider: OrgLogin, cli: Cli, tmp_path: Path) -> None:
    """Deleting the last entries (as the owner, triggers disabled) leaves a chain that verifies,
    but not against the anchor taken before."""
    await _register(provider)
    anchor = tmp_path / "anchor.json"
    assert (await cli(*_verify(anchor, "--new-anchor"))).exit_code == 0
    async with hub.pool.acquire() as conn:
        count = await conn.fetchval("SELECT count(*) FROM audit_log")
    await _as_superuser(hub, f"DELETE FROM audit_log WHERE seq = {count}")

    result = await cli(*_verify(anchor))
    assert (result.exit_code, result.output) == (
        1,
        f"audit log cut short or rewritten: the log has {count - 1} entries; it had {count} when anchored ({anchor})\n",
    )


async def test_the_heads_the_hub_publishes_catch_a_cut_made_before_any_anchor(
    hub: Hub, provider: OrgLogin, cli: Cli, settings: Settings, tmp_path: Path
) -> None:
    """`hub serve` appends its chain's head to LRS_AUDIT_HEADS_FILE as the log grows; a tail cut
    after that is found by `--heads`, even by a verifier starting a new anchor."""
    await _register(provider)
    heads = Path(settings.audit_heads_file)
    async with hub.pool.acquire() as conn:
        head = await chain_head(conn)
    async with asyncio.timeout(10):
        while head not in (read_heads(heads) if heads.exists() else []):
            await asyncio.sleep(0.1)
    intact = await cli(*_verify(tmp_path / "first.json", "--new-anchor", "--heads", str(heads)))
    assert intact.exit_code == 0, intact.output
    await _as_superuser(hub, f"DELETE FROM audit_log WHERE seq = {head.entries}")

    result = await cli(*_verify(tmp_path / "second.json", "--new-anchor", "--heads", str(heads)))
    number = read_heads(heads).index(head) + 1
    assert (result.exit_code, result.output) == (
        1,
        f"audit log cut short or rewritten since head {number} in {heads}: the log has {head.entries - 1} "
        f"entries; it had {head.entries} when anchored\n",
    )


async def test_the_hub_publishes_its_last_head_as_it_stops(settings: Settings) -> None:
    """The last line of the heads file is the head of everything the hub appended before stopping."""
    heads = Path(settings.audit_heads_file)
    async with Hub(settings) as hub:
        async with hub.new_uow() as uow:
            for _ in range(3):
                await uow.audit.append(FORGED)
            await uow.commit()
    pool = await asyncpg.create_pool(settings.database_url, min_size=1, max_size=1)
    assert pool is not None
    async with pool.acquire() as conn:
        head = await chain_head(conn)
    await pool.close()
    assert (head.entries, read_heads(heads)[-1]) == (3, head)


async def test_the_hub_refuses_to_start_without_a_strong_audit_key(settings: Settings) -> None:
    """No LRS_AUDIT_KEY, or one under 32 characters: the hub does not start, saying what to set."""
    for key in ("", "x" * 31):
        with pytest.raises(WeakAuditKeyError, match="LRS_AUDIT_KEY must be a secret of at least 32 characters"):
            async with Hub(settings.model_copy(update={"audit_key": key})):
                pass


async def test_verification_without_the_audit_key_exits_2_saying_what_to_set(
    cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(audit, "_process_keys", None)  # a new process, as the command is run for real
    result = await cli(*_verify(tmp_path / "anchor.json", "--new-anchor"), LRS_AUDIT_KEY="")
    assert (result.exit_code, result.output.startswith("error: LRS_AUDIT_KEY must be a secret")) == (2, True)


# --- the hub's own database role ---------------------------------------------------------------


@pytest.fixture
async def hub_login(settings: Settings) -> AsyncIterator[str]:
    """A login role in lrs_hub (migration 0018), as README's set-up gives `hub serve`."""
    name, password = f"lrs_hub_t{secrets.token_hex(4)}", secrets.token_hex(12)
    admin = await asyncpg.connect(f"{PG_SERVER}/postgres")
    try:
        await admin.execute(f"CREATE ROLE {name} LOGIN PASSWORD '{password}' IN ROLE lrs_hub")
        yield str(URL(settings.database_url).with_user(name).with_password(password))
        await admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = $1", name
        )  # the database is dropped after the test, its connections with it; the role must go first
        await admin.execute(f"DROP ROLE {name}")
    finally:
        await admin.close()


async def test_the_hub_runs_as_its_own_role_which_may_append_to_the_audit_log_and_nothing_more(
    settings: Settings, hub_login: str, cli: Cli
) -> None:
    """`hub serve` as a member of lrs_hub (not a superuser, owning nothing) answers requests and
    audits them; that role cannot update, delete, truncate or un-trigger the audit log, and a
    role that is not the hub's cannot append to it."""
    admin = BrokerAdmin(settings.rabbit_management_url, "guest", "guest", settings.vhost)
    org = Organisation(new_ukprn(), OrganisationKind.PROVIDER, "Role test provider")
    password = secrets.token_urlsafe(12)
    try:
        async with Hub(settings.model_copy(update={"database_url": hub_login})) as hub:
            await add_organisation(hub.pool, hub.channel, admin, org, password)
            await _register(OrgLogin(org, password, settings.amqp_url_for(org.org_id, password)))
            async with hub.pool.acquire() as conn:
                role = await conn.fetchrow("SELECT rolsuper, rolcreaterole FROM pg_roles WHERE rolname = current_user")
                audited = await conn.fetchval("SELECT count(*) FROM audit_log")
                refusals = []
                for statement in (
                    "UPDATE audit_log SET decision = 'refused'",
                    "DELETE FROM audit_log",
                    "TRUNCATE audit_log",
                    "ALTER TABLE audit_log DISABLE TRIGGER USER",
                ):
                    try:
                        await conn.execute(statement)
                        refusals.append(f"{statement}: allowed")
                    except asyncpg.InsufficientPrivilegeError as e:
                        refusals.append(f"{statement}: {type(e).__name__}")
    finally:
        await admin.delete_user(org.org_id)
        await admin.close()
    outsider = f"lrs_other_t{secrets.token_hex(4)}"
    owner = await asyncpg.connect(settings.database_url)
    try:
        await owner.execute(f"CREATE ROLE {outsider}")  # say, a reporting role that reads the log
        await owner.execute(f"GRANT SELECT ON audit_log TO {outsider}")
        await owner.execute(f"SET ROLE {outsider}")
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await _insert(owner, FORGED, "0" * 64, None)
    finally:
        await owner.execute("RESET ROLE")
        await owner.execute(f"DROP OWNED BY {outsider}")
        await owner.execute(f"DROP ROLE {outsider}")
        await owner.close()

    assert role is not None
    assert (role["rolsuper"], role["rolcreaterole"], audited > 0) == (False, False, True)
    assert refusals == [
        "UPDATE audit_log SET decision = 'refused': InsufficientPrivilegeError",
        "DELETE FROM audit_log: InsufficientPrivilegeError",
        "TRUNCATE audit_log: InsufficientPrivilegeError",
        "ALTER TABLE audit_log DISABLE TRIGGER USER: InsufficientPrivilegeError",
    ]
