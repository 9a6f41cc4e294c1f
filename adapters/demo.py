"""`hub demo`: the hub's main job end to end, as a provider's MIS would see it.

On a fresh database and vhost (`<database>_demo`, `lrs-demo`) it starts the hub, registers a
demo provider, sends single requests and an LRS batch file (a learner already registered, a
possible match, bad rows), waits for every answer on the provider's queue, prints them and
the batch output file; then an awarding organisation, the provider and the learner portal
build the learner's PLR (adapters/demo_plr.py); then a university under a data sharing
agreement meets the learner's choices (adapters/demo_sharing.py). It exits 0 only if every outcome is the one
expected.
"""

import asyncio
import json
import secrets
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aio_pika
import asyncpg
from rich.console import Console
from rich.table import Table
from yarl import URL

from adapters.audit_heads import read_heads
from adapters.bootstrap import Hub, chain_keys_from
from adapters.cli.batch import submit_batch
from adapters.demo_plr import remark, run_plr
from adapters.demo_sharing import run_sharing
from adapters.files.batch import read_batch_file
from adapters.organisations import add_organisation
from adapters.postgres.audit import read_chain
from adapters.postgres.batches import batch_output
from adapters.publisher import OrganisationClient
from adapters.rabbit.admin import BrokerAdmin
from adapters.rabbit.topology import outbound_queue_name
from adapters.settings import Settings
from contracts.codes import OrganisationKind
from hub.kernel.audit import anchor_broken, first_broken_link
from hub.kernel.model import Organisation

PROVIDER = Organisation("10030488", OrganisationKind.PROVIDER, "Demo Sixth Form College")
AMELIA = {
    "given_name": "Amelia",
    "family_name": "Okafor",
    "date_of_birth": "2008-04-12",
    "gender": 2,
    "last_known_postcode": "SW1A 1AA",
    "verification_type": 2,
}
BATCH_HEADER = "MISIdentifier,GivenName,FamilyName,DateOfBirth,Gender,LastKnownPostCode,VerificationType\n"
BATCH_ROWS = [  # (row, expected return code)
    ("STU-101,Oliver,Bennett,2009-02-03,1,LS1 4AP,1", "RC001"),
    ("STU-102,Amelia,Okafor,2008-04-12,2,se17pb,1", "RC002"),  # already registered, at her new postcode
    ("STU-103,Amelie,Okafor,2008-04-12,2,SE1 7PB,1", "RC003"),  # one letter off: possible match
    ("STU-104,Priya,Sharma,2008-13-01,2,B1 1AA,1", "RC011"),  # month 13
    ("STU-105,Tom,Hughes,2009-05-05,5,CF10 1AA,1", "RC011"),  # gender code 5 does not exist
    ("STU-106,Grace,Evans,2015-06-06,2,M1 1AE,1", "RC013"),  # aged 11
    ("STU-107,Noah,Williams,2009-07-07,1,NOT A POSTCODE,1", "RC011"),
]


def _singles(uln_holder: dict[str, str]) -> list[tuple[str, str, Any, str]]:
    """(what, message type, body, expected response code or rejection reason)."""
    ukprn = PROVIDER.org_id
    return [
        ("register a new learner", "learner.register.v1", {"ukprn": ukprn, "learner": AMELIA}, "WSRC0005"),
        ("register her again", "learner.register.v1", {"ukprn": ukprn, "learner": AMELIA}, "WSRC0004"),
        (
            "find by ULN",
            "learner.find_by_uln.v1",
            lambda: {"ukprn": ukprn, "uln": uln_holder["uln"], "given_name": "amelia", "family_name": "OKAFOR"},
            "WSRC0004",
        ),
        (
            "find by demographics, one letter off",
            "learner.find_by_demographics.v1",
            {
                "ukprn": ukprn,
                "demographics": {k: v for k, v in AMELIA.items() if k != "verification_type"}
                | {"given_name": "Amilia"},
            },
            "WSRC0003",
        ),
        (
            "update her postcode",
            "learner.update.v1",
            lambda: {
                "ukprn": ukprn,
                "uln": uln_holder["uln"],
                "version": 1,
                "learner": {"last_known_postcode": "SE1 7PB"},  # only what changes: the rest is kept
            },
            "WSRC0006",
        ),
        (
            "find by an invalid ULN",
            "learner.find_by_uln.v1",
            {"ukprn": ukprn, "uln": "1234567890", "given_name": "A", "family_name": "B"},
            "WSEC0136",
        ),
        ("malformed JSON", "learner.register.v1", b'{"ukprn": "10030488", "learner": ', "malformed_json"),
        (
            "a body claiming another provider",
            "learner.register.v1",
            {"ukprn": "10000001", "learner": AMELIA},
            "sender_mismatch",
        ),
        (
            "an oversized name",
            "learner.register.v1",
            {"ukprn": ukprn, "learner": AMELIA | {"given_name": "A" * 36}},
            "invalid_contract",
        ),
    ]


async def _fresh_database(settings: Settings) -> str:
    url = URL(settings.database_url)
    demo_db = f"{url.path.lstrip('/') or 'lrs'}_demo"
    admin = await asyncpg.connect(str(url.with_path("/postgres")))
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{demo_db}" WITH (FORCE)')
        await admin.execute(f'CREATE DATABASE "{demo_db}"')
    finally:
        await admin.close()
    return str(url.with_path(f"/{demo_db}"))


async def _next_answer(
    queue: aio_pika.abc.AbstractQueue, timeout_s: float = 15
) -> aio_pika.abc.AbstractIncomingMessage:
    async with asyncio.timeout(timeout_s):
        while True:
            message = await queue.get(no_ack=True, fail=False)
            if message is not None:
                return message
            await asyncio.sleep(0.05)


def _outcome(message: aio_pika.abc.AbstractIncomingMessage) -> tuple[str, str]:
    body = json.loads(message.body)
    if message.type == "message.rejected.v1":
        return body["reason"], "; ".join(f"{e['loc']} {e['message']}".strip() for e in body["errors"])
    detail = body["description"]
    if body.get("uln"):
        detail += f" - ULN {body['uln']}"
    if body.get("candidates"):
        detail += " - candidates: " + ", ".join(
            f"{c['uln']} (differs: {', '.join(c['differing_fields'])})" for c in body["candidates"]
        )
    return body["response_code"], detail


async def run_demo(base: Settings) -> int:
    console = Console(width=max(Console().width, 140))
    vhost_url = URL(base.amqp_url).with_path("/lrs-demo")
    database_url = await _fresh_database(base)
    # The demo's database is new each run, and so are the chain heads its hub publishes.
    heads = Path(base.batch_output_dir) / f"{URL(database_url).path.lstrip('/')}-audit-heads.jsonl"
    heads.parent.mkdir(parents=True, exist_ok=True)
    heads.unlink(missing_ok=True)
    settings = base.model_copy(
        update={"database_url": database_url, "amqp_url": str(vhost_url), "audit_heads_file": str(heads)}
    )
    admin = BrokerAdmin(
        base.rabbit_management_url, base.rabbit_management_user, base.rabbit_management_password, "lrs-demo"
    )
    await admin.delete_vhost()
    await admin.ensure_vhost()
    await admin.grant_full_access(base.rabbit_management_user)
    password = secrets.token_urlsafe(12)
    failures = 0
    async with Hub(settings) as hub:
        await add_organisation(hub.pool, hub.channel, admin, PROVIDER, password)
        console.print(f"[bold]Hub running[/]; provider {PROVIDER.org_id} ({PROVIDER.name}) registered")
        provider_url = settings.amqp_url_for(PROVIDER.org_id, password)
        table = Table(title="Single requests from the provider's MIS")
        for column in ("request", "type", "answer", "detail", "as expected"):
            table.add_column(column)
        uln_holder: dict[str, str] = {}
        async with OrganisationClient(provider_url, PROVIDER.org_id) as client:
            queue = await client.channel.get_queue(outbound_queue_name(PROVIDER.org_id), ensure=False)
            for what, kind, body, expected in _singles(uln_holder):
                payload = body() if callable(body) else body
                if isinstance(payload, bytes):
                    await _send_raw(client, kind, payload)
                else:
                    await client.send(kind, payload)
                answer = await _next_answer(queue)
                code, detail = _outcome(answer)
                if code == "WSRC0005":
                    uln_holder["uln"] = json.loads(answer.body)["uln"]
                ok = code == expected
                failures += not ok
                table.add_row(what, kind, code, detail, "yes" if ok else f"NO (expected {expected})")
            console.print(table)
            failures += await _batch(console, hub, settings, provider_url)
        logins: dict[str, str] = {}
        failures += await run_plr(
            console, hub, settings, admin, provider_url, PROVIDER.org_id, uln_holder["uln"], logins
        )
        failures += await run_sharing(console, hub, settings, admin, logins, uln_holder["uln"], remark("9", 3))
    await admin.delete_vhost()
    await admin.close()
    failures += await _audit_verified(console, settings, heads)
    console.print("[bold green]demo complete[/]" if not failures else f"[bold red]{failures} unexpected outcome(s)[/]")
    return 1 if failures else 0


async def _audit_verified(console: Console, settings: Settings, heads: Path) -> int:
    """Check the audit log as `hub audit verify --heads` does, once the hub has stopped."""
    conn = await asyncpg.connect(settings.database_url)
    try:
        chain = await read_chain(conn)
    finally:
        await conn.close()
    hashes, published = [linked.hash for linked in chain], read_heads(heads)
    broken = first_broken_link(chain, chain_keys_from(settings))
    cut = next((why for head in published if (why := anchor_broken(hashes, head))), None)
    if broken or cut or not published:
        console.print(f"[bold red]audit log does not verify[/]: {broken or cut or 'no heads published'}")
        return 1
    console.print(
        f"Audit log: {len(chain)} entries, each HMAC-chained under the audit key; the {len(published)} heads the "
        f"hub published to {heads} all hold"
    )
    return 0


async def _send_raw(client: OrganisationClient, kind: str, payload: bytes) -> None:
    exchange = await client.channel.get_exchange("lrs.inbound", ensure=False)
    await exchange.publish(
        aio_pika.Message(
            payload,
            message_id=secrets.token_hex(16),
            type=kind,
            user_id=client.org_id,
            content_type="application/json",
            delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
        ),
        routing_key=f"{client.org_id}.{kind}",
    )


async def _batch(console: Console, hub: Hub, settings: Settings, provider_url: str) -> int:
    out = Path(settings.batch_output_dir)
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"LRB_{PROVIDER.org_id}_{datetime.now(UTC):%d%m%Y%H%M}.CSV"
    path.write_text(BATCH_HEADER + "".join(row + "\n" for row, _ in BATCH_ROWS))
    batch = read_batch_file(path, PROVIDER.org_id)
    await submit_batch(provider_url, batch)
    output, summary = await batch_output(hub.pool, batch.batch_id, out, wait_s=30)
    table = Table(title=f"Batch file {path.name}")
    for column in ("row", "MIS id", "return code", "reason", "as expected"):
        table.add_column(column)
    lines = output.read_text().splitlines()[1:]
    failures = 0
    for line, (_, expected) in zip(lines, BATCH_ROWS, strict=False):
        number, mis_id, return_code, _code, uln, reason = line.split(",", 5)
        ok = return_code == expected
        failures += not ok
        detail = f"{reason} - ULN {uln}" if uln else reason
        table.add_row(number, mis_id, return_code, detail.strip('"'), "yes" if ok else f"NO (expected {expected})")
    console.print(table)
    console.print(f"counts: {summary.line()}")
    console.print(f"batch output file: {output.resolve()}")
    return failures + (len(lines) != len(BATCH_ROWS))
