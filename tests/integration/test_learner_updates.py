"""Learner updates over the real broker and database: who may change what, the audit log, MIS opt-outs."""

from adapters.bootstrap import Hub
from adapters.postgres.unit_of_work import PostgresUnitOfWork
from contracts.codes import OrganisationKind
from hub.sharing.policy import Consent
from tests.integration.conftest import AddOrg, OrgLogin
from tests.integration.mis import Mis, body, register
from tests.integration.test_plr_over_broker import gcse
from tests.integration.test_sharing_over_broker import approve


def _update(ukprn: str, uln: str, version: int, **changes: object) -> dict[str, object]:
    return {"ukprn": ukprn, "uln": uln, "version": version, "learner": changes}


async def test_the_register_knows_who_registered_a_learner_and_keeps_whose_choice_sharing_is(
    hub: Hub, provider: OrgLogin
) -> None:
    """registered_by and a consent's chose_sharing read back from PostgreSQL as the fakes hold them."""
    async with Mis(provider.amqp_url, provider.org.org_id) as mis:
        await mis.send("learner.register.v1", register(provider.org.org_id))
        uln = str(body(await mis.answer())["uln"])
    chosen = Consent(uln, 1, sharing=False, chose_sharing=True)
    async with PostgresUnitOfWork(hub.pool) as uow:
        await uow.sharing.save_consent(chosen)
        await uow.commit()
    async with PostgresUnitOfWork(hub.pool) as uow:
        found = (await uow.learners.registered_by(uln), await uow.learners.registered_by("9276308686"))
        consents = await uow.sharing.consents([uln])

    assert found == (provider.org.org_id, None)
    assert consents == {uln: chosen}


async def test_a_provider_that_looked_a_learner_up_cannot_change_her_email(hub: Hub, add_org: AddOrg) -> None:
    """A hostile school finds a college's learner by ULN and names, then tries to take over her email: refused,
    and both its attempt and its allowed postcode change are in her audit log."""
    college, school = await add_org(), await add_org()
    async with Mis(college.amqp_url, college.org.org_id) as mis:
        await mis.send("learner.register.v1", register(college.org.org_id, email_address="amelia@example.org"))
        uln = str(body(await mis.answer())["uln"])
    async with Mis(school.amqp_url, school.org.org_id) as mis:
        find = {"ukprn": school.org.org_id, "uln": uln, "given_name": "Amelia", "family_name": "Okafor"}
        await mis.send("learner.find_by_uln.v1", find)
        found = body(await mis.answer())
        await mis.send("learner.update.v1", _update(school.org.org_id, uln, 1, email_address="attacker@example.net"))
        refused = body(await mis.answer())
        await mis.send("learner.update.v1", _update(school.org.org_id, uln, 1, last_known_postcode="SE1 7PB"))
        moved = body(await mis.answer())
    async with PostgresUnitOfWork(hub.pool) as uow:  # the email address is sealed at rest: read it as the hub does
        learner = await uow.learners.get(uln)
        email = learner and learner.details.email_address
    async with hub.pool.acquire() as conn:
        log = await conn.fetch(
            "SELECT recipient, decision, fields, reason FROM audit_log WHERE uln = $1 AND what = 'learner.update'"
            " ORDER BY seq",
            uln,
        )

    why = "Learner not updated: only the provider that registered the learner may change email_address"
    assert (found["response_code"], refused["response_code"], refused["description"]) == ("WSRC0004", "HUB0001", why)
    assert (moved["response_code"], moved["learner"]["last_known_postcode"], email) == (
        "WSRC0006",
        "SE1 7PB",
        "amelia@example.org",
    )
    assert [tuple(r) for r in log] == [
        (school.org.org_id, "refused", ["email_address"], why),
        (
            school.org.org_id,
            "allowed",
            ["last_known_postcode"],
            "changed by a provider other than the one that registered the learner",
        ),
    ]


async def test_the_mis_ending_sharing_recalls_what_a_partner_holds(
    hub: Hub, provider: OrgLogin, add_org: AddOrg
) -> None:
    """AbilityToShare 1 -> 2 in an update recalls the partner's entry at once and raises the consent version."""
    async with Mis(provider.amqp_url, provider.org.org_id) as mis:
        await mis.send("learner.register.v1", register(provider.org.org_id, ability_to_share=1))
        uln = str(body(await mis.answer())["uln"])
    partner = await add_org(OrganisationKind.PARTNER)
    awarding = await add_org(OrganisationKind.AWARDING_ORGANISATION)
    await approve(hub, partner.org.org_id)
    async with Mis(partner.amqp_url, partner.org.org_id) as pm:
        await pm.send("feed.subscribe.v1", {"feed": "achievements", "purpose": "admissions"})
        await pm.answer()
        async with Mis(awarding.amqp_url, awarding.org.org_id) as am:
            await am.send("achievement.submit.v1", gcse(uln, "R-1"))
            event_id = body(await am.answer())["items"][0]["event_id"]
        await pm.answer()  # the delivery
        async with Mis(provider.amqp_url, provider.org.org_id) as mis:
            await mis.send("learner.update.v1", _update(provider.org.org_id, uln, 1, ability_to_share=2))
            updated = body(await mis.answer())
        notice = await pm.answer()
    async with PostgresUnitOfWork(hub.pool) as uow:
        consents = await uow.sharing.consents([uln])

    assert updated["response_code"] == "WSRC0006"
    assert (notice.type, body(notice)["kind"], body(notice)["event_ids"]) == ("feed.notice.v1", "recall", [event_id])
    assert consents == {uln: Consent(uln, 1, sharing=False)}
