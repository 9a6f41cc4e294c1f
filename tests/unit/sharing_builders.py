"""Builders and readers for the sharing unit tests: partners, agreements, the hub's events, what partners got.

Agreements and subscriptions are put straight into the committed state (an operator's `hub dsa`
and a partner's subscribe are tested on their own); hub events are offered the way the events
consumer offers them, with hub.sharing.feeds.offer_event in a unit of work of their own.
"""

import itertools
import uuid
from collections.abc import Awaitable, Callable
from datetime import date, datetime, timedelta
from typing import Any, TypeVar

from contracts.base import Contract
from contracts.codes import AbilityToShare, OrganisationKind
from contracts.plr import AchievementsAmended, AchievementsRecorded
from contracts.sharing import DecisionStamp, DeliveredItem, Delivery, Notice
from hub.kernel import clock
from hub.kernel.model import Learner, Organisation
from hub.kernel.ports import Subscription, UnitOfWork
from hub.sharing import feeds
from hub.sharing.policy import Agreement, Feed, Scope

from .builders import learner
from .fakes import FakeUnitOfWorkFactory
from .plr_builders import AMEND, SUBMIT, amend_body, fresh_ref, hub_today, outbound_to, published, send, submit_body

T = TypeVar("T")
C = TypeVar("C", bound=Contract)
PURPOSE = "admissions"
# What the partners' agreements name by default: fields every path (feed, backfill, record
# request, preview) carries under the same name, of achievements and of learner details.
AGREED = frozenset({"uln", "subject", "grade", "given_name", "family_name", "date_of_birth"})

_partner_ids = itertools.count(20_000_001)
_portal_ids = itertools.count(1)


def partner(name: str = "University of Northgate") -> Organisation:
    """A partner (university, employer) with a fresh id of the OrgId shape."""
    return Organisation(str(next(_partner_ids)), OrganisationKind.PARTNER, name)


def learner_portal() -> Organisation:
    """The learner-facing front end, which speaks for the learners it authenticated."""
    return Organisation(f"portal-{next(_portal_ids)}", OrganisationKind.LEARNER_PORTAL, "Learner portal")


def sharing_learner(hub_db: FakeUnitOfWorkFactory, **overrides: Any) -> Learner:
    """A registered learner who saw the privacy notice and may share (AbilityToShare 1), never asked since."""
    return hub_db.add_learner(learner(**({"ability_to_share": AbilityToShare.SEEN_MAY_SHARE} | overrides)))


def agreement_of(org: Organisation, **overrides: Any) -> Agreement:
    """Version 1 of an agreement in force for a year either side of the hub's today, for admissions."""
    fields: dict[str, Any] = {
        "agreement_id": f"DSA-{uuid.uuid4().hex[:8].upper()}",
        "partner": org.org_id,
        "version": 1,
        "purposes": frozenset({PURPOSE}),
        "feeds": frozenset(Feed),
        "fields": AGREED,
        "scope": Scope.ALL_NOT_OPTED_OUT,
        "valid_from": hub_today() - timedelta(days=365),
        "valid_to": hub_today() + timedelta(days=365),
    }
    return Agreement(**(fields | overrides))


def with_agreement(hub_db: FakeUnitOfWorkFactory, org: Organisation, **overrides: Any) -> Agreement:
    """Approve an agreement for `org` straight into the committed state."""
    agreement = agreement_of(org, **overrides)
    hub_db.state.agreements.append(agreement)
    return agreement


def subscribed(hub_db: FakeUnitOfWorkFactory, org: Organisation, feed: Feed, purpose: str = PURPOSE) -> None:
    hub_db.state.subscriptions[(org.org_id, feed)] = Subscription(org.org_id, feed, purpose)


async def in_uow(hub_db: FakeUnitOfWorkFactory, work: Callable[[UnitOfWork], Awaitable[T]]) -> T:
    """Run `work` in a unit of work and commit it, as the hub's consumers and CLI do."""
    async with hub_db() as uow:
        result = await work(uow)
        await uow.commit()
        return result


async def offer(
    hub_db: FakeUnitOfWorkFactory, event: Contract, at: datetime | None = None, correlation_id: str | None = None
) -> None:
    """Offer a hub event to the partners' feeds, at `at` (the hub's now unless told)."""
    when = at or clock.now()
    await in_uow(hub_db, lambda uow: feeds.offer_event(uow, event, when, correlation_id))


async def record_achievement(
    hub_db: FakeUnitOfWorkFactory, awarding: Organisation, uln: str, ref: str | None = None, **kw: Any
) -> AchievementsRecorded:
    """Have `awarding` record a GCSE for `uln`; return the achievements.recorded.v1 the hub published."""
    await send(hub_db, awarding, submit_body(uln, ref or fresh_ref(), **kw), SUBMIT)
    [*_, last] = published(hub_db, AchievementsRecorded.message_type)
    return AchievementsRecorded.model_validate(last.body)


async def amend_achievement(
    hub_db: FakeUnitOfWorkFactory, awarding: Organisation, uln: str, ref: str, version: int, **kw: Any
) -> AchievementsAmended:
    """Have `awarding` amend its achievement `ref`; return the achievements.amended.v1 the hub published."""
    await send(hub_db, awarding, amend_body(uln, ref, version, **kw), AMEND)
    [*_, last] = published(hub_db, AchievementsAmended.message_type)
    return AchievementsAmended.model_validate(last.body)


def received(hub_db: FakeUnitOfWorkFactory, org: Organisation, contract: type[C]) -> list[C]:
    """Every message of one contract queued for `org`, in order."""
    kind = contract.message_type
    return [contract.model_validate(m.body) for m in outbound_to(hub_db, org) if m.message_type == kind]


def deliveries(hub_db: FakeUnitOfWorkFactory, org: Organisation) -> list[Delivery]:
    return received(hub_db, org, Delivery)


def notices(hub_db: FakeUnitOfWorkFactory, org: Organisation) -> list[Notice]:
    return received(hub_db, org, Notice)


def stamp(agreement: Agreement, consent_version: int = 0, purpose: str = PURPOSE) -> DecisionStamp:
    return DecisionStamp(agreement_id=agreement.agreement_id, agreement_version=agreement.version,
                         consent_version=consent_version, purpose=purpose)  # fmt: skip


def maths_item(
    event_id: str, uln: str, agreement: Agreement, consent_version: int = 0, version: int = 1, **more: Any
) -> DeliveredItem:
    """The GCSE of submit_body() as a partner agreeing to AGREED receives it."""
    return DeliveredItem(feed="achievements", event_id=event_id, version=version,
                         fields={"uln": uln, "subject": "Mathematics", "grade": "7"},
                         stamp=stamp(agreement, consent_version), **more)  # fmt: skip


def recall_of(sent: Notice, uln: str, event_ids: list[str], reason: str) -> Notice:
    """The recall expected, with the notice id the hub chose (read from what was sent)."""
    return Notice(notice_id=sent.notice_id, kind="recall", reason=reason, uln=uln, event_ids=event_ids)


def days(n: int) -> date:
    """The hub's today, `n` days on."""
    return hub_today() + timedelta(days=n)
