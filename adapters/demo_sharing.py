"""The demo's third act: a university under a data sharing agreement, and the learner's choices.

An operator approves the university's agreement (nominated learners only, for admissions,
the achievements feed, five fields); the university subscribes and asks for Amelia's record
(refused: she has not opted in), she opts in and nominates it, it asks again (her current
results, projected), her maths is re-marked (the university gets a correction), she opts out
(it gets a recall, and acknowledges it), and she reads who saw her data.
"""

import json
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from aio_pika.abc import AbstractIncomingMessage
from rich.console import Console
from rich.table import Table

from adapters.bootstrap import Hub
from adapters.demo_plr import next_answer
from adapters.organisations import add_organisation
from adapters.postgres.unit_of_work import PostgresUnitOfWork
from adapters.publisher import OrganisationClient
from adapters.rabbit.admin import BrokerAdmin
from adapters.settings import Settings
from contracts.codes import OrganisationKind
from hub.kernel import clock
from hub.kernel.model import Organisation
from hub.sharing import agreements
from hub.sharing.policy import Agreement, Feed, Scope

UNIVERSITY = Organisation("10000001", OrganisationKind.PARTNER, "Demo University admissions")
FIELDS = frozenset({"uln", "subject", "qualification_type", "grade", "award_date"})


@dataclass
class Step:
    party: str  # "university", "portal" or "ao"
    what: str
    kind: str
    body: Callable[[dict[str, str]], dict[str, Any]]
    expected: str
    then: str | None = None  # a message type the university must receive next, and its summary


def _steps(remark: Callable[[dict[str, str]], dict[str, Any]]) -> list[Step]:
    until = (clock.today() + timedelta(days=30)).isoformat()
    record = {"given_name": "Amelia", "family_name": "Okafor", "purpose": "admissions"}
    return [
        Step(
            "university",
            "subscribe to achievements for admissions",
            "feed.subscribe.v1",
            lambda s: {"feed": "achievements", "purpose": "admissions"},
            "active",
        ),
        # Not nominated yet, under a nominated-only agreement: answered as if no such learner.
        Step(
            "university",
            "ask for Amelia's record",
            "partner.record_request.v1",
            lambda s: {"uln": s["uln"]} | record,
            "WSEC0208",
        ),
        Step(
            "portal",
            "Amelia opts in (privacy notice seen)",
            "consent.set_sharing.v1",
            lambda s: {"uln": s["uln"], "share": True, "privacy_notice_seen": True},
            "applied",
        ),
        Step(
            "portal",
            "Amelia nominates the university for 30 days",
            "consent.nominate.v1",
            lambda s: {"uln": s["uln"], "org_id": UNIVERSITY.org_id, "until": until},
            "applied",
        ),
        Step(
            "university",
            "ask again",
            "partner.record_request.v1",
            lambda s: {"uln": s["uln"]} | record,
            f"WSRC0004: 1 entry ({','.join(sorted(FIELDS))})",
        ),
        Step(
            "ao",
            "maths re-marked again (version 3)",
            "achievement.amend.v1",
            remark,
            "amended",
            then="correction of version 2: grade 9",
        ),
        Step(
            "portal",
            "Amelia opts out",
            "consent.set_sharing.v1",
            lambda s: {"uln": s["uln"], "share": False},
            "applied",
            then="recall: 1 entry",
        ),
        Step(
            "university",
            "acknowledge the recall",
            "feed.notice_ack.v1",
            lambda s: {"notice_ids": [s["notice"]]},
            "1 acknowledged",
        ),
        Step(
            "portal", "Amelia reads who saw her data", "learner.read_disclosures.v1", lambda s: {"uln": s["uln"]}, "log"
        ),
    ]


def summary(message: AbstractIncomingMessage, state: dict[str, str]) -> str:
    body = json.loads(message.body)
    match message.type:
        case "feed.subscription.v1":
            return str(body["status"])
        case "partner.record.v1":
            items = body["items"]
            fields = ",".join(sorted(items[0]["fields"])) if items else ""
            return f"{body['response_code']}: {len(items)} entr{'y' if len(items) == 1 else 'ies'} ({fields})".replace(
                ": 0 entries ()", ""
            )
        case "consent.answer.v1":
            return str(body["outcome"])
        case "plr.outcomes.v1":
            return ",".join(i["reason"] or i["outcome"] for i in body["items"])
        case "feed.delivery.v1":
            [item] = body["items"]
            return f"correction of version {item['replaces_version']}: grade {item['fields']['grade']}"
        case "feed.notice.v1":
            state["notice"] = body["notice_id"]
            return f"{body['kind']}: {len(body['event_ids'])} entr{'y' if len(body['event_ids']) == 1 else 'ies'}"
        case "feed.notice_acked.v1":
            return f"{len(body['acknowledged'])} acknowledged"
        case "learner.disclosures.v1":
            partner = [e for e in body["entries"] if e["recipient"] == UNIVERSITY.org_id]
            allowed = sum(e["decision"] == "allowed" for e in partner)
            state["log"] = (
                f"{len(body['entries'])} entries; the university: {allowed} allowed, {len(partner) - allowed} refused"
            )
            return "log"
        case "message.rejected.v1":
            return str(body["reason"])
    return message.type or "?"


async def run_sharing(
    console: Console,
    hub: Hub,
    settings: Settings,
    admin: BrokerAdmin,
    logins: dict[str, str],
    uln: str,
    remark: Callable[[dict[str, str]], dict[str, Any]],
) -> int:
    """Play the steps; return how many outcomes were not the expected ones."""
    password = secrets.token_urlsafe(12)
    await add_organisation(hub.pool, hub.channel, admin, UNIVERSITY, password)
    logins = logins | {"university": settings.amqp_url_for(UNIVERSITY.org_id, password)}
    today = clock.today()
    draft = Agreement(
        "DSA-DEMO-0001",
        UNIVERSITY.org_id,
        1,
        frozenset({"admissions"}),
        frozenset({Feed.ACHIEVEMENTS}),
        FIELDS,
        Scope.NOMINATED,
        today,
        today + timedelta(days=365),
    )
    async with PostgresUnitOfWork(hub.pool) as uow:
        approved = await agreements.approve(uow, draft)
        await uow.commit()
    console.print(
        f"partner {UNIVERSITY.org_id} registered; agreement {draft.agreement_id} approved "
        f"(nominated learners, admissions, achievements: {', '.join(sorted(FIELDS))})"
    )
    table = Table(title="Sharing: a university's agreement and Amelia's choices")
    for column in ("from", "request", "type", "answer", "as expected"):
        table.add_column(column)
    failures = 0 if approved.applied else 1
    state = {"uln": uln}
    ids = {"university": UNIVERSITY.org_id, "portal": "900001", "ao": "100062"}
    async with (
        OrganisationClient(logins["university"], ids["university"]) as university,
        OrganisationClient(logins["portal"], ids["portal"]) as portal,
        OrganisationClient(logins["ao"], ids["ao"]) as ao,
    ):
        parties = {"university": university, "portal": portal, "ao": ao}
        for step in _steps(remark):
            client = parties[step.party]
            request_id = await client.send(step.kind, step.body(state))
            got = summary(await next_answer(client, request_id), state)
            ok = got == step.expected
            if step.then:
                following = summary(await next_answer(university), state)
                ok = ok and following == step.then
                got += f" (university: {following})"
            if got == "log" and step.expected == "log":
                got = state["log"]
            failures += not ok
            table.add_row(step.party, step.what, step.kind, got, "yes" if ok else f"NO (expected {step.expected})")
    console.print(table)
    return failures
