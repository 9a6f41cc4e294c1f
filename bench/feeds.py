"""Benchmark: achievement events fanned out to subscribed partners, against a raw broker hop.

(a) raw: the foundation's raw broker hop, measured by bench/registration.py's own code:
    persistent 1 KB messages, publisher confirms, a fresh quorum queue, --raw-window in flight.
(b) feeds: --partners partners, each with its own RabbitMQ user and its own data sharing
    agreement (purposes, fields, scope all_not_opted_out or nominated; one suspended after it
    subscribed), subscribe to the achievements feed with `feed.subscribe.v1`. An awarding
    organisation sends `achievement.bulk.v1` messages of --bulk-size results; each becomes ONE
    `achievements.recorded.v1` event on `lrs.events`, which the hub offers, item by item, to
    every subscribed partner through the disclosure gate (hub/sharing/feeds.py): each partner gets at most
    one `feed.delivery.v1` per event on `lrs.out.<partner>`, listing the items it may see.
    A closed loop for --duration seconds: at most --window bulk messages whose fan-out is not
    complete (receipt in, and every delivery the consent and agreement mix calls for arrived).
Terms, in the table and the JSON:
- decision: one item of an event ruled on for one subscribed partner, allowed or refused (each
  is an audit entry): items x subscribed partners.
- delivery: ONE learner's entry delivered to ONE partner. Several travel in one delivery message
  (`delivery_messages_per_s` counts the messages).
- p50_ms / p99_ms: per delivery message, from the event's arrival on a tap queue the bench binds
  to `lrs.events` (the moment the broker routed it: the event's publish, as near as a client can
  see it) to the delivery's arrival at the partner's consumer. bulk_p50/p99_ms: from the bulk
  message's publish instead (recording the achievements included).
- ratio = deliveries_per_s / raw_msgs_per_s, as the issue defines it. Target: ratio >= 0.5.
The consent mix, set straight in table `consent` (but for --portal-learners learners, whose
choices go through the learner portal's messages, as learners make them): --opted-out (10%)
opted out; --restricted (50%) restricted, half of them to a view listing only earlier events
(ids not of this run: new achievements get their ids when recorded), half to basic details only;
--no-choice (5%) never chose (their registration's ability_to_share decides: the synthetic
register's 0, notice not seen, does not share); the rest share everything. --nominating (30%)
of those who chose nominate one or two of the nominated-scope partners; a quarter of those
nominations ended yesterday.
Correctness on the side: the bench works out, without hub/sharing/policy.py, which items each partner
may see (and with which fields, agreement and purpose) and checks every delivery against it;
at the end the audit log's feed decisions and the `held` rows are counted against it too. Any
difference is in the JSON's `mismatches` (empty when all is well).
The register: --register-size synthetic learners, by bench/matching_scale.py's loader; --keep-db
NAME keeps it (its PLR, audit log and sharing tables are emptied before each run).
CPU: bench/registration.py's split (from /proc), over the measured phase, with postgres backends
of other databases and any other process shown as "other: <command>" when it used >= 0.05 of a
core: the machine is shared, so rerun when "other" is high. The raw hop's split is registration's.
Run: cd /work/main && uv run python bench/feeds.py [--register-size 100000] [--duration 120]
     [--partners 20] [--bulk-size 1000] [--window 4] [--keep-db lrs_bench_feeds_100k]
     [--prefetch N] [--batch-max-size N] [--records-...] [--hub-processes N]
Stdout: a table, then one JSON line (last). Progress, the hub's pids and its logs go to stderr.
"""

import argparse
import asyncio
import json
import os
import random
import re
import secrets
import sys
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Callable, Collection, Iterator
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: make the repository root importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import aio_pika
import asyncpg
from rich.console import Console
from rich.table import Table

from adapters.bootstrap import create_pool
from adapters.log import configure_logging
from adapters.organisations import add_organisation
from adapters.postgres.connection import AnyConnection
from adapters.postgres.unit_of_work import PostgresUnitOfWork
from adapters.rabbit.topology import FEEDS_QUEUE, RECORDS_QUEUE, SHARING_QUEUE, declare_topology, outbound_queue_name
from adapters.settings import Settings
from bench.achievements import AO_NAME, _running, bulk_bodies, empty_plr, interval_rates, sample_learners
from bench.matching_scale import PG, code_version, log, open_register
from bench.registration import (
    AMQP,
    PG_ADMIN,
    cpu_by_component,
    fresh_vhost,
    messages,
    raw_hop,
    start_hub,
    wait_for_consumer,
)
from bench.run_keys import use_run_keys
from contracts.base import Contract
from contracts.codes import OrganisationKind
from contracts.plr import AchievementBulk, AchievementEvent, AchievementsRecorded, LearningEventOutcomes
from contracts.sharing import (
    ConsentAnswer,
    Delivery,
    Nominate,
    SetRestrictedView,
    SetSharing,
    Subscribe,
    SubscriptionAnswer,
)
from hub.kernel import clock
from hub.kernel.model import Organisation
from hub.pipeline.routing import EVENTS_EXCHANGE, INBOUND_EXCHANGE
from hub.sharing import agreements
from hub.sharing.policy import Agreement, Feed, Scope

KIND = AchievementBulk.message_type
TARGET_RATIO = 0.5
PARTNER_NAME, PORTAL_NAME = "Bench Feed Partner", "Bench Learner Portal"  # how earlier runs' are found
OFFERED = frozenset(AchievementEvent.model_fields) - {"event_id", "version"}  # an entry's fields as offered
# Agreements, cycled over the partners: (purpose subscribed for, fields, scope).
PROFILES = [
    ("admissions", OFFERED, Scope.ALL_NOT_OPTED_OUT),
    ("admissions", OFFERED, Scope.ALL_NOT_OPTED_OUT),
    ("employment_check", frozenset({"uln", "subject", "qualification_type", "grade", "award_date"}),
     Scope.ALL_NOT_OPTED_OUT),
    ("research", frozenset({"uln", "awarding_organisation", "subject_code", "level", "qualification_type"}),
     Scope.ALL_NOT_OPTED_OUT),
    ("careers_advice", OFFERED, Scope.NOMINATED),
]  # fmt: skip
SUSPENDED = 2  # this partner's agreement is suspended once it has subscribed: refused, item by item
_STALL_S = 120  # nothing arrived for this long while a fan-out is pending: the hub is stuck


# ---- the partners and the learners, as the bench sees them (its own rules, not hub/sharing/policy.py)
@dataclass
class Partner:
    org_id: str
    password: str
    purpose: str
    fields: frozenset[str]
    scope: Scope
    suspended: bool
    agreement_id: str = ""


@dataclass(frozen=True)
class Choice:
    """What a learner chose, as far as this run's new achievements are concerned."""

    sharing: bool
    hides_new: bool = False  # basic details only, or a restricted view of earlier events
    nominated: frozenset[str] = frozenset()  # partners nominated, the nomination in force today


def sees(choice: Choice, partner: Partner) -> bool:
    """May `partner` receive a new achievement of a learner who chose `choice`?"""
    if partner.suspended or not choice.sharing or choice.hides_new:
        return False
    return partner.scope == Scope.ALL_NOT_OPTED_OUT or partner.org_id in choice.nominated


def partners(count: int, rng: random.Random) -> list[Partner]:
    ids = rng.sample(range(10**7, 10**8), count)
    return [Partner(str(ids[i]), secrets.token_hex(8), *PROFILES[i % len(PROFILES)], suspended=i == SUSPENDED)
            for i in range(count)]  # fmt: skip


def consent_mix(
    ulns: list[str], nominatable: list[str], args: argparse.Namespace, rng: random.Random
) -> tuple[list[tuple[Any, ...]], dict[str, Choice], list[str], Counter[str]]:
    """Consent rows to COPY, each learner's Choice, the learners left without a row, and the mix."""
    today, rows, choices, unasked, mix = date.today(), [], {}, [], Counter[str]()
    for uln in ulns:
        roll = rng.random()
        if roll < args.no_choice:
            unasked.append(uln)  # their Choice comes from their registration (the caller reads it)
            mix["no_choice"] += 1
            continue
        nominations: dict[str, date] = {}
        if nominatable and rng.random() < args.nominating:
            for org in rng.sample(nominatable, min(len(nominatable), rng.choice((1, 2)))):
                nominations[org] = today - timedelta(days=1) if rng.random() < 0.25 else today + timedelta(days=365)
        in_force = frozenset(o for o, until in nominations.items() if until >= today)
        restricted, basic_only, roll = None, False, roll - args.no_choice
        if roll < args.opted_out:
            kind, choice = "opted_out", Choice(False, False, in_force)
        elif roll < args.opted_out + args.restricted / 2:  # a view listing some earlier events only
            restricted = [str(uuid.UUID(int=rng.getrandbits(128), version=4)) for _ in range(rng.randint(1, 3))]
            kind, choice = "restricted_view", Choice(True, True, in_force)
        elif roll < args.opted_out + args.restricted:
            basic_only = True
            kind, choice = "basic_details_only", Choice(True, True, in_force)
        else:
            kind, choice = "shares", Choice(True, False, in_force)
        mix[kind] += 1
        mix["nominating"] += bool(nominations)
        nominated = json.dumps({o: d.isoformat() for o, d in nominations.items()})
        rows.append((uln, 1, choice.sharing, restricted, basic_only, nominated))
        choices[uln] = choice
    return rows, choices, unasked, mix


def portal_plan(k: int, uln: str, nominatable: list[str]) -> tuple[list[Contract], Choice]:
    """The messages a learner sends through the portal, one after the other, and what they add up to."""
    share = SetSharing(uln=uln, share=True, privacy_notice_seen=True)
    if k % 5 == 0:
        return [share, SetSharing(uln=uln, share=False)], Choice(False)
    if k % 5 == 1:
        return [share, SetRestrictedView(uln=uln, event_ids=[str(uuid.uuid4())])], Choice(True, True)
    if k % 5 == 2:
        return [share, SetRestrictedView(uln=uln, basic_details_only=True)], Choice(True, True)
    if k % 5 == 3 and nominatable:
        org = nominatable[k % len(nominatable)]
        until = date.today() + timedelta(days=365)
        return [share, Nominate(uln=uln, org_id=org, until=until)], Choice(True, False, frozenset({org}))
    return [share], Choice(True)


# ---- the client: bulk messages in, deliveries out, each checked against what the bench expects
@dataclass
class Bulk:
    published: float
    applied: int | None = None  # from the receipt
    event: str | None = None  # the event's message id, once the tap saw it
    done: float | None = None


@dataclass
class Event:
    seen: float
    bulk: int
    items: int
    expected: dict[str, frozenset[str]]  # partner -> the event ids it may see (partners with none left out)
    arrived: dict[str, float] = field(default_factory=dict)  # partner -> when its delivery arrived


class FanOut:
    """One phase: the bulks published, their events, and every delivery, checked as it arrives."""

    def __init__(self, run_id: str, bulk_size: int, partners: dict[str, Partner], choices: dict[str, Choice]) -> None:
        self.run_id, self.bulk_size, self.partners, self.choices = run_id, bulk_size, partners, choices
        self.bulks: dict[int, Bulk] = {}
        self.bulk_of: dict[str, int] = {}  # bulk message id -> bulk number
        self.events: dict[str, Event] = {}
        self.early: dict[str, list[tuple[str, float, bytes]]] = defaultdict(list)  # delivery before its event
        self.event_ms: list[float] = []  # per delivery message: event -> delivery
        self.bulk_ms: list[float] = []  # per delivery message: bulk publish -> delivery
        self.arrivals: list[tuple[float, int]] = []  # (when, items delivered)
        self.applied = self.decisions = self.expected_items = self.delivered = self.delivery_messages = 0
        self.duplicates = Counter[str]()
        self.mismatches = Counter[str]()
        self.examples: list[str] = []
        self.last_progress = time.perf_counter()
        self.on_done: Callable[[], None] = lambda: None

    def mismatch(self, kind: str, example: str) -> None:
        self.mismatches[kind] += 1
        if len(self.examples) < 8:
            self.examples.append(example)

    def published(self, number: int, message_id: str) -> None:
        self.bulks[number] = Bulk(time.perf_counter())
        self.bulk_of[message_id] = number

    def on_receipt(self, msg: aio_pika.abc.AbstractIncomingMessage, now: float) -> None:
        number = self.bulk_of.get(msg.correlation_id or "")
        if number is None:
            return  # not this phase's
        body = json.loads(msg.body)
        bulk = self.bulks[number]
        bulk.applied = body.get("applied", 0) if msg.type == LearningEventOutcomes.message_type else 0
        self.applied += bulk.applied
        if bulk.applied != self.bulk_size:
            self.mismatch("achievements not applied", f"bulk {number}: {msg.type} {msg.body[:300]!r}")
        self._progress(bulk, now)

    def on_event(self, msg: aio_pika.abc.AbstractIncomingMessage, now: float) -> None:
        if (msg.message_id or "") in self.events:
            self.duplicates["event"] += 1  # the relay publishes at least once
            return
        items = json.loads(msg.body)["items"]
        ours = [i for i in items if i["result_id"].startswith(f"{self.run_id}-")]
        if not ours or (number := int(ours[0]["result_id"].rsplit("-", 1)[1]) // self.bulk_size) not in self.bulks:
            return  # not this phase's
        expected = {}
        for p in self.partners.values():
            ids = frozenset(i["event_id"] for i in items if sees(self.choices.get(i["uln"], Choice(False)), p))
            if ids:
                expected[p.org_id] = ids
        for i in items:
            if i["uln"] not in self.choices:
                self.mismatch("event names a learner the bench did not send", f"event {msg.message_id}")
        event = self.events[msg.message_id or ""] = Event(now, number, len(items), expected)
        self.decisions += len(items) * len(self.partners)
        self.expected_items += sum(map(len, expected.values()))
        bulk = self.bulks[number]
        bulk.event = msg.message_id
        for partner, when, body in self.early.pop(msg.message_id or "", []):
            self._delivered(event, partner, when, body)
        self._progress(bulk, now)

    def on_delivery(self, partner: str, msg: aio_pika.abc.AbstractIncomingMessage, now: float) -> None:
        event = self.events.get(msg.correlation_id or "")
        if event is None:  # its event not seen yet (or not this phase's): kept until it is
            self.early[msg.correlation_id or ""].append((partner, now, msg.body))
            return
        self._delivered(event, partner, now, msg.body)
        self._progress(self.bulks[event.bulk], now)

    def _delivered(self, event: Event, partner: str, now: float, raw: bytes) -> None:
        if partner in event.arrived:
            self.duplicates["delivery"] += 1
            return
        event.arrived[partner] = now
        p, items = self.partners[partner], json.loads(raw)["items"]
        got, want = {i["event_id"] for i in items}, event.expected.get(partner, frozenset())
        if got != want:
            self.mismatch("items delivered != items allowed",
                          f"partner {partner} ({p.purpose}, {p.scope}{', suspended' if p.suspended else ''}): "
                          f"{len(got - want)} not allowed, {len(want - got)} missing, of {len(want)}")  # fmt: skip
        if len(got) != len(items):
            self.mismatch("an entry twice in one delivery", f"partner {partner}: {len(items)} items, {len(got)} ids")
        if bad := [i for i in items if set(i["fields"]) != p.fields]:
            self.mismatch("fields != the agreement's", f"partner {partner}: {sorted(bad[0]['fields'])}")
        stamps = {(i["stamp"]["agreement_id"], i["stamp"]["purpose"]) for i in items}
        if stamps - {(p.agreement_id, p.purpose)}:
            self.mismatch("stamp != agreement and purpose", f"partner {partner}: {sorted(stamps)}")
        self.delivered += len(items)
        self.delivery_messages += 1
        self.arrivals.append((now, len(items)))
        self.event_ms.append((now - event.seen) * 1000)
        self.bulk_ms.append((now - self.bulks[event.bulk].published) * 1000)

    def _progress(self, bulk: Bulk, now: float) -> None:
        self.last_progress = now
        if bulk.done is not None or bulk.applied is None:
            return
        if bulk.applied > 0:
            event = self.events.get(bulk.event or "")
            if event is None or not set(event.expected) <= set(event.arrived):
                return
        bulk.done = now
        self.on_done()

    def pending(self) -> list[str]:
        """What the bulks still in flight wait for."""
        out = []
        for number, b in sorted(self.bulks.items()):
            if b.done is not None:
                continue
            event = self.events.get(b.event or "")
            if b.applied is None:
                out.append(f"bulk {number}: no receipt")
            elif event is None:
                out.append(f"bulk {number}: {b.applied} applied, its event not seen on lrs.events")
            else:
                missing = sorted(set(event.expected) - set(event.arrived))
                out.append(f"bulk {number}: no delivery yet for partners {missing}")
        return out

    def close(self) -> None:
        """Count as mismatches the deliveries a finished phase never matched, and the missing ones."""
        for correlation_id, early in self.early.items():
            self.mismatch("delivery for an unknown event", f"{len(early)} deliveries for {correlation_id}")
        for why in self.pending():
            self.mismatch("fan-out incomplete", why)


class HubStoppedError(Exception):
    """Raised when a hub process exits during a phase."""


class StalledError(Exception):
    """Raised when nothing arrives for _STALL_S seconds while fan-outs are pending."""


class ConnectionLostError(Exception):
    """Raised when the broker closes one of the bench's own connections (its user deleted, say)."""


LOST: list[str] = []  # the bench's connections the broker closed, and why


async def drive(
    exchange: aio_pika.abc.AbstractExchange, ao: str, bodies: Iterator[tuple[int, bytes]], fan: FanOut, window: int,
    hub_pids: Collection[int], seconds: float | None = None, count: int | None = None,
) -> tuple[float, float]:  # fmt: skip
    """Publish for `seconds` (or `count` bulks), at most `window` fan-outs incomplete; wait for the
    last. Return (first publish, seconds from it to the last fan-out's completion)."""
    in_flight, changed = 0, asyncio.Event()
    publishes: set[asyncio.Task[Any]] = set()

    def done() -> None:
        nonlocal in_flight
        in_flight -= 1
        changed.set()

    async def until_at_most(most: int) -> None:
        while in_flight > most:
            changed.clear()
            try:
                await asyncio.wait_for(changed.wait(), 5)
            except TimeoutError:  # a fault shows as silence: look for one
                for task in [t for t in publishes if t.done()]:
                    publishes.discard(task)
                    task.result()  # a refused publish raises here
                if dead := sorted(p for p in hub_pids if not _running(p)):
                    raise HubStoppedError(f"hub process(es) {dead} exited: see their traceback on stderr") from None
                if LOST:
                    why = f"{len(LOST)} bench connection(s) closed by the broker, first {LOST[0]}"
                    raise ConnectionLostError(why) from None
                if time.perf_counter() - fan.last_progress > _STALL_S:
                    raise StalledError(f"nothing for {_STALL_S} s; " + "; ".join(fan.pending()[:5])) from None

    fan.on_done = done
    started = time.perf_counter()
    deadline, published = started + (seconds if seconds is not None else float("inf")), 0
    while count is None or published < count:
        number, body = next(bodies)  # made before its slot is taken: not part of its latency
        await until_at_most(window - 1)
        if time.perf_counter() >= deadline:
            break
        message = messages([body], KIND, user_id=ao)[0]
        fan.published(number, message.message_id or "")
        in_flight, published = in_flight + 1, published + 1
        publishes.add(asyncio.create_task(exchange.publish(message, f"{ao}.{KIND}")))  # returns at the confirm
    await until_at_most(0)
    await asyncio.gather(*publishes)
    return started, max(b.done or 0 for b in fan.bulks.values()) - started


# ---- CPU: bench/registration.py's split, with postgres told apart by database (the machine is shared)
_BACKEND = re.compile(r"postgres: [^:]+: \S+ (\S+) ")  # "postgres: 15/main: <user> <database> <client> ..."


def cpu_split(hub_pids: Collection[int], db: str) -> Counter[str]:
    """Clock ticks per component since boot; postgres backends of other databases, and anything
    else not ours, are "other: <command>" (noise: rerun if it is high)."""
    ticks = cpu_by_component(hub_pids)
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/stat") as f:
                stat = f.read()
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                cmdline = f.read().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue  # the process has gone
        comm, fields = stat[stat.index("(") + 1 : stat.rindex(")")], stat[stat.rindex(")") + 2 :].split()
        if int(pid) in hub_pids or int(pid) == os.getpid() or comm.startswith("beam"):
            continue
        # Only its own time (a reaped child's whole life would land on its parent): the breakdown
        # misses what ended during the phase; "other" itself is registration's, children included.
        used = sum(map(int, fields[11:13]))
        if comm.startswith("postgres"):
            backend = _BACKEND.match(cmdline)
            if backend is None or backend.group(1) == db:
                continue  # this run's backends, and the server's own processes: "postgres"
            ticks["postgres"] -= used
            ticks["other"] += used
            comm = f"postgres {backend.group(1)}"
        ticks[f"other: {comm.split('/')[0]}"] += used  # kworker/1:2-events: its suffix changes as it works
    return ticks


def _cores(ticks: Counter[str], seconds: float) -> dict[str, float]:
    """Cores used per component; "other: ..." only for what used at least 0.05 of a core."""
    cores = {k: round(v / os.sysconf("SC_CLK_TCK") / seconds, 2) for k, v in sorted(ticks.items())}
    return {k: v for k, v in cores.items() if not k.startswith("other: ") or v >= 0.05}


# ---- setting up: organisations, agreements, consent, subscriptions
async def empty_sharing(conn: AnyConnection) -> None:
    """Empty what earlier runs left in a kept register: the PLR and audit log, sharing, their organisations."""
    await empty_plr(conn)
    await conn.execute("TRUNCATE held, notice, subscription, agreement, consent")
    await conn.execute("DELETE FROM organisation WHERE name = ANY($1::text[])", [PARTNER_NAME, PORTAL_NAME])


async def approve_agreements(pool: asyncpg.Pool, all_partners: list[Partner]) -> None:
    today = date.today()
    async with PostgresUnitOfWork(pool) as uow:
        for p in all_partners:
            purposes, feeds = frozenset({p.purpose, "statistics"}), frozenset({Feed.ACHIEVEMENTS})
            valid = (today - timedelta(days=30), today + timedelta(days=365))
            proposed = Agreement("", p.org_id, 1, purposes, feeds, p.fields, p.scope, *valid)
            change = await agreements.approve(uow, proposed)
            if not change.applied or change.agreement is None:
                raise RuntimeError(f"agreement for {p.org_id} not approved: {change.reason}")
            p.agreement_id = change.agreement.agreement_id
        await uow.commit()


class Org:
    """An organisation's own connection to the broker: publish on lrs.inbound, read lrs.out.<org>."""

    def __init__(self, org_id: str) -> None:
        self.org_id = org_id
        self.answers: dict[str, asyncio.Future[aio_pika.abc.AbstractIncomingMessage]] = {}
        self.other: Callable[[aio_pika.abc.AbstractIncomingMessage, float], None] = lambda m, t: None

    async def open(self, stack: AsyncExitStack, url: str) -> None:
        conn = await aio_pika.connect(url)
        stack.push_async_callback(conn.close)
        conn.close_callbacks.add(_lost(self.org_id))
        self.pub = await conn.channel(publisher_confirms=True)
        consume = await conn.channel()
        await consume.set_qos(prefetch_count=64)
        self.inbound = await self.pub.get_exchange(INBOUND_EXCHANGE, ensure=False)
        queue = await consume.get_queue(outbound_queue_name(self.org_id), ensure=False)
        await queue.consume(self._on_message)

    async def _on_message(self, msg: aio_pika.abc.AbstractIncomingMessage) -> None:
        now = time.perf_counter()
        await msg.ack()
        waiting = self.answers.pop(msg.correlation_id or "", None)
        if waiting is not None:
            waiting.set_result(msg)
        else:
            self.other(msg, now)

    async def ask(self, request: Contract) -> dict[str, Any]:
        """Send a request as this organisation; its answer's body."""
        message = messages([request.model_dump_json().encode()], request.message_type, user_id=self.org_id)[0]
        answer = self.answers[message.message_id or ""] = asyncio.get_running_loop().create_future()
        await self.inbound.publish(message, f"{self.org_id}.{request.message_type}")
        reply = await asyncio.wait_for(answer, 60)
        body: dict[str, Any] = json.loads(reply.body)
        return body | {"_type": reply.type}


def _lost(who: str) -> Callable[[Any, BaseException | None], None]:
    def closed(_: Any, exc: BaseException | None) -> None:
        if exc is not None and not isinstance(exc, asyncio.CancelledError):  # not our own close
            LOST.append(f"{who}: {exc}")

    return closed


async def subscribe_all(orgs: dict[str, Org], all_partners: list[Partner]) -> None:
    answers = await asyncio.gather(*(orgs[p.org_id].ask(Subscribe(feed="achievements", purpose=p.purpose))
                                     for p in all_partners))  # fmt: skip
    refused = [a for a in answers if a["_type"] != SubscriptionAnswer.message_type or a.get("status") != "active"]
    if refused:
        raise RuntimeError(f"subscriptions refused: {refused[:3]}")


async def portal_choices(portal: Org, plans: list[tuple[str, list[Contract]]]) -> list[str]:
    """Each learner's messages in turn (one at a time per learner: a choice reads the last one)."""
    problems = []
    for step in range(max(len(m) for _, m in plans)):
        now = [m[step] for _, m in plans if step < len(m)]
        for a in await asyncio.gather(*(portal.ask(m) for m in now)):
            if a["_type"] != ConsentAnswer.message_type or a.get("outcome") != "applied":
                problems.append(f"portal: {a}"[:300])
    return problems


# ---- a run
def _tuning(args: argparse.Namespace) -> dict[str, int]:
    """The hub settings given on the command line (the hub's defaults otherwise)."""
    names = ("prefetch", "batch_max_size", "records_prefetch", "records_batch_max_size", "records_batch_workers",
             "db_pool_size")  # fmt: skip
    return {k: getattr(args, k) for k in names if getattr(args, k) is not None}


async def run(args: argparse.Namespace) -> dict[str, Any]:
    rng, run_id = random.Random(args.seed), secrets.token_hex(4)
    db = args.keep_db or f"lrs_scale_{run_id}"  # matching_scale's prefix: its loader may replace it
    ao = Organisation(str(random.Random().randrange(100_000, 1_000_000)), OrganisationKind.AWARDING_ORGANISATION,
                      AO_NAME)  # fmt: skip
    s = Settings(database_url=PG + db, amqp_url=f"{AMQP}bench_{run_id}").model_copy(update=_tuning(args))
    the_partners = partners(args.partners, random.Random())  # fresh ids: broker users are global
    by_id = {p.org_id: p for p in the_partners}
    nominatable = [p.org_id for p in the_partners if p.scope == Scope.NOMINATED]
    portal_org = Organisation(str(random.Random().randrange(10**7, 10**8)), OrganisationKind.LEARNER_PORTAL,
                              PORTAL_NAME)  # fmt: skip
    async with AsyncExitStack() as stack:  # everything below is undone, in reverse, even on failure
        if not args.keep_db:
            pg = await asyncpg.connect(PG_ADMIN)
            stack.push_async_callback(pg.close)
            stack.push_async_callback(pg.execute, f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')
        register = argparse.Namespace(learners=args.register_size, keep_db=db, seed=args.seed, chunk=args.chunk)
        db, facts = await open_register(register)
        pool = await create_pool(Settings(database_url=s.database_url, db_pool_size=2))
        stack.push_async_callback(pool.close)
        async with pool.acquire() as conn:
            await empty_sharing(conn)
            learners = await sample_learners(conn, min(args.sample, args.register_size), rng)
        ulns = [x[0] for x in learners]
        numbered = enumerate(bulk_bodies(learners, args.bulk_size, run_id, rng))
        AchievementBulk.model_validate_json(next(numbered)[1], strict=True)  # the generator keeps the contract

        # Organisations (each with its own broker user), agreements, consent.
        admin = await fresh_vhost(stack, s)
        hub_pub = await _channel(stack, s.amqp_url, confirms=True)  # as the hub's own user
        await declare_topology(hub_pub, s.delivery_limit)
        passwords = {ao.org_id: secrets.token_hex(8), portal_org.org_id: secrets.token_hex(8)}
        passwords |= {p.org_id: p.password for p in the_partners}
        partner_orgs = [Organisation(p.org_id, OrganisationKind.PARTNER, PARTNER_NAME) for p in the_partners]
        for org in (ao, portal_org, *partner_orgs):
            stack.push_async_callback(admin.delete_user, org.org_id)  # broker users are global: never leave one
            await add_organisation(pool, hub_pub, admin, org, passwords[org.org_id])
        await approve_agreements(pool, the_partners)
        portal_ulns, direct = ulns[: args.portal_learners], ulns[args.portal_learners :]
        rows, choices, unasked, mix = consent_mix(direct, nominatable, args, rng)
        async with pool.acquire() as conn:
            await conn.copy_records_to_table("consent", records=rows, columns=[
                "uln", "version", "sharing", "restricted", "basic_only", "nominations"])  # fmt: skip
            abilities = await conn.fetch("SELECT uln, details->>'ability_to_share' FROM learner "
                                         "WHERE uln = ANY($1::bpchar[])", unasked)  # fmt: skip
        choices |= {u: Choice(a == "1") for u, a in abilities}
        plans = [portal_plan(k, u, nominatable) for k, u in enumerate(portal_ulns)]
        choices |= {u: choice for u, (_, choice) in zip(portal_ulns, plans, strict=True)}
        mix["portal"] = len(portal_ulns)
        log(f"database {db}, vhost {s.vhost}, {len(ulns):,} learners in the achievements: {dict(mix)}")

        # (a) the raw hop, before the hub starts, so the broker has the machine to itself.
        raw_args = argparse.Namespace(window=args.raw_window, loop="closed", warmup=args.raw_warmup,
                                      messages=args.raw_messages)  # fmt: skip
        raw = await raw_hop(stack, hub_pub, s.amqp_url, raw_args)
        log(f"raw hop: {raw.msgs_per_s:,.0f} msgs/s")

        # (b) the hub: partners subscribe, learners choose through the portal, the AO sends bulks.
        hub_pids = await start_hub(stack, s, args)
        for queue in (RECORDS_QUEUE, SHARING_QUEUE, FEEDS_QUEUE):
            await wait_for_consumer(hub_pub, queue)
        orgs = {o: Org(o) for o in passwords}
        for org_id, client in orgs.items():
            await client.open(stack, s.amqp_url_for(org_id, passwords[org_id]))
        await subscribe_all(orgs, the_partners)
        suspended = [p for p in the_partners if p.suspended]
        async with PostgresUnitOfWork(pool) as uow:
            for p in suspended:
                if not (await agreements.suspend(uow, p.agreement_id, now=clock.now())).applied:
                    raise RuntimeError(f"agreement {p.agreement_id} not suspended")
            await uow.commit()
        setup_problems = await portal_choices(orgs[portal_org.org_id], [(u, m) for u, (m, _) in zip(
            portal_ulns, plans, strict=True)]) if plans else []  # fmt: skip
        log(f"{len(the_partners)} partners subscribed ({len(suspended)} suspended since), "
            f"{len(plans)} learners chose through the portal")  # fmt: skip
        tap_ch = await _channel(stack, s.amqp_url, confirms=False)
        tap = await tap_ch.declare_queue(f"bench.tap.{run_id}", exclusive=True, auto_delete=True)
        await tap.bind(EVENTS_EXCHANGE, f"{AchievementsRecorded.message_type}.#")
        inbound = orgs[ao.org_id].inbound

        phases: list[FanOut] = []

        async def on_tap(msg: aio_pika.abc.AbstractIncomingMessage) -> None:
            now = time.perf_counter()
            await msg.ack()
            if phases:
                phases[-1].on_event(msg, now)

        def partner_consumer(org_id: str) -> Callable[[aio_pika.abc.AbstractIncomingMessage, float], None]:
            def on_message(msg: aio_pika.abc.AbstractIncomingMessage, now: float) -> None:
                if not phases:
                    log(f"partner {org_id} got {msg.type} before any load")
                elif msg.type == Delivery.message_type:
                    phases[-1].on_delivery(org_id, msg, now)
                else:  # a recall or correction: nothing in this run calls for one
                    phases[-1].mismatch("unexpected message to a partner", f"{org_id}: {msg.type} {msg.body[:200]!r}")

            return on_message

        await tap.consume(on_tap)
        orgs[ao.org_id].other = lambda m, t: phases[-1].on_receipt(m, t) if phases else None
        for p in the_partners:
            orgs[p.org_id].other = partner_consumer(p.org_id)

        async def load(
            seconds: float | None = None, count: int | None = None
        ) -> tuple[FanOut, float, float, dict[str, float], str | None]:
            fan = FanOut(run_id, args.bulk_size, by_id, choices)
            phases.append(fan)
            before, stalled, cpu_from = cpu_split(hub_pids, db), None, time.perf_counter()
            try:
                started, elapsed = await drive(inbound, ao.org_id, numbered, fan, args.window, hub_pids, seconds,
                                               count)  # fmt: skip
            except StalledError as e:
                stalled, started = str(e), min(b.published for b in fan.bulks.values())
                finished = [b.done for b in fan.bulks.values() if b.done is not None]
                elapsed = (max(finished) if finished else time.perf_counter()) - started
                log(f"STALLED: {e}")
            ticks = cpu_split(hub_pids, db)
            ticks.subtract(before)
            cores = _cores(+ticks, time.perf_counter() - cpu_from)
            fan.close()
            return fan, started, elapsed, cores, stalled

        if args.warmup:  # connections, prepared statements, caches: not measured
            await load(count=args.warmup)
        log(f"measuring for {args.duration} s, {args.window} bulk messages of {args.bulk_size} in flight")
        fan, started, seconds, cores, stalled = await load(seconds=args.duration)
        async with pool.acquire() as conn:
            decisions = await conn.fetch(
                "SELECT decision, count(*) FROM audit_log WHERE what LIKE 'feed.achievements:%' GROUP BY 1"
            )
            audit = {decision: count for decision, count in decisions}
            held = await conn.fetchval("SELECT count(*) FROM held WHERE feed = 'achievements'")
            notices = await conn.fetchval("SELECT count(*) FROM notice")
    checks = cross_check(phases, audit, held, notices, setup_problems)
    return report(args, facts, db, raw, fan, seconds, started, cores, checks, mix, the_partners, stalled)


async def _channel(stack: AsyncExitStack, url: str, confirms: bool) -> aio_pika.abc.AbstractChannel:
    conn = await aio_pika.connect(url)
    stack.push_async_callback(conn.close)
    conn.close_callbacks.add(_lost("the hub's user (guest)"))
    ch = await conn.channel(publisher_confirms=confirms)
    await ch.set_qos(prefetch_count=64)
    return ch


def cross_check(phases: list[FanOut], audit: dict[str, int], held: int, notices: int,
                setup_problems: list[str]) -> dict[str, Any]:  # fmt: skip
    """The hub's own records of every phase (warm-up included) against what the bench expected."""
    allowed = sum(f.expected_items for f in phases)
    decisions = sum(f.decisions for f in phases)
    found = {"audit_allowed": audit.get("allowed", 0), "audit_refused": audit.get("refused", 0), "held": held,
             "notices": notices}  # fmt: skip
    wanted = {"audit_allowed": allowed, "audit_refused": decisions - allowed, "held": allowed, "notices": 0}
    mismatches = {f"{k}: {found[k]:,} != expected {wanted[k]:,}": 1 for k in found if found[k] != wanted[k]}
    mismatches |= {p: 1 for p in setup_problems}
    return {"found": found, "expected": wanted, "mismatches": mismatches}


def _pct(values: list[float], q: float) -> float | None:
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(len(ordered) * q))], 2) if ordered else None


def report(args: argparse.Namespace, facts: dict[str, Any], db: str, raw: Any, fan: FanOut, seconds: float,
           started: float, cores: dict[str, float], checks: dict[str, Any], mix: Counter[str],
           the_partners: list[Partner], stalled: str | None) -> dict[str, Any]:  # fmt: skip
    deliveries_per_s = fan.delivered / seconds
    # _Arrivals stands in for Receipts: it has the `arrivals` and `applied` that interval_rates reads.
    intervals = interval_rates(_Arrivals(fan), started, seconds, args.interval)  # type: ignore[arg-type]
    mismatches = dict(fan.mismatches) | checks["mismatches"]
    return {
        "raw_msgs_per_s": round(raw.msgs_per_s, 1),
        "decisions_per_s": round(fan.decisions / seconds, 1),
        "deliveries_per_s": round(deliveries_per_s, 1),
        "ratio": round(deliveries_per_s / raw.msgs_per_s, 4),
        "p50_ms": _pct(fan.event_ms, 0.50),
        "p99_ms": _pct(fan.event_ms, 0.99),
        "delivery": "one learner's entry delivered to one partner (many travel in one feed.delivery.v1 message)",
        "latency": "per delivery message, from the event's arrival on a tap of lrs.events to the partner's consumer",
        "delivery_messages_per_s": round(fan.delivery_messages / seconds, 1),
        "events_per_s": round(len(fan.events) / seconds, 2),
        "achievements_per_s": round(fan.applied / seconds, 1),
        "bulk_p50_ms": _pct(fan.bulk_ms, 0.50),
        "bulk_p99_ms": _pct(fan.bulk_ms, 0.99),
        "target_ratio": TARGET_RATIO,
        "meets_target": deliveries_per_s / raw.msgs_per_s >= TARGET_RATIO and not mismatches and not stalled,
        "deliveries": fan.delivered,
        "expected_deliveries": fan.expected_items,
        "decisions": fan.decisions,
        "delivery_messages": fan.delivery_messages,
        "events": len(fan.events),
        "mismatches": mismatches,
        "mismatch_examples": fan.examples,
        "hub_records": checks["found"],
        "hub_records_expected": checks["expected"],
        "duplicates": dict(fan.duplicates),
        "stalled": stalled,
        "partners": len(the_partners),
        "agreements": dict(
            Counter(
                f"{p.purpose}/{p.scope}/{len(p.fields)} fields{'/suspended' if p.suspended else ''}"
                for p in the_partners
            )
        ),
        "consent_mix": dict(mix),
        "register_size": args.register_size,
        "duration_s": args.duration,
        "measured_s": round(seconds, 1),
        "bulk_size": args.bulk_size,
        "window": args.window,
        "interval_s": args.interval,
        "interval_deliveries_per_s": intervals,
        "raw_p50_ms": raw.percentile_ms(0.50),
        "raw_p99_ms": raw.percentile_ms(0.99),
        "raw_cpu_cores": raw.cpu_cores,
        "hub_cpu_cores": cores,
        "hub_mode": args.hub_mode,
        "hub_processes": 0 if args.hub_mode == "in-process" else args.hub_processes,
        "hub_settings": _tuning(args),  # only those given; the rest are adapters/settings.py's defaults
        "register_load_seconds": facts["load_seconds"],
        "reused_database": facts["reused"],
        "database": db,
        "code": code_version(),
    }


class _Arrivals:
    """bench/achievements.py's interval_rates, fed delivered items instead of applied achievements."""

    def __init__(self, fan: FanOut) -> None:
        self.arrivals, self.applied = fan.arrivals, fan.delivered


def show(r: dict[str, Any]) -> None:
    hub = f"hub {r['hub_mode']} x{r['hub_processes']} {r['hub_settings'] or ''}"
    title = f"feeds: {r['partners']} partners, bulk {r['bulk_size']}, window {r['window']}, {r['duration_s']} s, "
    title += f"register {r['register_size']:,}, {hub}"
    t = Table("", "per s", "p50 ms", "p99 ms", "", title=title)
    t.add_row("raw broker hop (msgs)", f"{r['raw_msgs_per_s']:,}", str(r["raw_p50_ms"]), str(r["raw_p99_ms"]),
              f"CPU cores: {r['raw_cpu_cores']}")  # fmt: skip
    t.add_row("deliveries (entry to a partner)", f"{r['deliveries_per_s']:,}", str(r["p50_ms"]), str(r["p99_ms"]),
              f"CPU cores: {r['hub_cpu_cores']}")  # fmt: skip
    t.add_row("  decisions (allowed + refused)", f"{r['decisions_per_s']:,}", "", "", f"{r['decisions']:,} in all")
    t.add_row("  delivery messages", f"{r['delivery_messages_per_s']:,}", "", "", "event -> delivery latency")
    t.add_row("  events (bulk -> delivery)", f"{r['events_per_s']:,}", str(r["bulk_p50_ms"]), str(r["bulk_p99_ms"]),
              f"{r['achievements_per_s']:,} achievements/s recorded")  # fmt: skip
    t.add_row("ratio deliveries/raw msgs", str(r["ratio"]), "", "",
              f"target >= {r['target_ratio']}: {'met' if r['meets_target'] else 'NOT met'}")  # fmt: skip
    t.add_row(f"per {r['interval_s']} s", "", "", "", ", ".join(f"{x:,.0f}" for x in r["interval_deliveries_per_s"]))
    t.add_row("delivered / expected", f"{r['deliveries']:,} / {r['expected_deliveries']:,}", "", "",
              f"mismatches: {r['mismatches'] or 'none'}")  # fmt: skip
    t.add_row("consent mix", "", "", "", str(r["consent_mix"]))
    if r["stalled"]:
        t.add_row("STALLED", "", "", "", r["stalled"])
    Console(width=160).print(t)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--register-size", type=int, default=100_000, help="learners in the register")
    p.add_argument("--keep-db", metavar="NAME", help="keep the register (reused when it already holds N learners)")
    p.add_argument("--duration", type=float, default=120, help="seconds of measured load")
    p.add_argument("--interval", type=float, default=30, help="seconds per interval of the sustained rate")
    p.add_argument("--partners", type=int, default=20, help="subscribed partners")
    p.add_argument("--window", type=int, default=4, help="bulk messages whose fan-out is incomplete (closed loop)")
    p.add_argument("--bulk-size", type=int, default=1000, help="achievements per bulk message (at most 1,000)")
    p.add_argument("--warmup", type=int, default=4, help="bulk messages before the measured phase")
    p.add_argument("--sample", type=int, default=100_000, help="learners drawn from the register to name")
    p.add_argument("--opted-out", type=float, default=0.10, help="share of learners opted out")
    p.add_argument("--restricted", type=float, default=0.50, help="share restricted (half a view, half basic only)")
    p.add_argument("--no-choice", type=float, default=0.05, help="share who never chose (registration decides)")
    p.add_argument("--nominating", type=float, default=0.30, help="share who nominate nominated-scope partners")
    p.add_argument("--portal-learners", type=int, default=25, help="learners whose choices go through the portal")
    p.add_argument("--raw-messages", type=int, default=5000, help="measured messages of the raw hop")
    p.add_argument("--raw-window", type=int, default=64, help="raw messages in flight")
    p.add_argument("--raw-warmup", type=int, default=300)
    p.add_argument("--prefetch", type=int, help="LRS_PREFETCH for the hub (lrs.feeds takes it too)")
    p.add_argument("--batch-max-size", type=int, help="LRS_BATCH_MAX_SIZE (events per feeds transaction too)")
    p.add_argument("--records-prefetch", type=int, help="LRS_RECORDS_PREFETCH for the hub")
    p.add_argument("--records-batch-max-size", type=int, help="LRS_RECORDS_BATCH_MAX_SIZE for the hub")
    p.add_argument("--records-batch-workers", type=int, help="LRS_RECORDS_BATCH_WORKERS for the hub")
    p.add_argument("--db-pool-size", type=int, help="LRS_DB_POOL_SIZE for the hub")
    p.add_argument("--hub-mode", choices=("subprocess", "in-process"), default="subprocess")
    p.add_argument("--hub-processes", type=int, default=1, help="`hub serve` processes (subprocess mode)")
    p.add_argument("--chunk", type=int, default=100_000, help="learners generated and COPYed at a time")
    p.add_argument("--seed", type=int, default=0, help="the register's, the sample's and the consent mix's")
    args = p.parse_args()
    if not 1 <= args.bulk_size <= 1000:
        p.error("--bulk-size must be 1 to 1,000 (the contract's limit)")
    if args.opted_out + args.restricted + args.no_choice > 1:
        p.error("--opted-out + --restricted + --no-choice must be at most 1")
    configure_logging(level="WARNING")
    use_run_keys()  # this process's own units of work seal and audit too
    result = asyncio.run(run(args))
    show(result)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
