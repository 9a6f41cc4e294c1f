"""The disclosure gate against a reference model: random agreements, choices, nominations, merges and events.

Each example builds a small register (three learners, two partners, a learner portal) and plays
a random sequence through the real hub: the operator's agreements (hub.sharing.agreements), partners'
subscriptions and the learner portal's choices (hub.pipeline.inbound.handle_inbound), and the hub's
events (hub.sharing.feeds.offer_event, hub.sharing.feeds.expire_nominations, hub.register.linking.merge_learners).
After every call, each delivery, recall and re-key queued for a partner is compared with what
the reference model (tests/unit/policy_model.py) says the rules permit and require.
"""

import copy
import itertools
import os
from collections import Counter
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, TypedDict

from hypothesis import HealthCheck, given, reject, settings
from hypothesis import strategies as st

from contracts.base import Contract
from contracts.codes import OrganisationKind
from contracts.learner import LearnersMerged, LearnerUpdated
from contracts.plr import (
    AchievementEvent,
    AchievementsAmended,
    AchievementsRecorded,
    AchievementsWithdrawn,
    ParticipationRecorded,
    WithdrawnAchievement,
)
from contracts.sharing import (
    ConsentAnswer,
    DeliveredItem,
    Delivery,
    Nominate,
    Notice,
    SetRestrictedView,
    SetSharing,
    Subscribe,
    SubscriptionAnswer,
    Unsubscribe,
    WithdrawNomination,
)
from hub.kernel import clock
from hub.kernel.model import Learner, Organisation
from hub.kernel.ports import OutboundMessage
from hub.pipeline.inbound import handle_inbound
from hub.pipeline.routing import EVENTS_EXCHANGE, OUTBOUND_EXCHANGE
from hub.register.linking import merge_learners
from hub.register.uln import uln_for_issue_number
from hub.sharing import agreements, feeds
from hub.sharing.policy import Agreement, Feed, Scope

from .builders import details, inbound
from .fakes import FakeState, FakeUnitOfWorkFactory
from .policy_model import DETAILS, DETAILS_FEED, Entry, Expected, Item, Model

PARTNERS = ("20000001", "20000002")
PORTAL = Organisation("portal-1", OrganisationKind.LEARNER_PORTAL, "Learner portal")
PURPOSES = ("admissions", "employment_check")
FEEDS = ("achievements", "participation", DETAILS_FEED)
ULNS = tuple(u for u in (uln_for_issue_number(n) for n in range(700_000_000, 700_000_020)) if u)[:3]
EVENT_IDS = tuple(f"00000000-0000-4000-8000-{n:012d}" for n in range(4))
ACHIEVEMENTS = 3  # events 0-2 are achievements; event 3 is a participation record
AO, PROVIDER = "100062", "10030488"

ACHIEVEMENT_FIELDS = set(AchievementEvent.model_fields) - {"event_id", "version"}
PARTICIPATION_FIELDS = set(ParticipationRecorded.model_fields) - {"event_id", "version"}
DETAIL_FIELDS = {"uln", "given_name", "family_name", "date_of_birth", "gender", "last_known_postcode", "email_address"}
# What an agreement may name: every field an entry carries, and some it never carries.
FIELD_NAMES = sorted(
    ACHIEVEMENT_FIELDS | PARTICIPATION_FIELDS | DETAIL_FIELDS | {"event_id", "version", "notes", "ability_to_share"}
)


# --- Operations: what the operator, partners, learners and the hub's events do ---------------


@dataclass(frozen=True)
class Agree:
    """The operator approves the partner's agreement, or amends it if the partner has one."""

    partner: str
    purposes: frozenset[str]
    feeds: frozenset[str]
    fields: frozenset[str]
    nominated_only: bool
    starts: int  # valid_from is today + starts
    lasts: int  # valid_to is valid_from + lasts


@dataclass(frozen=True)
class Suspend:
    """The operator suspends the partner's agreement (nothing, if it has none)."""

    partner: str


@dataclass(frozen=True)
class Resume:
    partner: str


@dataclass(frozen=True)
class Revoke:
    partner: str


@dataclass(frozen=True)
class Subscribes:
    """The partner subscribes to a feed for a purpose (feed.subscribe.v1)."""

    partner: str
    feed: str
    purpose: str


@dataclass(frozen=True)
class Unsubscribes:
    partner: str
    feed: str


@dataclass(frozen=True)
class Shares:
    """The learner opts in or out, through the portal (consent.set_sharing.v1)."""

    learner: int
    share: bool


@dataclass(frozen=True)
class ChoosesView:
    """The learner's restricted view: these events (None: all), or basic details only."""

    learner: int
    events: frozenset[int] | None
    basic_only: bool


@dataclass(frozen=True)
class Nominates:
    learner: int
    partner: str
    days: int  # until today + days, the last day the nomination holds


@dataclass(frozen=True)
class Unnominates:
    learner: int
    partner: str


@dataclass(frozen=True)
class Publish:
    """Entries recorded or amended, as the hub's events announce them, offered on today + days."""

    items: tuple[tuple[int, int | None], ...]  # (event, learner it is about; None: the one it was about)
    days: int


@dataclass(frozen=True)
class Withdraw:
    """The awarding organisation withdraws an achievement (nothing, if it is not recorded)."""

    event: int
    days: int


@dataclass(frozen=True)
class Merge:
    """The operator merges a learner into another; the hub's LearnersMerged is offered."""

    master: int
    linked: int


@dataclass(frozen=True)
class DetailsChanged:
    """The learner's details changed (learner.updated.v1), offered on today + days."""

    learner: int
    days: int


@dataclass(frozen=True)
class Expire:
    """The hub's expiry run, on today + days."""

    days: int


Op = (
    Agree | Suspend | Resume | Revoke | Subscribes | Unsubscribes | Shares | ChoosesView | Nominates | Unnominates
    | Publish | Withdraw | Merge | DetailsChanged | Expire
)  # fmt: skip


class _Terms(TypedDict):
    """The terms an Agree op sets, the same for the hub's agreement and the model's."""

    purposes: frozenset[str]
    fields: frozenset[str]
    valid_from: date
    valid_to: date


def _subsets(names: tuple[Any, ...] | range) -> list[frozenset[Any]]:
    return [frozenset(c) for n in range(1, len(names) + 1) for c in itertools.combinations(names, n)]


def _every(make: Any, *choices: Any) -> st.SearchStrategy[Any]:
    """One of every operation `make` builds from the choices: drawn as one choice, so examples stay cheap."""
    return st.sampled_from([make(*args) for args in itertools.product(*choices)])


N_LEARNERS, DAYS = range(len(ULNS)), (0, 0, 0, 1, 2, 3, 4, 5, 6)  # an event mostly arrives on the day
PUBLISHED_TOGETHER = [(e,) for e in range(len(EVENT_IDS))] + [(0, 1), (1, 2), (0, 2, 3)]
# An amendment mostly keeps its learner (None); sometimes it moves the entry to a learner.
AMENDED_ONTO = (None, None, None, *N_LEARNERS)
VIEWS = [None, frozenset(), *_subsets(range(len(EVENT_IDS)))]

# Each bit of the integer keeps one name: random halves of the names, and the extremes.
field_lists = st.integers(0, 2 ** len(FIELD_NAMES) - 1).map(
    lambda bits: frozenset(name for n, name in enumerate(FIELD_NAMES) if bits >> n & 1)
)
agreements_of = {
    partner: st.builds(
        Agree,
        st.just(partner),
        st.sampled_from(_subsets(PURPOSES)),
        st.sampled_from([frozenset(FEEDS), *_subsets(FEEDS)]),
        field_lists,
        st.booleans(),
        st.integers(-3, 1),
        st.integers(0, 8),
    )
    for partner in PARTNERS
}
publish = st.sampled_from(
    [
        Publish(tuple(zip(events, onto, strict=True)), day)
        for events in PUBLISHED_TOGETHER
        for onto in itertools.product(AMENDED_ONTO, repeat=len(events))
        for day in DAYS
    ]
)
operations: st.SearchStrategy[Op] = st.one_of(
    publish,
    _every(Shares, N_LEARNERS, (True, False)),
    _every(ChoosesView, N_LEARNERS, VIEWS, (False, False, True)),
    _every(Nominates, N_LEARNERS, PARTNERS, range(-1, 5)),
    _every(Unnominates, N_LEARNERS, PARTNERS),
    publish,
    _every(DetailsChanged, N_LEARNERS, DAYS),
    _every(Withdraw, range(ACHIEVEMENTS), DAYS),
    _every(Expire, range(1, 7)),
    _every(Merge, N_LEARNERS, N_LEARNERS),
    publish,
    *agreements_of.values(),
    _every(Suspend, PARTNERS),
    _every(Resume, PARTNERS),
    _every(Revoke, PARTNERS),
    _every(Subscribes, PARTNERS, FEEDS, PURPOSES),
    _every(Unsubscribes, PARTNERS, FEEDS),
    publish,
)
abilities = st.sampled_from(list(itertools.product((0, 1, 1, 1, 2), repeat=len(ULNS))))
first_learners = st.sampled_from(list(itertools.product(N_LEARNERS, repeat=len(EVENT_IDS) + 1)))
nominations = st.sampled_from(list(itertools.product((None, None, 0, 1, 2, 3, 4), repeat=len(ULNS))))


@st.composite
def scenarios(draw: st.DrawFn) -> tuple[tuple[int, ...], list[Op]]:
    """Each learner's AbilityToShare, and the operations: most partners start with an agreement,
    subscriptions to its feeds and (if it needs them) nominations, and every entry is recorded
    once, so that most examples deliver, and then recall, something."""
    ops: list[Op] = []
    for partner in PARTNERS:
        if draw(st.integers(0, 4)) == 0:
            continue
        agree = draw(agreements_of[partner])
        purpose = draw(st.sampled_from(PURPOSES))
        purpose = purpose if purpose in agree.purposes else min(agree.purposes)
        ops += [agree, *(Subscribes(partner, feed, purpose) for feed in sorted(agree.feeds))]
        if agree.nominated_only:
            ops += [Nominates(n, partner, d) for n, d in enumerate(draw(nominations)) if d is not None]
    *first, details_of = draw(first_learners)
    ops += [Publish(tuple(enumerate(first)), 0), DetailsChanged(details_of, 0)]
    return draw(abilities), ops + draw(st.lists(operations, min_size=2, max_size=10))


# --- Playing a scenario through the hub and the model -----------------------------------------


@dataclass
class Published:
    """An entry as its sender last sent it."""

    uln: str
    version: int
    withdrawn: bool = False


def _fields_of(event: Contract) -> dict[str, Any]:
    """An entry's fields: all its event says of it but its id and version (an item carries those beside)."""
    return event.model_dump(mode="json", exclude={"event_id", "version"})


def _content(event: int, uln: str, version: int) -> dict[str, Any]:
    """What an entry records; some of it changes with each version."""
    if event >= ACHIEVEMENTS:
        return {
            "uln": uln, "provider": PROVIDER, "enrolment_id": f"ENROL-{event}", "learning_aim_reference": "50079116",
            "learning_aim_title": "GCE A Level in Mathematics", "start_date": "2024-09-02",
            "planned_end_date": "2026-06-30", "actual_end_date": "2026-06-30" if version > 1 else None,
            "outcome": 1 if version > 1 else None,
        }  # fmt: skip
    return {
        "uln": uln, "awarding_organisation": AO, "result_id": f"RESULT-{event}", "subject_code": "601/4567/X",
        "subject": "Mathematics", "level": "2", "qualification_type": "GCSE", "grade": str(min(version, 9)),
        "award_date": "2024-08-22", "status": "Final", "credits": 12 if version % 2 else None,
        "language_for_assessment": "English", "provider_ukprn": PROVIDER,
    }  # fmt: skip


def _learner(n: int, ability: int) -> tuple[Learner, dict[str, Any]]:
    """The nth learner, and their details as the learner details feed carries them."""
    email = f"ann{n}@example.org" if n else None
    shown = {"uln": ULNS[n], "given_name": f"Ann{'e' * n}", "family_name": "Okafor", "date_of_birth": "2008-04-12",
             "gender": 2, "last_known_postcode": "SW1A 1AA", "email_address": email}  # fmt: skip
    registered = details(**{k: v for k, v in shown.items() if k != "uln"}, ability_to_share=ability)
    return _QuickLearner(ULNS[n], registered), shown


def _item(partner: str, item: DeliveredItem) -> Item:
    s = item.stamp
    fields = tuple(sorted(item.fields.items()))
    return Item(partner, item.feed, item.event_id or DETAILS, item.version, item.replaces_version, fields, s.purpose,
                (s.agreement_id, s.agreement_version), s.consent_version)  # fmt: skip


def _at(day: date) -> datetime:
    return datetime.combine(day, time(12), UTC)


_SHARED_VALUES = {
    "registered_by", "provider_links", "organisations", "inbox", "outbox", "audit", "agreements", "consents",
    "subscriptions", "held", "notices",
}  # fmt: skip


class _QuickState(FakeState):
    """The fakes' state, copied (by every unit of work and commit) without copying the immutable
    values it holds: the same transactions at a fraction of the cost, so that 10,000 examples fit."""

    def __deepcopy__(self, memo: dict[int, Any]) -> "_QuickState":
        copied = object.__new__(_QuickState)
        for name, value in self.__dict__.items():
            shallow = name in _SHARED_VALUES or not value
            copied.__dict__[name] = copy.copy(value) if shallow else copy.deepcopy(value, memo)
        return copied


class _QuickLearner(Learner):
    """A learner whose copies (the fake register hands out copies) share its details, a frozen contract."""

    def __deepcopy__(self, memo: dict[int, Any]) -> "_QuickLearner":
        copied = object.__new__(_QuickLearner)
        copied.__dict__.update(self.__dict__, linked_ulns=list(self.linked_ulns))
        return copied


class Run:
    """One example: the hub on fakes, the model, and the comparison after every call."""

    def __init__(self, abilities: tuple[int, ...]) -> None:
        self.hub = FakeUnitOfWorkFactory()
        self.hub.state = _QuickState()
        self.today = clock.today()
        self.orgs = {p: Organisation(p, OrganisationKind.PARTNER, f"Partner {p}") for p in PARTNERS}
        for org in [*self.orgs.values(), PORTAL]:
            self.hub.add_organisation(org)
        self.details: dict[str, dict[str, Any]] = {}
        for n, ability in enumerate(abilities):
            learner, self.details[ULNS[n]] = _learner(n, ability)
            self.hub.add_learner(learner)
        self.model = Model(self.today, {u: a == 1 for u, a in zip(ULNS, abilities, strict=True)})
        self.approvals = Counter[str]()
        self.published: dict[int, Published] = {}
        self.where = ""
        # Everything partners were sent, as compared.
        self.received: list[Item] = []
        self.recalled: list[tuple[str, str | None, str]] = []  # a recall need not name the learner
        self.rekeyed: list[tuple[str, str | None, str]] = []

    def master(self, learner: int | str) -> str:
        return self.model.master[ULNS[learner] if isinstance(learner, int) else learner]

    async def play(self, ops: list[Op]) -> None:
        for step, op in enumerate(ops):
            self.where = f"step {step} {op}"
            await self.apply(op)

    # --- Driving the hub ---

    def drain(self) -> list[OutboundMessage]:
        """Take what the hub queued since the last call (the relay would publish it)."""
        out = list(self.hub.state.outbox)
        self.hub.state.outbox.clear()
        self.hub.state.audit.clear()  # append-only and never read by decisions: keep examples cheap
        return out

    async def send(self, sender: Organisation, request: Contract) -> list[OutboundMessage]:
        message = inbound(sender.org_id, request.model_dump(mode="json"), request.message_type)
        handled = await handle_inbound(self.hub, message)
        assert handled.dead_letter_reason is None, f"{self.where}: the hub refused the message: {handled}"
        return self.drain()

    async def offer(self, event: Contract, day: date) -> list[OutboundMessage]:
        async with self.hub() as uow:
            await feeds.offer_event(uow, event, _at(day))
            await uow.commit()
        return self.drain()

    async def choose(self, request: Contract, outcome: str, expected: Expected) -> None:
        """The learner portal sends a learner's choice; the answer and what partners get are compared."""
        messages = await self.send(PORTAL, request)
        [answer] = [ConsentAnswer.model_validate(m.body) for m in messages if m.routing_key == PORTAL.org_id]
        assert answer.outcome == outcome, f"{self.where}: the learner's choice was {answer.outcome}, not {outcome}"
        self.check(messages, expected)

    async def apply(self, op: Op) -> None:
        model, today = self.model, self.today
        match op:
            case Agree():
                await self.agree(op)
            case Suspend(partner) | Resume(partner) | Revoke(partner) if partner in model.dsa:
                act = {Suspend: agreements.suspend, Resume: agreements.resume, Revoke: agreements.revoke}[type(op)]
                async with self.hub() as uow:
                    change = await act(uow, model.dsa[partner].agreement_id, now=clock.now())
                    await uow.commit()
                assert change.applied, f"{self.where}: {change.reason}"
                if isinstance(op, Revoke):
                    self.check(self.drain(), model.revoke(partner))
                else:
                    self.check(self.drain(), model.amend(partner, suspended=isinstance(op, Suspend)))
            case Subscribes(partner, feed, purpose):
                messages = await self.send(self.orgs[partner], Subscribe(feed=feed, purpose=purpose))
                [answer] = [SubscriptionAnswer.model_validate(m.body) for m in messages if m.routing_key == partner]
                wanted = "active" if model.subscribe(partner, feed, purpose) else "refused"
                assert answer.status == wanted, f"{self.where}: the subscription is {answer.status}, not {wanted}"
                self.check(messages, Expected())
            case Unsubscribes(partner, feed):
                messages = await self.send(self.orgs[partner], Unsubscribe(feed=feed))
                model.subscribed.pop((partner, feed), None)
                self.check(messages, Expected())
            case Shares(learner, share):
                outcome, expected = model.choose(ULNS[learner], sharing=share, chose_sharing=True)
                await self.choose(
                    SetSharing(uln=ULNS[learner], share=share, privacy_notice_seen=True), outcome, expected
                )
            case ChoosesView(learner, events, basic_only):
                shown = None if events is None else frozenset(EVENT_IDS[e] for e in events)
                outcome, expected = model.choose(ULNS[learner], shown=shown, basic_only=basic_only)
                listed = None if shown is None else sorted(shown)
                request = SetRestrictedView(uln=ULNS[learner], event_ids=listed, basic_details_only=basic_only)
                await self.choose(request, outcome, expected)
            case Nominates(learner, partner, days):
                until = today + timedelta(days)
                outcome, expected = model.nominate(ULNS[learner], partner, until)
                await self.choose(Nominate(uln=ULNS[learner], org_id=partner, until=until), outcome, expected)
            case Unnominates(learner, partner):
                outcome, expected = model.withdraw_nomination(ULNS[learner], partner)
                await self.choose(WithdrawNomination(uln=ULNS[learner], org_id=partner), outcome, expected)
            case Publish(items, days):
                await self.publish(items, today + timedelta(days))
            case Withdraw(event, days) if event in self.published and not self.published[event].withdrawn:
                entry = self.published[event]
                entry.version, entry.withdrawn = entry.version + 1, True
                gone = WithdrawnAchievement(event_id=EVENT_IDS[event], uln=entry.uln, awarding_organisation=AO,
                                            result_id=f"RESULT-{event}", version=entry.version,
                                            reason="entered in error")  # fmt: skip
                messages = await self.offer(AchievementsWithdrawn(items=[gone]), today + timedelta(days))
                self.check(messages, model.withdraw(EVENT_IDS[event]))
            case Merge(master, linked):
                await self.merge(ULNS[master], ULNS[linked])
            case DetailsChanged(learner, days):
                uln, day = self.master(learner), today + timedelta(days)
                messages = await self.offer(LearnerUpdated(uln=uln, version=1, updated_by=PROVIDER), day)
                self.check(messages, model.offer([Entry(DETAILS_FEED, uln, DETAILS, None, self.details[uln])], day))
            case Expire(days):
                async with self.hub() as uow:
                    await feeds.expire(uow, _at(today + timedelta(days)))
                    await uow.commit()
                self.check(self.drain(), model.expire(today + timedelta(days)))

    async def agree(self, op: Agree) -> None:
        """Approve the partner's first agreement (after a revocation: a new one), or amend the one it has."""
        valid_from = self.today + timedelta(op.starts)
        valid_to = valid_from + timedelta(op.lasts)
        terms = _Terms(purposes=op.purposes, fields=op.fields, valid_from=valid_from, valid_to=valid_to)
        feeds_ = frozenset(Feed(f) for f in op.feeds)
        scope = Scope.NOMINATED if op.nominated_only else Scope.ALL_NOT_OPTED_OUT
        live = self.model.dsa.get(op.partner)
        async with self.hub() as uow:
            if live is not None:
                change = await agreements.change(
                    uow, live.agreement_id, now=clock.now(), feeds=feeds_, scope=scope, **terms
                )
                expected = self.model.amend(op.partner, feeds=op.feeds, nominated_only=op.nominated_only, **terms)
            else:
                self.approvals[op.partner] += 1
                agreement_id = f"DSA-{op.partner}-{self.approvals[op.partner]}"
                agreement = Agreement(agreement_id, op.partner, 0, feeds=feeds_, scope=scope, **terms)
                change = await agreements.approve(uow, agreement)
                self.model.approve(op.partner, agreement_id, feeds=op.feeds, nominated_only=op.nominated_only, **terms)
                expected = Expected()
            await uow.commit()
        assert change.applied, f"{self.where}: {change.reason}"
        self.check(self.drain(), expected)

    async def publish(self, items: tuple[tuple[int, int | None], ...], day: date) -> None:
        """What an awarding organisation's or a provider's message would announce, offered on `day`:
        new achievements in one event, amended ones in another, each participation record in its own."""
        recorded: list[tuple[AchievementEvent, Entry]] = []
        amended: list[tuple[AchievementEvent, Entry]] = []
        for event, learner in items:
            before = self.published.get(event)
            uln = self.master(learner if learner is not None else before.uln if before else 0)
            now = self.published[event] = Published(uln, before.version + 1 if before else 1)
            content = _content(event, uln, now.version)
            if event >= ACHIEVEMENTS:
                participation = ParticipationRecorded(event_id=EVENT_IDS[event], version=now.version, **content)
                entry = Entry("participation", uln, EVENT_IDS[event], now.version, _fields_of(participation))
                self.check(await self.offer(participation, day), self.model.offer([entry], day))
                continue
            achievement = AchievementEvent(event_id=EVENT_IDS[event], version=now.version, **content)
            entry = Entry("achievements", uln, EVENT_IDS[event], now.version, _fields_of(achievement))
            (amended if before else recorded).append((achievement, entry))
        for kind, group in ((AchievementsRecorded, recorded), (AchievementsAmended, amended)):
            if group:
                messages = await self.offer(kind(items=[a for a, _ in group]), day)
                self.check(messages, self.model.offer([e for _, e in group], day))

    async def merge(self, master: str, linked: str) -> None:
        """The operator merges; the hub's LearnersMerged event is then offered to partners."""
        async with self.hub() as uow:
            outcome = await merge_learners(uow, master, linked)
            await uow.commit()
        possible = master != linked and self.model.master[master] == master and self.model.master[linked] == linked
        assert outcome.applied == possible, f"{self.where}: merge {outcome}"
        events = [m for m in self.drain() if m.exchange == EVENTS_EXCHANGE]
        if outcome.applied:
            [event] = [LearnersMerged.model_validate(m.body) for m in events]
            self.check(await self.offer(event, self.today), self.model.merge(master, linked, self.today))

    # --- Comparing ---

    def check(self, messages: list[OutboundMessage], expected: Expected) -> None:
        """What partners were sent must be exactly what the model expects."""
        items: list[Item] = []
        recalls: list[tuple[str, str | None, str]] = []
        recall_named: list[bool] = []
        rekeys: list[tuple[str, str | None, str]] = []
        to_partners = [m for m in messages if m.exchange == OUTBOUND_EXCHANGE and m.routing_key in PARTNERS]
        deliveries = Counter(m.routing_key for m in to_partners if m.message_type == Delivery.message_type)
        assert set(deliveries.values()) <= {1}, f"{self.where}: more than one delivery to a partner: {deliveries}"
        for m in to_partners:
            partner = m.routing_key
            if m.message_type == Delivery.message_type:
                delivery = Delivery.model_validate(m.body)
                assert {i.feed for i in delivery.items} == {delivery.feed}, f"{self.where}: {delivery}"
                items += [_item(partner, i) for i in delivery.items]
            elif m.message_type == Notice.message_type:
                notice = Notice.model_validate(m.body)
                if notice.kind == "recall":
                    # A recall names the learner only to a partner that was given the ULN.
                    recalls += [
                        (partner, _recalled_uln(notice, partner, key, expected), key) for key in notice.event_ids
                    ]
                    recall_named += [notice.uln is not None] * len(notice.event_ids)
                else:
                    assert notice.kind == "rekey" and notice.new_uln, f"{self.where}: {partner} was sent {notice}"
                    rekeys.append((partner, notice.uln, notice.new_uln))
            else:
                wanted = SubscriptionAnswer.message_type
                assert m.message_type == wanted, f"{self.where}: {partner} was sent a {m.message_type}"
        self.received += items
        self.recalled += recalls
        self.rekeyed += rekeys
        self.compare("delivered item", expected.items, items)
        # Compare what is recalled by (partner, entry): a recall need not name the learner. Every
        # learner that is named must be the right one.
        self.compare(
            "recall of (partner, key)", [(p, k) for p, _, k in expected.recalls], [(p, k) for p, _, k in recalls]
        )
        named = [r for r, is_named in zip(recalls, recall_named, strict=True) if is_named]
        assert not (Counter(named) - Counter(expected.recalls)), (
            f"{self.where}: recalls name the wrong learner: {named}"
        )
        self.compare("rekey of (partner, old uln, new uln)", expected.rekeys, rekeys)

    def compare(self, what: str, expected: list[Any], actual: list[Any]) -> None:
        if not expected and not actual:
            return
        forbidden = list((Counter(actual) - Counter(expected)).elements())
        missing = list((Counter(expected) - Counter(actual)).elements())
        assert not forbidden and not missing, (
            f"{self.where}: {what}s the model does not expect: {forbidden}; "
            f"{what}s the model expects that were not sent: {missing}"
        )


def _recalled_uln(notice: Notice, partner: str, key: str, expected: Expected) -> str | None:
    """The learner a recall is about: as it names them, or (if it does not) as the model expects."""
    if notice.uln is not None:
        return notice.uln
    return next((u for p, u, k in expected.recalls if (p, k) == (partner, key)), None)


# 10,000 examples take about a minute here and over two on a loaded CI machine, past the
# suite's per-test timeout; the suite runs 2,500 and LRS_POLICY_EXAMPLES asks for a deeper run.
@settings(
    max_examples=int(os.environ.get("LRS_POLICY_EXAMPLES", "2500")),
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(scenarios())
async def test_partners_receive_exactly_what_the_rules_permit(scenario: tuple[tuple[int, ...], list[Op]]) -> None:
    """Every delivery, recall and re-key a partner gets is what the rules permit and require."""
    abilities, ops = scenario
    run = Run(abilities)
    try:
        await run.play(ops)
    except AssertionError:
        if clock.today() != run.today:
            reject()  # the day changed under the example: the model and the hub judged different days
        raise


# --- The harness itself, and what the property found, as examples -------------------------------

P1, P2 = PARTNERS
GRADES_FOR_ADMISSIONS = Agree(P1, frozenset({"admissions"}), frozenset({"achievements"}), frozenset({"uln", "grade"}),
                              nominated_only=False, starts=0, lasts=1)  # fmt: skip
FEEDING: list[Op] = [GRADES_FOR_ADMISSIONS, Subscribes(P1, "achievements", "admissions"), Publish(((0, 0),), 0)]


async def test_a_plain_delivery_is_seen_and_compared() -> None:
    """A sharing learner's achievement reaches the subscribed partner as the agreement's two fields."""
    run = Run((1, 1, 1))
    await run.play(FEEDING)
    stamp = ("admissions", (f"DSA-{P1}-1", 1), 0)
    assert run.received == [Item(P1, "achievements", EVENT_IDS[0], 1, None, (("grade", "1"), ("uln", ULNS[0])), *stamp)]


async def test_opting_out_is_seen_as_a_recall() -> None:
    """A learner who opts out has what the partner holds of them recalled, and nothing more is sent."""
    run = Run((1, 1, 1))
    await run.play([*FEEDING, Shares(0, share=False), Publish(((0, None),), 0)])
    assert (len(run.received), run.recalled) == (1, [(P1, ULNS[0], EVENT_IDS[0])])


async def test_a_suspension_takes_nothing_back_when_a_learner_changes_another_choice() -> None:
    """While the partner's agreement is suspended, a learner nominating another partner recalls nothing from it."""
    await Run((1, 1, 1)).play([*FEEDING, Suspend(P1), Nominates(0, P2, days=1)])


async def test_a_suspension_takes_nothing_back_when_an_entry_is_amended() -> None:
    """While the partner's agreement is suspended, an amended entry it holds is not sent, and recalls nothing."""
    await Run((1, 1, 1)).play([*FEEDING, Suspend(P1), Publish(((0, None),), 0)])


async def test_amending_a_suspended_agreement_recalls_what_it_no_longer_allows() -> None:
    """An amendment of a suspended agreement to other fields recalls what the partner holds of the old ones."""
    fewer_fields = replace(GRADES_FOR_ADMISSIONS, fields=frozenset({"subject"}))
    await Run((1, 1, 1)).play([*FEEDING, Suspend(P1), fewer_fields])
