"""Partners receive what agreements and learners' choices allow, over the real broker and database."""

from datetime import timedelta

import pytest

from adapters.bootstrap import Hub
from adapters.postgres.unit_of_work import PostgresUnitOfWork
from contracts.codes import OrganisationKind
from hub.kernel import clock
from hub.kernel.errors import TransientError
from hub.sharing import agreements
from hub.sharing.policy import Agreement, Consent, Feed, Scope
from tests.integration.conftest import AddOrg, OrgLogin
from tests.integration.mis import Mis, body, register
from tests.integration.test_plr_over_broker import gcse

FIELDS = frozenset({"uln", "subject", "qualification_type", "grade", "award_date"})


async def approve(hub: Hub, partner: str, scope: Scope = Scope.ALL_NOT_OPTED_OUT) -> Agreement:
    today = clock.today()
    draft = Agreement("", partner, 1, frozenset({"admissions"}), frozenset({Feed.ACHIEVEMENTS}), FIELDS, scope,
                      today - timedelta(days=1), today + timedelta(days=365))  # fmt: skip
    async with PostgresUnitOfWork(hub.pool) as uow:
        change = await agreements.approve(uow, draft)
        await uow.commit()
    assert change.agreement is not None, change.reason
    return change.agreement


@pytest.fixture
async def sharing_learner(hub: Hub, provider: OrgLogin) -> str:
    """A learner registered with the privacy notice seen and sharing allowed (AbilityToShare 1)."""
    async with Mis(provider.amqp_url, provider.org.org_id) as mis:
        await mis.send("learner.register.v1", register(provider.org.org_id, ability_to_share=1))
        return str(body(await mis.answer())["uln"])


async def test_partner_receives_the_projection_and_a_recall_when_consent_is_withdrawn(
    hub: Hub, sharing_learner: str, add_org: AddOrg
) -> None:
    """Subscribed under an agreement, a partner gets permitted fields only; opting out recalls them."""
    uln = sharing_learner
    partner = await add_org(OrganisationKind.PARTNER)
    awarding = await add_org(OrganisationKind.AWARDING_ORGANISATION)
    portal = await add_org(OrganisationKind.LEARNER_PORTAL)
    agreement = await approve(hub, partner.org.org_id)
    async with Mis(partner.amqp_url, partner.org.org_id) as pm:
        await pm.send("feed.subscribe.v1", {"feed": "achievements", "purpose": "admissions"})
        subscribed = body(await pm.answer())
        async with Mis(awarding.amqp_url, awarding.org.org_id) as am:
            await am.send("achievement.submit.v1", gcse(uln, "R-1"))
            event_id = body(await am.answer())["items"][0]["event_id"]
        delivery = await pm.answer()
        async with Mis(portal.amqp_url, portal.org.org_id) as portal_mis:
            await portal_mis.send("consent.set_sharing.v1", {"uln": uln, "share": False})
            consent = body(await portal_mis.answer())
        notice = await pm.answer()

    assert subscribed["status"] == "active"
    [item] = body(delivery)["items"]
    assert (delivery.type, item["event_id"], set(item["fields"])) == ("feed.delivery.v1", event_id, set(FIELDS))
    assert item["stamp"] == {"agreement_id": agreement.agreement_id, "agreement_version": 1, "consent_version": 0,
                             "purpose": "admissions"}  # fmt: skip
    assert (consent["outcome"], consent["consent"]["sharing"], consent["consent"]["version"]) == ("applied", False, 1)
    assert (notice.type, body(notice)["kind"], body(notice)["event_ids"]) == ("feed.notice.v1", "recall", [event_id])


async def test_two_changes_of_one_learners_choices_made_at_once_never_undo_each_other(
    hub: Hub, sharing_learner: str
) -> None:
    """Both read version 0; the first to save wins version 1; the other is refused, to be retried afresh."""
    first = Consent(sharing_learner, 1, sharing=True, nominations={"10000001": clock.today()})
    second = Consent(sharing_learner, 1, sharing=True, nominations={"10000002": clock.today()})
    async with PostgresUnitOfWork(hub.pool) as uow:
        await uow.sharing.save_consent(first)
        await uow.commit()
    async with PostgresUnitOfWork(hub.pool) as uow:
        with pytest.raises(TransientError, match="changed concurrently"):
            await uow.sharing.save_consent(second)
    async with PostgresUnitOfWork(hub.pool) as uow:
        held = (await uow.sharing.consents([sharing_learner]))[sharing_learner]

    assert held == first
