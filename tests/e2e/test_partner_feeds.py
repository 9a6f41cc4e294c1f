"""A partner consumes its own queue with a plain AMQP client while learners, an awarding
organisation and an operator act: it sees only what agreements and learners' choices allow.

Nothing here imports the hub's code: organisations and agreements are made with the `hub` CLI,
messages are built by hand and read from each organisation's own queue (`lrs.out.<id>`); the
database is read only to know that the hub has ruled on something it must not send.
"""

import asyncio
import json
import subprocess
import uuid
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aio_pika
import asyncpg
from aio_pika.abc import AbstractChannel, AbstractConnection, AbstractIncomingMessage

from tests.conftest import new_ukprn
from tests.e2e.conftest import Cli, StartHub

ANSWER_TIMEOUT_S = 20
PASSWORD = "secret-pw"

# Four people a provider registers: nobody is a near match of another.
ADA = {"given_name": "Ada", "family_name": "Lovelace", "date_of_birth": "2007-12-10", "last_known_postcode": "LS1 4AP"}
BEN = {"given_name": "Ben", "family_name": "Okonkwo", "date_of_birth": "2008-03-21", "last_known_postcode": "M1 1AE"}
CAL = {"given_name": "Cal", "family_name": "Pritchard", "date_of_birth": "2006-07-02", "last_known_postcode": "B1 1AA"}
DEE = {"given_name": "Dee", "family_name": "Ashworth", "date_of_birth": "2009-01-15", "last_known_postcode": "YO1 7HH"}
EVE = {"given_name": "Eve", "family_name": "Marsh", "date_of_birth": "2007-05-30", "last_known_postcode": "EH1 1YZ"}
SHARED_FIELDS = ("uln", "subject", "grade")


@dataclass
class Party:
    """An organisation's own connection: publishes as its user, reads its own queue."""

    org_id: str
    url: str
    connection: AbstractConnection | None = None
    channel: AbstractChannel | None = None
    # What arrives on its queue, pushed by a consumer: polling with basic.get could hang, its
    # timeout never firing, once in a few runs.
    arrivals: "asyncio.Queue[tuple[str, dict[str, Any]]]" = field(default_factory=asyncio.Queue)

    async def open(self) -> "Party":
        self.connection = await aio_pika.connect(self.url)
        self.channel = await self.connection.channel(publisher_confirms=True)
        queue = await self.channel.get_queue(f"lrs.out.{self.org_id}", ensure=False)

        async def arrived(message: AbstractIncomingMessage) -> None:
            self.arrivals.put_nowait((message.type or "", json.loads(message.body)))

        await queue.consume(arrived, no_ack=True)
        return self

    async def close(self) -> None:
        if self.connection is not None:
            await self.connection.close()

    async def send(self, kind: str, body: dict[str, Any]) -> str:
        assert self.channel is not None
        message_id = str(uuid.uuid4())
        exchange = await self.channel.get_exchange("lrs.inbound", ensure=False)
        message = aio_pika.Message(
            json.dumps(body).encode(),
            message_id=message_id,
            type=kind,
            user_id=self.org_id,
            content_type="application/json",
            delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
        )
        await exchange.publish(message, routing_key=f"{self.org_id}.{kind}")
        return message_id

    async def next(self, timeout_s: float = ANSWER_TIMEOUT_S) -> tuple[str, dict[str, Any]]:
        """The next message on this organisation's queue: its type and body."""
        return await asyncio.wait_for(self.arrivals.get(), timeout_s)

    async def ask(self, kind: str, body: dict[str, Any]) -> dict[str, Any]:
        """Send a request and return the body of the answer (the next message on the queue)."""
        await self.send(kind, body)
        return (await self.next())[1]

    async def quiet(self, wait_s: float = 1.0) -> list[tuple[str, dict[str, Any]]]:
        """Whatever arrives within `wait_s` (nothing, when all is well)."""
        arrived = []
        try:
            while True:
                arrived.append(await self.next(wait_s))
        except TimeoutError:
            return arrived


def _today() -> str:
    return datetime.now(UTC).date().isoformat()


def _in_a_year() -> str:
    return (datetime.now(UTC).date() + timedelta(days=365)).isoformat()


def _add_organisations(hub_cli: Cli, hub_env: dict[str, str], *kinds: str) -> list[Party]:
    """`hub org add` for each kind, side by side (each is a process of its own)."""
    ids = [new_ukprn() for _ in kinds]

    def _add(org_id: str, kind: str) -> subprocess.CompletedProcess[str]:
        return hub_cli("org", "add", org_id, "--kind", kind, "--name", f"E2E {kind}", "--password", PASSWORD)

    with ThreadPoolExecutor(len(kinds)) as pool:
        results = list(pool.map(_add, ids, kinds))
    for result in results:
        assert result.returncode == 0, result.stderr
    base = hub_env["LRS_AMQP_URL"]
    return [Party(i, base.replace("guest:guest@", f"{i}:{PASSWORD}@")) for i in ids]


def _approve(hub_cli: Cli, partner: str, scope: str) -> str:
    agreement_id = f"DSA-E2E-{uuid.uuid4().hex[:6].upper()}"
    fields = [arg for f in SHARED_FIELDS for arg in ("--field", f)]
    result = hub_cli(
        "dsa", "approve", partner, "--purpose", "admissions", "--feed", "achievements", *fields,
        "--scope", scope, "--from", _today(), "--to", _in_a_year(), "--id", agreement_id,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f"approved {agreement_id} v1 active: partner {partner}, {scope}")
    return agreement_id


def _open_for_business(
    start_hub: StartHub, hub_cli: Cli, hub_env: dict[str, str], scope: str
) -> tuple[list[subprocess.Popen[bytes]], tuple[Party, Party, Party, Party], str]:
    """Start a hub while the operator registers a provider, an awarding organisation, the learner
    portal and a partner, and approves the partner's agreement (neither needs the other)."""
    with ThreadPoolExecutor(1) as pool:
        started = pool.submit(start_hub, 1)
        provider, ao, portal, partner = _add_organisations(
            hub_cli, hub_env, "provider", "awarding_organisation", "learner_portal", "partner"
        )
        agreement = _approve(hub_cli, partner.org_id, scope)
        processes = started.result()
    return processes, (provider, ao, portal, partner), agreement


async def _register(provider: Party, person: dict[str, str], ability_to_share: int) -> str:
    learner = person | {"gender": 9, "verification_type": 1, "ability_to_share": ability_to_share}
    answer = await provider.ask("learner.register.v1", {"ukprn": provider.org_id, "learner": learner})
    assert answer["response_code"] == "WSRC0005", answer
    return str(answer["uln"])


async def _achievement(ao: Party, uln: str, person: dict[str, str], result_id: str, subject: str) -> str:
    """An awarding organisation submits a result; returns the hub's event id from the receipt."""
    body = {
        "result_id": result_id, "uln": uln, "given_name": person["given_name"],
        "family_name": person["family_name"], "date_of_birth": person["date_of_birth"],
        "subject_code": "601/4447/6", "subject": subject, "level": "2", "qualification_type": "GCSE",
        "grade": "7", "award_date": "2026-08-20", "status": "Final",
    }  # fmt: skip
    receipt = await ao.ask("achievement.submit.v1", body)
    [item] = receipt["items"]
    assert item["outcome"] == "recorded", item
    return str(item["event_id"])


async def _ruled(database_url: str, partner: str, event_ids: Sequence[str]) -> list[tuple[str, str, str]]:
    """Wait until the hub has ruled on each entry for the partner; (what, decision, reason) of each."""
    whats = [f"feed.achievements:{e}" for e in event_ids]
    conn = await asyncpg.connect(database_url)
    try:
        async with asyncio.timeout(ANSWER_TIMEOUT_S):
            while True:
                rows = await conn.fetch(
                    "SELECT what, decision, reason FROM audit_log WHERE recipient = $1 AND what = ANY($2::text[])",
                    partner,
                    whats,
                )
                if len(rows) >= len(whats):
                    return sorted((r["what"], r["decision"], r["reason"]) for r in rows)
                await asyncio.sleep(0.1)
    finally:
        await conn.close()


def _partner_lines(audit_show: str, partner: str) -> list[tuple[str, ...]]:
    """`hub audit show` lines about the partner: decision, what, purpose, fields, reason, versions."""
    rows = [line.split("\t") for line in audit_show.splitlines() if "\t" in line]
    return [tuple(r[2:]) for r in rows if r[1] == partner]


async def test_partner_sees_only_what_learners_allow_and_revocation_recalls_it(
    start_hub: StartHub, hub_cli: Cli, hub_env: dict[str, str], tmp_path: Path
) -> None:
    """Opted-out learners never appear, a restricted view hides unselected events, and revoking
    the agreement sends a recall per learner held, listed by `hub notices` until acknowledged."""
    _, (provider, ao, portal, partner), agreement = _open_for_business(start_hub, hub_cli, hub_env, "all_not_opted_out")
    for party in (provider, ao, portal, partner):
        await party.open()
    try:
        ada, ben = await _register(provider, ADA, 1), await _register(provider, BEN, 1)
        cal = await _register(provider, CAL, 2)  # saw the privacy notice, does not share
        dee = await _register(provider, DEE, 1)
        opted_out = await portal.ask("consent.set_sharing.v1", {"uln": dee, "share": False})
        subscribed = await partner.ask("feed.subscribe.v1", {"feed": "achievements", "purpose": "admissions"})

        ada_maths = await _achievement(ao, ada, ADA, "R-1", "GCSE Mathematics")
        first = await partner.next()
        restricted = await portal.ask("consent.set_restricted_view.v1", {"uln": ada, "event_ids": [ada_maths]})
        ada_art = await _achievement(ao, ada, ADA, "R-2", "GCSE Art")
        cal_maths = await _achievement(ao, cal, CAL, "R-3", "GCSE Mathematics")
        dee_maths = await _achievement(ao, dee, DEE, "R-4", "GCSE Mathematics")
        ben_maths = await _achievement(ao, ben, BEN, "R-5", "GCSE Mathematics")
        second = await partner.next()
        refusals = await _ruled(hub_env["LRS_DATABASE_URL"], partner.org_id, [ada_art, cal_maths, dee_maths])
        nothing_else = await partner.quiet(0.5)

        revoked = hub_cli("dsa", "revoke", agreement)
        # The notices are in the register at once; the hub's relay sends them a few seconds later.
        listing = asyncio.create_task(asyncio.to_thread(hub_cli, "notices", "--partner", partner.org_id))
        recalls = [await partner.next(), await partner.next()]
        listed = await listing
        notice_ids = sorted(body["notice_id"] for _, body in recalls)
        acked = await partner.ask("feed.notice_ack.v1", {"notice_ids": notice_ids})
    finally:
        for party in (provider, ao, portal, partner):
            await party.close()
    with ThreadPoolExecutor(3) as pool:
        anchor, heads = str(tmp_path / "anchor.json"), hub_env["LRS_AUDIT_HEADS_FILE"]
        verify = ("audit", "verify", "--anchor", anchor, "--new-anchor", "--heads", heads)
        checks = [("notices", "--partner", partner.org_id), verify, ("audit", "show", ada)]
        listed_after, verified, shown = pool.map(lambda args: hub_cli(*args), checks)

    assert (subscribed["status"], opted_out["outcome"], opted_out["consent"]["sharing"]) == ("active", "applied", False)
    assert (restricted["outcome"], restricted["consent"]["restricted_event_ids"]) == ("applied", [ada_maths])
    stamp = {"agreement_id": agreement, "agreement_version": 1, "consent_version": 0, "purpose": "admissions"}
    assert [first, second] == [
        ("feed.delivery.v1", {"feed": "achievements", "items": [
            {"feed": "achievements", "event_id": ada_maths, "version": 1, "replaces_version": None,
             "fields": {"uln": ada, "subject": "GCSE Mathematics", "grade": "7"}, "stamp": stamp},
        ]}),
        ("feed.delivery.v1", {"feed": "achievements", "items": [
            {"feed": "achievements", "event_id": ben_maths, "version": 1, "replaces_version": None,
             "fields": {"uln": ben, "subject": "GCSE Mathematics", "grade": "7"}, "stamp": stamp},
        ]}),
    ]  # fmt: skip
    assert refusals == sorted([
        (f"feed.achievements:{ada_art}", "refused", "the entry is not in the learner's restricted view"),
        (f"feed.achievements:{cal_maths}", "refused", "the learner does not share their record"),
        (f"feed.achievements:{dee_maths}", "refused", "the learner does not share their record"),
    ])  # fmt: skip
    assert nothing_else == []
    everything = json.dumps([first, second, *recalls])
    assert (cal in everything, dee in everything, ada_art in everything) == (False, False, False)

    assert revoked.returncode == 0, revoked.stderr
    assert revoked.stdout.splitlines()[0] == "2 recall notice(s) sent for what the partner may no longer hold"
    why = f"agreement {agreement} version 2 no longer allows it"
    assert sorted((kind, b["kind"], b["uln"], b["event_ids"], b["reason"]) for kind, b in recalls) == sorted([
        ("feed.notice.v1", "recall", ada, [ada_maths], why),
        ("feed.notice.v1", "recall", ben, [ben_maths], why),
    ])  # fmt: skip
    listed_rows = sorted(tuple(line.split("\t")[1:6]) for line in listed.stdout.splitlines()[:-1])
    assert listed_rows == sorted(
        (partner.org_id, "recall", b["notice_id"], b["uln"], ",".join(b["event_ids"])) for _, b in recalls
    )
    assert listed.stdout.splitlines()[-1] == "2 notice(s) not acknowledged"
    assert acked == {"acknowledged": notice_ids, "unknown": []}
    assert listed_after.stdout == "0 notice(s) not acknowledged\n"

    assert (verified.returncode, verified.stdout.startswith("audit log intact: "), verified.stderr) == (0, True, "")
    assert shown.returncode == 0, shown.stderr
    assert _partner_lines(shown.stdout, partner.org_id) == [
        ("allowed", f"feed.achievements:{ada_maths}", "admissions", "grade,subject,uln", "",
         f"agreement {agreement} v1, consent v0"),
        ("refused", f"feed.achievements:{ada_art}", "admissions", "",
         "the entry is not in the learner's restricted view", f"agreement {agreement} v1, consent v1"),
        ("allowed", f"notice.recall:{ada_maths}", "recall", "", why, ""),
    ]  # fmt: skip


async def test_nomination_that_ends_stops_the_feed_and_recalls_without_anyone_acting(
    start_hub: StartHub, hub_cli: Cli, hub_env: dict[str, str]
) -> None:
    """Under a nominated-only agreement, a nomination `until` today feeds the partner today; the
    hub started the next day recalls what it holds and sends nothing new, with no one acting."""
    first_day, (provider, ao, portal, partner), agreement = _open_for_business(start_hub, hub_cli, hub_env, "nominated")
    for party in (provider, ao, portal, partner):
        await party.open()
    try:
        eve = await _register(provider, EVE, 1)
        until = _today()  # the nomination's last day
        nominated = await portal.ask("consent.nominate.v1", {"uln": eve, "org_id": partner.org_id, "until": until})
        subscribed = await partner.ask("feed.subscribe.v1", {"feed": "achievements", "purpose": "admissions"})
        maths = await _achievement(ao, eve, EVE, "R-1", "GCSE Mathematics")
        delivered = await partner.next()

        for process in first_day:  # the operator stops the hub for the night...
            process.terminate()
            process.wait(timeout=30)
        start_hub(1, extra_env={"LRS_CLOCK_SHIFT_DAYS": "1", "LRS_EXPIRY_SWEEP_S": "0.2"})  # ...and it is tomorrow
        recalled = await partner.next()
        art = await _achievement(ao, eve, EVE, "R-2", "GCSE Art")
        refusal = await _ruled(hub_env["LRS_DATABASE_URL"], partner.org_id, [art])
        nothing_else = await partner.quiet(1.0)
    finally:
        for party in (provider, ao, portal, partner):
            await party.close()

    assert (nominated["outcome"], nominated["consent"]["nominations"]) == ("applied", {partner.org_id: until})
    assert subscribed["status"] == "active"
    stamp = {"agreement_id": agreement, "agreement_version": 1, "consent_version": 1, "purpose": "admissions"}
    assert delivered == ("feed.delivery.v1", {"feed": "achievements", "items": [
        {"feed": "achievements", "event_id": maths, "version": 1, "replaces_version": None,
         "fields": {"uln": eve, "subject": "GCSE Mathematics", "grade": "7"}, "stamp": stamp},
    ]})  # fmt: skip
    recall = recalled[1]
    assert (recalled[0], recall["kind"], recall["uln"], recall["event_ids"], recall["reason"]) == (
        "feed.notice.v1",
        "recall",
        eve,
        [maths],
        "the learner's nomination ended",
    )
    assert refusal == [
        (
            f"feed.achievements:{art}",
            "refused",
            "the learner has not nominated this organisation, or the nomination ended",
        )
    ]
    assert nothing_else == []
