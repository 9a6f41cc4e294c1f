"""The demo's second act: an awarding organisation, the provider and the learner portal build
Amelia's Personal Learning Record, bad input included, and an operator reads it.

Each step is sent by one party and answered on that party's own queue (a challenge is also
noticed by the organisation that sent the entry); the demo prints every answer and counts
those that are not the one expected.
"""

import asyncio
import json
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from aio_pika.abc import AbstractIncomingMessage
from rich.console import Console
from rich.table import Table

from adapters.bootstrap import Hub
from adapters.organisations import add_organisation
from adapters.postgres.unit_of_work import PostgresUnitOfWork
from adapters.publisher import OrganisationClient
from adapters.rabbit.admin import BrokerAdmin
from adapters.rabbit.topology import outbound_queue_name
from adapters.settings import Settings
from contracts.codes import OrganisationKind
from hub.disclosure import show_record
from hub.kernel.model import Organisation

AWARDING = Organisation("100062", OrganisationKind.AWARDING_ORGANISATION, "Demo Awarding Body")
PORTAL = Organisation("900001", OrganisationKind.LEARNER_PORTAL, "Demo learner portal")
_AMELIA = {"given_name": "Amelia", "family_name": "Okafor", "date_of_birth": "2008-04-12"}


def _gcse(uln: str, result_id: str, subject: str, grade: str | int, **more: Any) -> dict[str, Any]:
    return (
        _AMELIA
        | {
            "result_id": result_id,
            "uln": uln,
            "subject_code": "601/4447/6" if subject == "Mathematics" else "601/4522/5",
            "subject": f"GCSE {subject}",
            "level": "2",
            "qualification_type": "GCSE",
            "grade": grade,
            "award_date": "2026-08-20",
            "status": "Final",
        }
        | more
    )


@dataclass
class Step:
    party: str  # "ao", "provider" or "portal"
    what: str
    kind: str
    body: Callable[[dict[str, str]], Any]
    expected: str
    also: str | None = None  # a party that must receive a notice as well, and what it must say


def _steps(ukprn: str) -> list[Step]:
    tomorrow = (datetime.now(UTC).date() + timedelta(days=1)).isoformat()
    return [
        Step(
            "ao",
            "verify Amelia",
            "learner.verify.v1",
            lambda s: {"uln": s["uln"], "given_name": "AMELIA", "family_name": "okafor"},
            "WSRC0004",
        ),
        Step(
            "ao",
            "verify a batch: right, wrong name, bad ULN",
            "learner.verify_batch.v1",
            lambda s: {
                "items": [
                    {"uln": s["uln"], "given_name": "Amelia", "family_name": "Okafor"},
                    {"uln": s["uln"], "given_name": "Olivia", "family_name": "Okafor"},
                    {"uln": "1234567890", "given_name": "Amelia", "family_name": "Okafor"},
                ]
            },
            "WSRC0004,WSEC0208,WSEC0136",
        ),
        Step(
            "ao",
            "results day: a bulk of five",
            "achievement.bulk.v1",
            lambda s: {
                "items": [
                    {"action": "submit"} | _gcse(s["uln"], "R-MATHS", "Mathematics", "7"),
                    {"action": "submit"} | _gcse(s["uln"], "R-ENG", "English Language", "6"),
                    {"action": "submit"} | _gcse(s["uln"], "R-SCI", "Physics", "B+"),
                    {"action": "submit"} | _gcse(s["uln"], "R-ART", "Art", "5", award_date=tomorrow),
                    {"action": "submit"} | _gcse(s["uln"], "R-MUS", "Music", 5),
                ]
            },
            "recorded,recorded,grade_outside_scale,date_out_of_range,invalid_item",
        ),
        Step(
            "ao",
            "a re-mark: maths 7 -> 8 (version 2)",
            "achievement.amend.v1",
            lambda s: _gcse(s["uln"], "R-MATHS", "Mathematics", "8", version=2),
            "amended",
        ),
        Step(
            "ao",
            "an older re-mark arriving late (version 1)",
            "achievement.amend.v1",
            lambda s: _gcse(s["uln"], "R-MATHS", "Mathematics", "6", version=1),
            "stale_version",
        ),
        Step(
            "ao",
            "a result for someone else's ULN",
            "achievement.submit.v1",
            lambda s: _gcse(s["uln"], "R-X", "History", "4", given_name="Olivia"),
            "not_verified",
        ),
        Step(
            "provider",
            "the college enrols her on A level maths",
            "enrolment.publish.v1",
            lambda s: (
                _AMELIA
                | {
                    "ukprn": ukprn,
                    "enrolment_id": "ENR-2026-01",
                    "uln": s["uln"],
                    "learning_aim_reference": "60146543",
                    "learning_aim_title": "A level Mathematics",
                    "start_date": "2026-09-01",
                    "planned_end_date": "2028-06-30",
                }
            ),
            "recorded",
        ),
        Step(
            "provider",
            "the college sends an achievement",
            "achievement.submit.v1",
            lambda s: _gcse(s["uln"], "R-Y", "History", "4"),
            "sender_not_allowed",
        ),
        Step(
            "portal",
            "Amelia challenges her English result",
            "plr.challenge.v1",
            lambda s: {"uln": s["uln"], "event_id": s["R-ENG"], "reason": "I sat Literature, not Language"},
            "under_challenge",
            also="ao:R-ENG",
        ),
        Step(
            "ao",
            "the awarding body withdraws it (version 2)",
            "achievement.withdraw.v1",
            lambda s: {"result_id": "R-ENG", "version": 2, "reason": "Entered for the wrong specification"},
            "withdrawn",
            also="portal:withdrawn",
        ),
    ]


def summary(message: AbstractIncomingMessage) -> str:
    """An answer in one short string: its codes, outcomes or reason."""
    body = json.loads(message.body)
    match message.type:
        case "learner.verification.v1":
            return ",".join(str(i["response_code"]) for i in body["items"])
        case "plr.outcomes.v1":
            return ",".join(i["reason"] or i["outcome"] for i in body["items"])
        case "plr.challenge_answer.v1":
            return str(body["outcome"])
        case "plr.challenge_notice.v1":
            return str(body["source_ref"])
        case "plr.challenge_outcome.v1":
            return str(body["resolution"])
        case "message.rejected.v1":
            return str(body["reason"])
    return message.type or "?"


async def next_answer(
    client: OrganisationClient, answering: str | None = None, timeout_s: float = 15
) -> AbstractIncomingMessage:
    """The next message on the party's queue (the answer to `answering`, skipping older answers
    such as the batch file's rows, which the first act read from the database)."""
    queue = await client.channel.get_queue(outbound_queue_name(client.org_id), ensure=False)
    async with asyncio.timeout(timeout_s):
        while True:
            message = await queue.get(no_ack=True, fail=False)
            if message is None:
                await asyncio.sleep(0.05)
            elif answering is None or message.correlation_id == answering:
                return message


async def run_plr(
    console: Console,
    hub: Hub,
    settings: Settings,
    admin: BrokerAdmin,
    provider_url: str,
    ukprn: str,
    uln: str,
    logins: dict[str, str],
) -> int:
    """Play the steps; print the answers and Amelia's PLR; return how many were not as expected.

    `logins` gets the AMQP URLs of the awarding organisation ("ao") and the portal ("portal").
    """
    for name, org in (("ao", AWARDING), ("portal", PORTAL)):
        password = secrets.token_urlsafe(12)
        await add_organisation(hub.pool, hub.channel, admin, org, password)
        logins[name] = logins[org.org_id] = settings.amqp_url_for(org.org_id, password)
    console.print(f"awarding organisation {AWARDING.org_id} and learner portal {PORTAL.org_id} registered")
    table = Table(title="Amelia's Personal Learning Record: awarding body, college, learner portal")
    for column in ("from", "request", "type", "answer", "as expected"):
        table.add_column(column)
    state = {"uln": uln}
    failures = 0
    async with (
        OrganisationClient(logins[AWARDING.org_id], AWARDING.org_id) as ao,
        OrganisationClient(provider_url, ukprn) as provider,
        OrganisationClient(logins[PORTAL.org_id], PORTAL.org_id) as portal,
    ):
        parties = {"ao": ao, "provider": provider, "portal": portal}
        for step in _steps(ukprn):
            client = parties[step.party]
            request_id = await client.send(step.kind, step.body(state))
            answer = await next_answer(client, request_id)
            for item in json.loads(answer.body).get("items", []):
                if item.get("event_id"):  # remember the hub's ids of entries, to challenge one
                    state[item["ref"]] = item["event_id"]
            got = summary(answer)
            if step.also:
                party, expected_notice = step.also.split(":")
                notice = summary(await next_answer(parties[party]))
                got += f" (and {party}: {notice})"
                ok = got.startswith(step.expected) and notice == expected_notice
            else:
                ok = got == step.expected
            failures += not ok
            table.add_row(step.party, step.what, step.kind, got, "yes" if ok else f"NO (expected {step.expected})")
    console.print(table)
    return failures + await _show(console, hub, uln)


async def _show(console: Console, hub: Hub, uln: str) -> int:
    async with PostgresUnitOfWork(hub.pool) as uow:
        _, entries = await show_record(uow, "operator:demo", uln, datetime.now(UTC))
        await uow.commit()
    table = Table(title=f"`hub plr show {uln}` (this reading is audited)")
    for column in ("kind", "source", "ref", "version", "what", "status"):
        table.add_column(column)
    for e in entries:
        what = " ".join(str(e.fields[f]) for f in ("subject", "learning_aim_title", "grade") if e.fields.get(f))
        status = ("withdrawn" if e.withdrawn else "current") + (", under challenge" if e.under_challenge else "")
        table.add_row(e.kind, f"{e.source} {e.source_org}", e.source_ref, str(e.version), what, status)
    console.print(table)
    expected = {("R-MATHS", 2, False), ("R-ENG", 2, True), ("ENR-2026-01", 1, False)}
    found = {(e.source_ref, e.version, e.withdrawn) for e in entries}
    if found != expected:
        console.print(f"[red]PLR not as expected: {sorted(found)}[/]")
        return 1
    return 0


def remark(grade: str, version: int) -> Callable[[dict[str, str]], dict[str, Any]]:
    """Amelia's maths re-marked: the body of an achievement.amend.v1 (for the third act)."""
    return lambda s: _gcse(s["uln"], "R-MATHS", "Mathematics", grade, version=version)
