"""Partners' requests and learners' reads, over the real broker and database: record requests,
backfills, subscriptions, the learner portal's reads, merges and suspended agreements."""

import asyncio
import uuid
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from adapters.bootstrap import Hub
from contracts.codes import OrganisationKind
from hub.kernel import clock
from hub.register import linking
from hub.sharing import agreements
from hub.sharing.policy import Agreement, Feed, Scope
from tests.integration.conftest import AddOrg, OrgLogin
from tests.integration.mis import Mis, body, register
from tests.integration.test_plr_over_broker import gcse

BOLA = {"given_name": "Bola", "family_name": "Adeyemi", "date_of_birth": "2007-09-30", "gender": 1,
        "last_known_postcode": "M1 1AE"}  # fmt: skip
ACHIEVEMENT_FIELDS = frozenset({"uln", "subject", "grade"})


async def _approve(
    hub: Hub, partner: OrgLogin, feeds: frozenset[Feed] = frozenset({Feed.ACHIEVEMENTS}),
    fields: frozenset[str] = ACHIEVEMENT_FIELDS,
) -> Agreement:  # fmt: skip
    """An agreement for admissions, in force for a year, reaching every learner who shares."""
    today = clock.today()
    draft = Agreement("", partner.org.org_id, 1, frozenset({"admissions"}), feeds, fields, Scope.ALL_NOT_OPTED_OUT,
                      today - timedelta(days=1), today + timedelta(days=365))  # fmt: skip
    async with hub.new_uow() as uow:
        change = await agreements.approve(uow, draft)
        await uow.commit()
    assert change.agreement is not None, change.reason
    return change.agreement


async def _register(provider: OrgLogin, ability_to_share: int, **person: Any) -> str:
    async with Mis(provider.amqp_url, provider.org.org_id) as mis:
        request = register(provider.org.org_id, ability_to_share=ability_to_share, **person)
        await mis.send("learner.register.v1", request)
        answer = body(await mis.answer())
    assert answer["response_code"] == "WSRC0005", answer
    return str(answer["uln"])


async def _submit(awarding: OrgLogin, uln: str, result_id: str, **changes: Any) -> str:
    """An awarding organisation records a result; the hub's event id from the receipt."""
    async with Mis(awarding.amqp_url, awarding.org.org_id) as mis:
        await mis.send("achievement.submit.v1", gcse(uln, result_id, **changes))
        [item] = body(await mis.answer())["items"]
    assert item["outcome"] == "recorded", item
    return str(item["event_id"])


def _bola(**changes: Any) -> dict[str, Any]:
    """What an awarding organisation sends to check a result is Bola's."""
    return {k: BOLA[k] for k in ("given_name", "family_name", "date_of_birth")} | changes


async def _ask(login: OrgLogin, kind: str, request: dict[str, Any]) -> Any:
    async with Mis(login.amqp_url, login.org.org_id) as mis:
        await mis.send(kind, request)
        return body(await mis.answer())


async def _ruled(hub: Hub, partner: str, what: str) -> list[tuple[str, str]]:
    """Wait until the hub has ruled on `what` for the partner: (decision, reason) of each ruling."""
    async with asyncio.timeout(10), hub.pool.acquire() as conn:
        while not (rows := await conn.fetch(
            "SELECT decision, reason FROM audit_log WHERE recipient = $1 AND what = $2 ORDER BY seq", partner, what
        )):  # fmt: skip
            await asyncio.sleep(0.05)
    return [(r["decision"], r["reason"]) for r in rows]


def _stamp(agreement: Agreement, consent_version: int = 0, agreement_version: int = 1) -> dict[str, Any]:
    return {"agreement_id": agreement.agreement_id, "agreement_version": agreement_version,
            "consent_version": consent_version, "purpose": "admissions"}  # fmt: skip


def _item(feed: str, fields: dict[str, Any], stamp: dict[str, Any], event_id: str | None = None) -> dict[str, Any]:
    return {"feed": feed, "event_id": event_id, "version": 1 if event_id else None, "replaces_version": None,
            "fields": fields, "stamp": stamp}  # fmt: skip


def _by_entry(items: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted(items, key=lambda i: (i["feed"], i["event_id"] or ""))


# --- Record requests --------------------------------------------------------------------------


async def test_record_request_answers_wsrc0004_with_only_the_permitted_fields(
    hub: Hub, provider: OrgLogin, add_org: AddOrg
) -> None:
    """A verified request about a learner who shares gets WSRC0004 and only the fields the agreement names."""
    partner, awarding = await add_org(OrganisationKind.PARTNER), await add_org(OrganisationKind.AWARDING_ORGANISATION)
    feeds = frozenset({Feed.ACHIEVEMENTS, Feed.LEARNER_DETAILS})
    agreement = await _approve(hub, partner, feeds, ACHIEVEMENT_FIELDS | {"family_name"})
    uln = await _register(provider, 1)
    event_id = await _submit(awarding, uln, "R-1")
    request = {"uln": uln, "given_name": "amelia", "family_name": "OKAFOR", "purpose": "admissions"}
    async with Mis(partner.amqp_url, partner.org.org_id) as mis:
        request_id = await mis.send("partner.record_request.v1", request)
        answer = await mis.answer()

    assert (answer.type, answer.correlation_id) == ("partner.record.v1", request_id)
    stamp = _stamp(agreement)
    assert body(answer) == {
        "response_code": "WSRC0004",
        "description": "Exact match",
        "items": [
            _item("learner_details", {"uln": uln, "family_name": "Okafor"}, stamp),
            _item("achievements", {"uln": uln, "subject": "GCSE Mathematics", "grade": "7"}, stamp, event_id),
        ],
    }


async def test_record_request_gives_no_learner_data_when_not_shared_not_verified_or_not_covered(
    hub: Hub, provider: OrgLogin, add_org: AddOrg
) -> None:
    """WSEC0206 for a learner who does not share, WSEC0208 for names that do not match, and for a
    purpose no agreement covers WSEC0208 without even looking the learner up."""
    partner, awarding = await add_org(OrganisationKind.PARTNER), await add_org(OrganisationKind.AWARDING_ORGANISATION)
    feeds = frozenset({Feed.ACHIEVEMENTS, Feed.LEARNER_DETAILS})
    agreement = await _approve(hub, partner, feeds, ACHIEVEMENT_FIELDS | {"family_name"})
    sharer = await _register(provider, 1)
    refuser = await _register(provider, 2, **BOLA)  # saw the privacy notice and chose not to share
    await _submit(awarding, sharer, "R-1")
    await _submit(awarding, refuser, "R-2", **_bola())
    names = {"given_name": "Amelia", "family_name": "Okafor", "purpose": "admissions"}
    bola = {"given_name": "Bola", "family_name": "Adeyemi", "purpose": "admissions"}
    requests = [
        {"uln": refuser} | bola,
        {"uln": sharer} | names | {"given_name": "Zara"},
        {"uln": sharer} | names | {"purpose": "employment_check"},
    ]
    answers = [await _ask(partner, "partner.record_request.v1", r) for r in requests]
    async with hub.pool.acquire() as conn:
        refusals = await conn.fetch(
            "SELECT what, reason FROM audit_log WHERE recipient = $1 AND purpose = 'employment_check' ORDER BY what",
            partner.org.org_id,
        )

    assert answers[:2] == [
        {"response_code": "WSEC0206", "description": "Learner opted not to share; no learning events returned",
         "items": []},
        {"response_code": "WSEC0208", "description": "Learner could not be verified", "items": []},
    ]  # fmt: skip
    assert answers[2] == {
        "response_code": "WSEC0208",
        "description": "no data sharing agreement in force covers this purpose: nothing is verified or shared",
        "items": [],
    }
    assert [tuple(r) for r in refusals] == []  # no decision about the learner was even needed
    assert agreement.purposes == frozenset({"admissions"})


# --- Backfill ---------------------------------------------------------------------------------


async def _backfill_page(mis: Mis, request: dict[str, Any]) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Send one backfill request; the items delivered for it, and its feed.backfill_done.v1."""
    request_id = await mis.send("feed.backfill.v1", request)
    items: list[dict[str, Any]] = []
    while (message := await mis.answer()).type == "feed.delivery.v1":
        items += body(message)["items"]
    assert (message.type, message.correlation_id) == ("feed.backfill_done.v1", request_id)
    return items, body(message)


async def test_backfill_pages_through_earlier_entries_through_todays_consent(
    hub: Hub, provider: OrgLogin, add_org: AddOrg
) -> None:
    """Entries recorded before the subscription come back in pages (next_since/next_after), minus
    those of a learner who has opted out since."""
    partner, awarding = await add_org(OrganisationKind.PARTNER), await add_org(OrganisationKind.AWARDING_ORGANISATION)
    portal = await add_org(OrganisationKind.LEARNER_PORTAL)
    agreement = await _approve(hub, partner)
    amelia, bola = await _register(provider, 1), await _register(provider, 1, **BOLA)
    amelia_ids = [await _submit(awarding, amelia, f"R-{n}", subject=f"GCSE {n}") for n in range(3)]
    await _submit(awarding, bola, "R-B", **_bola())
    opted_out = await _ask(portal, "consent.set_sharing.v1", {"uln": bola, "share": False})
    async with hub.pool.acquire() as conn:
        rows = await conn.fetch("SELECT event_id FROM learning_event ORDER BY updated_at, event_id::text")
    order = [str(r[0]) for r in rows]  # the order a backfill pages through
    async with Mis(partner.amqp_url, partner.org.org_id) as mis:
        await mis.send("feed.subscribe.v1", {"feed": "achievements", "purpose": "admissions"})
        subscribed = body(await mis.answer())
        first, first_done = await _backfill_page(mis, {"feed": "achievements", "since": "2000-01-01T00:00:00Z",
                                                       "limit": 2})  # fmt: skip
        second, second_done = await _backfill_page(
            mis, {"feed": "achievements", "since": first_done["next_since"], "after": first_done["next_after"],
                  "limit": 2},
        )  # fmt: skip
        nothing_else = await mis.no_answer(0.5)

    assert (subscribed["status"], opted_out["outcome"]) == ("active", "applied")
    subject = {e: f"GCSE {n}" for n, e in enumerate(amelia_ids)}
    expected = [
        _item("achievements", {"uln": amelia, "subject": subject[e], "grade": "7"}, _stamp(agreement), e)
        for e in order
        if e in subject
    ]
    assert first + second == expected
    assert [e["event_id"] for e in first] == [e for e in order[:2] if e in subject]
    refused_first = sum(1 for e in order[:2] if e not in subject)
    assert (first_done["delivered"], first_done["refused"], first_done["complete"], first_done["next_after"]) == (
        2 - refused_first, refused_first, False, order[1]
    )  # fmt: skip
    assert first_done["next_since"] is not None
    assert (second_done["delivered"], second_done["refused"], second_done["complete"], second_done["next_since"],
            second_done["next_after"]) == (1 + refused_first, 1 - refused_first, True, None, None)  # fmt: skip
    assert nothing_else


# --- What a learner may read ------------------------------------------------------------------


async def test_learner_reads_their_record_a_preview_that_matches_the_partners_answer_and_the_log(
    hub: Hub, provider: OrgLogin, add_org: AddOrg
) -> None:
    """Through the portal a learner reads their full record, previews exactly what a partner then
    receives, and reads the partner's check of her details and each of its decisions with its
    agreement and consent versions."""
    partner, awarding = await add_org(OrganisationKind.PARTNER), await add_org(OrganisationKind.AWARDING_ORGANISATION)
    portal = await add_org(OrganisationKind.LEARNER_PORTAL)
    feeds = frozenset({Feed.ACHIEVEMENTS, Feed.LEARNER_DETAILS})
    agreement = await _approve(hub, partner, feeds, ACHIEVEMENT_FIELDS | {"family_name"})
    uln = await _register(provider, 1)
    maths, art = await _submit(awarding, uln, "R-1"), await _submit(awarding, uln, "R-2", subject="GCSE Art")
    restricted = await _ask(portal, "consent.set_restricted_view.v1", {"uln": uln, "event_ids": [maths]})
    record = await _ask(portal, "learner.read_record.v1", {"uln": uln})
    preview = await _ask(portal, "learner.preview.v1", {"uln": uln, "org_id": partner.org.org_id})
    request = {"uln": uln, "given_name": "Amelia", "family_name": "Okafor", "purpose": "admissions"}
    received = await _ask(partner, "partner.record_request.v1", request)
    disclosures = await _ask(portal, "learner.read_disclosures.v1", {"uln": uln})

    consent = {"version": 1, "sharing": True, "restricted_event_ids": [maths], "basic_details_only": False,
               "nominations": {}}  # fmt: skip
    assert (restricted["outcome"], restricted["consent"]) == ("applied", consent)
    assert (record["uln"], record["found"], record["consent"]) == (uln, True, consent)
    assert record["details"] == {"given_name": "Amelia", "family_name": "Okafor", "date_of_birth": "2008-04-12",
                                 "gender": 2, "last_known_postcode": "SW1A 1AA", "ability_to_share": 1,
                                 "verification_type": 2}  # fmt: skip
    assert sorted((e["event_id"], e["source_ref"], e["fields"]["subject"]) for e in record["events"]) == sorted(
        [(maths, "R-1", "GCSE Mathematics"), (art, "R-2", "GCSE Art")]
    )
    stamp = _stamp(agreement, consent_version=1)
    assert _by_entry(preview["items"]) == [
        _item("achievements", {"uln": uln, "subject": "GCSE Mathematics", "grade": "7"}, stamp, maths),
        _item("learner_details", {"uln": uln, "family_name": "Okafor"}, stamp),
    ]
    assert preview["refused"] == {f"achievements:{art}": "the entry is not in the learner's restricted view"}
    assert (received["response_code"], _by_entry(received["items"])) == ("WSRC0004", _by_entry(preview["items"]))
    decisions = [
        (e["what"], e["decision"], e["fields"], e["agreement_id"], e["agreement_version"], e["consent_version"])
        for e in disclosures["entries"]
        if e["recipient"] == partner.org.org_id
    ]
    a = agreement.agreement_id
    assert (disclosures["uln"], decisions) == (uln, [
        ("learner.verification", "allowed", ["uln", "response_code"], None, None, None),  # the check of her names
        ("feed.learner_details:details", "allowed", ["family_name", "uln"], a, 1, 1),
        (f"feed.achievements:{maths}", "allowed", ["grade", "subject", "uln"], a, 1, 1),
        (f"feed.achievements:{art}", "refused", [], a, 1, 1),
    ])  # fmt: skip


# --- Merges, suspensions, subscriptions -------------------------------------------------------


async def test_merge_sends_a_rekey_notice_to_a_partner_holding_the_linked_ulns_data(
    hub: Hub, provider: OrgLogin, add_org: AddOrg
) -> None:
    """When the learner whose entry a partner holds is merged into another, the partner is told to re-key it."""
    partner, awarding = await add_org(OrganisationKind.PARTNER), await add_org(OrganisationKind.AWARDING_ORGANISATION)
    await _approve(hub, partner)
    master, linked = await _register(provider, 1), await _register(provider, 1, **BOLA)
    async with Mis(partner.amqp_url, partner.org.org_id) as mis:
        await mis.send("feed.subscribe.v1", {"feed": "achievements", "purpose": "admissions"})
        await mis.answer()
        event_id = await _submit(awarding, linked, "R-1", **_bola())
        delivered = await mis.answer()
        async with hub.new_uow() as uow:
            merged = await linking.merge_learners(uow, master, linked)
            await uow.commit()
        notice = await mis.answer()
    async with hub.pool.acquire() as conn:
        held = [tuple(r) for r in await conn.fetch("SELECT uln, key FROM held WHERE partner = $1", partner.org.org_id)]

    assert [i["event_id"] for i in body(delivered)["items"]] == [event_id]
    assert merged.applied
    rekey = body(notice)
    assert uuid.UUID(rekey.pop("notice_id"))
    assert (notice.type, rekey) == ("feed.notice.v1", {
        "kind": "rekey", "reason": f"ULN {linked} was merged into {master}: file what you hold under {master}",
        "uln": linked, "event_ids": [], "replacement": None, "new_uln": master,
    })  # fmt: skip
    assert held == [(master, event_id)]


async def test_suspended_agreement_stops_the_feed_without_recalling_and_resuming_restores_it(
    hub: Hub, provider: OrgLogin, add_org: AddOrg
) -> None:
    """While suspended a partner gets nothing and keeps what it holds (no recall); resumed, the feed flows again."""
    partner, awarding = await add_org(OrganisationKind.PARTNER), await add_org(OrganisationKind.AWARDING_ORGANISATION)
    agreement = await _approve(hub, partner)
    uln = await _register(provider, 1)
    async with Mis(partner.amqp_url, partner.org.org_id) as mis:
        await mis.send("feed.subscribe.v1", {"feed": "achievements", "purpose": "admissions"})
        await mis.answer()
        held_before = await _submit(awarding, uln, "R-1")
        first = body(await mis.answer())
        async with hub.new_uow() as uow:
            suspended = await agreements.suspend(uow, agreement.agreement_id, now=clock.now())
            await uow.commit()
        while_suspended = await _submit(awarding, uln, "R-2", subject="GCSE Art")
        ruling = await _ruled(hub, partner.org.org_id, f"feed.achievements:{while_suspended}")
        quiet_while_suspended = await mis.no_answer(0.5)
        async with hub.new_uow() as uow:
            resumed = await agreements.resume(uow, agreement.agreement_id, now=clock.now())
            await uow.commit()
        after = await _submit(awarding, uln, "R-3", subject="GCSE Music")
        resumed_delivery = await mis.answer()
    async with hub.pool.acquire() as conn:
        held = sorted(r[0] for r in await conn.fetch("SELECT key FROM held WHERE partner = $1", partner.org.org_id))
        notices = await conn.fetchval("SELECT count(*) FROM notice WHERE partner = $1", partner.org.org_id)

    assert [i["event_id"] for i in first["items"]] == [held_before]
    assert [(c.applied, c.recalls, c.agreement and c.agreement.version) for c in (suspended, resumed)] == [
        (True, 0, 2),
        (True, 0, 3),
    ]
    assert ruling == [("refused", f"agreement {agreement.agreement_id} is suspended")]
    assert quiet_while_suspended
    assert (resumed_delivery.type, body(resumed_delivery)["items"]) == ("feed.delivery.v1", [
        _item("achievements", {"uln": uln, "subject": "GCSE Music", "grade": "7"},
              _stamp(agreement, agreement_version=3), after),
    ])  # fmt: skip
    assert (held, notices) == (sorted([held_before, after]), 0)


async def test_subscription_to_a_feed_the_agreement_does_not_cover_is_refused(hub: Hub, add_org: AddOrg) -> None:
    """A partner whose agreement covers achievements cannot subscribe to participation."""
    partner = await add_org(OrganisationKind.PARTNER)
    agreement = await _approve(hub, partner)
    answer = await _ask(partner, "feed.subscribe.v1", {"feed": "participation", "purpose": "admissions"})
    async with hub.pool.acquire() as conn:
        subscriptions = await conn.fetchval("SELECT count(*) FROM subscription")

    why = f"agreement {agreement.agreement_id} does not cover the participation feed"
    assert answer == {"feed": "participation", "purpose": "admissions", "status": "refused", "reason": why}
    assert subscriptions == 0


async def test_an_organisation_that_is_not_a_partner_cannot_subscribe(hub: Hub, provider: OrgLogin) -> None:
    """A provider's feed.subscribe.v1 is rejected with sender_not_allowed."""
    async with Mis(provider.amqp_url, provider.org.org_id) as mis:
        request_id = await mis.send("feed.subscribe.v1", {"feed": "achievements", "purpose": "admissions"})
        answer = await mis.answer()

    assert (answer.type, answer.correlation_id, body(answer)) == ("message.rejected.v1", request_id, {
        "reason": "sender_not_allowed", "request_type": "feed.subscribe.v1",
        "errors": [{"loc": "", "message": "an organisation of kind provider may not send feed.subscribe.v1"}],
    })  # fmt: skip


async def test_an_entry_has_the_same_fields_by_feed_backfill_record_request_and_preview(
    hub: Hub, provider: OrgLogin, add_org: AddOrg
) -> None:
    """Under one agreement, one entry is projected to the same fields however the partner gets it
    (the preview promises exactly what the partner would receive)."""
    partner, awarding = await add_org(OrganisationKind.PARTNER), await add_org(OrganisationKind.AWARDING_ORGANISATION)
    portal = await add_org(OrganisationKind.LEARNER_PORTAL)
    await _approve(hub, partner, fields=frozenset({"uln", "result_id", "subject"}))  # result_id: the AO's reference
    uln = await _register(provider, 1)
    async with Mis(partner.amqp_url, partner.org.org_id) as mis:
        await mis.send("feed.subscribe.v1", {"feed": "achievements", "purpose": "admissions"})
        await mis.answer()
        await _submit(awarding, uln, "R-1")
        [fed] = body(await mis.answer())["items"]
        [backfilled], _ = await _backfill_page(mis, {"feed": "achievements", "since": "2000-01-01T00:00:00Z"})
    request = {"uln": uln, "given_name": "Amelia", "family_name": "Okafor", "purpose": "admissions"}
    [requested] = (await _ask(partner, "partner.record_request.v1", request))["items"]
    [previewed] = (await _ask(portal, "learner.preview.v1", {"uln": uln, "org_id": partner.org.org_id}))["items"]

    expected = {"uln": uln, "result_id": "R-1", "subject": "GCSE Mathematics"}
    assert {
        "feed": fed["fields"],
        "backfill": backfilled["fields"],
        "record request": requested["fields"],
        "preview": previewed["fields"],
    } == dict.fromkeys(("feed", "backfill", "record request", "preview"), expected)
