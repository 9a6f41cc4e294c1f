"""Fault harness: the hub under load while processes, broker nodes and the database fail.

Private servers only (bench/private_servers.py): a PostgreSQL primary with a synchronous
streaming replica, and a cluster of three RabbitMQ nodes, each on ports of its own. Two `hub
serve` processes run on them, given every node and both database hosts, each under a
supervisor that restarts it a second after it exits (as systemd's `Restart=always` or a
container's restart policy would; that is not a manual step).

Two organisations drive a mixed load as plain AMQP clients connected to the third node, with
publisher confirms (a publish not confirmed is sent again, same message_id): a provider's
registrations (some resent with the same message_id, some learners sent again under a new
one) and an awarding organisation's achievement bulks. Each scenario injects one fault under
that load, then drains and checks:

- every request answered, once (`lost`: never answered; `duplicated`: answered twice with
  different message ids; the same answer resent under its own message_id is what receivers drop),
- no learner registered twice (two ULNs for one person, or more learners than people),
- every achievement recorded, once (`duplicated` counts a result applied twice),
- no good message in the dead letters (all the load is good: every letter is wrong),
- the outbox empty, every quorum queue replicated on three nodes, online,
- the hub serving without a manual step (a request sent after the fault is answered);
and at the end the audit chain verifies (`hub audit verify`).

It prints a table per scenario and a JSON last line with totals: `lost`, `duplicated`,
`wrongly_dead_lettered` and `manual_steps` must all be 0 to pass (exit 1 otherwise).

Run: cd /work/main && uv run python bench/faults.py [--short] [--only NAME,...]   (`make faults`)
--short is the version `make test` runs (tests/integration/test_faults.py): a few faults each.
"""

import argparse
import asyncio
import contextlib
import json
import os
import random
import secrets
import shutil
import signal
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: make the repository root importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import aio_pika
import asyncpg
from aio_pika.abc import AbstractIncomingMessage, AbstractRobustChannel, AbstractRobustConnection
from rich.console import Console
from rich.table import Table

from adapters.organisations import add_organisation
from adapters.rabbit.admin import BrokerAdmin
from adapters.rabbit.replication import check_replicas
from bench.private_servers import RabbitCluster, RabbitNode, ReplicatedPostgres
from contracts.codes import OrganisationKind
from hub.kernel.model import Organisation

REGISTER, BULK = "learner.register.v1", "achievement.bulk.v1"
RESTART_S = 1.0  # the supervisor's pause before it starts a hub that exited
VHOST = "lrs-faults"
GIVEN = ["Ada", "Bea", "Cyrus", "Dara", "Eli", "Fern", "Gus", "Hana", "Ivo", "Juno", "Kofi", "Lena", "Milo", "Nia"]
SYLLABLES = ["ka", "lo", "mi", "ru", "se", "ta", "vo", "wen", "zu", "bri", "dal", "fen", "gor", "hul", "jax", "pim"]
POSTCODES = ["N1 9GU", "LS1 4AP", "M1 1AE", "B1 1AA", "EH1 1YZ", "CF10 1EP", "BT1 5GS", "G1 1XQ"]


def log(message: str) -> None:
    print(f"{time.strftime('%H:%M:%S')} {message}", file=sys.stderr, flush=True)


# ---- the people: each one unlike every other, so a match is always the same person
def person(n: int) -> dict[str, Any]:
    family = "".join(SYLLABLES[(n >> shift) % 16] for shift in (0, 4, 8)).capitalize() + "son"
    born = date(1990, 1, 1) + timedelta(days=(n * 7919) % 7000)
    return {
        "given_name": GIVEN[n % len(GIVEN)],
        "family_name": family,
        "date_of_birth": born.isoformat(),
        "gender": 1 + n % 2,
        "last_known_postcode": POSTCODES[n % len(POSTCODES)],
        "verification_type": 2,
    }


def achievement(uln: str, who: dict[str, Any], result_id: str, version: int = 1) -> dict[str, Any]:
    """A GCSE result; from version 2 on, an amendment of it (a re-mark: the grade changes)."""
    return {
        "action": "submit" if version == 1 else "amend",
        "version": version,
        "result_id": result_id,
        "uln": uln,
        "given_name": who["given_name"],
        "family_name": who["family_name"],
        "date_of_birth": who["date_of_birth"],
        "subject_code": "601/4447/6",
        "subject": "GCSE Mathematics",
        "level": "2",
        "qualification_type": "GCSE",
        "grade": str(1 + version % 9),
        "award_date": "2026-08-20",
        "status": "Final",
    }


# ---- the hub: processes under a supervisor
class HubProcess:
    """`hub serve`, restarted RESTART_S after it exits until `retire()`; `hold()` keeps it down."""

    def __init__(self, name: str, env: dict[str, str], logs: Path) -> None:
        self.name, self.env, self.logs = name, env, logs
        self.proc: asyncio.subprocess.Process | None = None
        self.starts = 0
        self._held = asyncio.Event()
        self._held.set()  # set: may run
        self._retired = False
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._supervise(), name=f"supervise-{self.name}")

    async def _supervise(self) -> None:
        hub = shutil.which("hub", path=os.path.dirname(sys.executable)) or "hub"
        while not self._retired:
            await self._held.wait()
            with (self.logs / f"{self.name}.log").open("ab") as out:
                self.proc = await asyncio.create_subprocess_exec(hub, "serve", env=self.env, stdout=out, stderr=out)
            self.starts += 1
            await self.proc.wait()
            if not self._retired:
                await asyncio.sleep(RESTART_S)

    def signal(self, sig: signal.Signals) -> None:
        if self.proc is not None and self.proc.returncode is None:
            self.proc.send_signal(sig)

    async def hold(self) -> None:
        """Stop it (SIGTERM) and keep it down until `release()`."""
        self._held.clear()
        self.signal(signal.SIGTERM)
        if self.proc is not None:
            await self.proc.wait()

    def release(self) -> None:
        self._held.set()

    async def retire(self) -> None:
        self._retired = True
        self._held.set()
        self.signal(signal.SIGTERM)
        if self.proc is not None:
            try:
                await asyncio.wait_for(self.proc.wait(), 30)
            except TimeoutError:
                self.signal(signal.SIGKILL)
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task


# ---- the organisations' clients
class Client:
    """An organisation's system: publishes with confirms (resending what is not confirmed, same
    message_id) and records every answer on its queue by correlation_id and message_id."""

    def __init__(self, org_id: str, url: str) -> None:
        self.org_id, self.url = org_id, url
        self.answers: dict[str, dict[str, dict[str, Any]]] = {}  # correlation_id -> message_id -> body
        self.resends = 0
        self._connection: AbstractRobustConnection
        self._channel: AbstractRobustChannel

    async def open(self) -> None:
        self._connection = await aio_pika.connect_robust(self.url)
        self._channel = await self._connection.channel(publisher_confirms=True)
        reading = await self._connection.channel()
        await reading.set_qos(prefetch_count=200)
        # Declared (passively: the organisation may not configure it) rather than got: aio-pika's
        # robust channel restores the consumers of the queues it declared, and only those, once it
        # reconnects; a queue got with get_queue(ensure=False) is consumed no more after a restart.
        queue = await reading.declare_queue(f"lrs.out.{self.org_id}", passive=True)
        await queue.consume(self._on_answer)

    async def close(self) -> None:
        await self._connection.close()

    async def _on_answer(self, message: AbstractIncomingMessage) -> None:
        try:
            payload = json.loads(message.body)
        except ValueError:
            payload = {"undecodable": True}
        mine = self.answers.setdefault(message.correlation_id or "", {})
        mine[message.message_id or str(uuid.uuid4())] = {"type": message.type, **payload}
        await message.ack()

    async def send(self, message_type: str, body: dict[str, Any], message_id: str) -> None:
        """Publish until the broker confirms it: a publish lost with a node is sent again."""
        message = aio_pika.Message(
            json.dumps(body).encode(),
            content_type="application/json",
            message_id=message_id,
            type=message_type,
            user_id=self.org_id,
            delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
        )
        while True:
            try:
                exchange = await self._channel.get_exchange("lrs.inbound", ensure=False)
                await exchange.publish(message, routing_key=f"{self.org_id}.{message_type}", timeout=15)
                return
            except Exception:  # noqa: BLE001 - any failure to confirm: the client's answer is to send again
                self.resends += 1
                await asyncio.sleep(0.5)


# ---- one scenario's load and its checks
@dataclass
class Load:
    """What one scenario sent: requests by correlation id, people, achievements by result id."""

    name: str
    registrations: dict[str, int] = field(default_factory=dict)  # message_id -> person number
    bulks: dict[str, list[str]] = field(default_factory=dict)  # message_id -> result ids
    resent: int = 0  # the same message_id sent twice
    again: int = 0  # the same person under a new message_id
    stale: int = 0  # amendments sent after a later one of the same result

    def request_ids(self) -> list[str]:
        return [*self.registrations, *self.bulks]


@dataclass
class Outcome:
    name: str
    seconds: float
    requests: int
    lost: int
    duplicated: int
    learners_twice: int
    older_version_won: int
    achievements: int
    achievements_missing: int
    achievements_twice: int
    wrongly_dead_lettered: int
    outbox_unsent: int
    replicas_short: int
    manual_steps: int
    resends: int
    hub_starts: int

    @property
    def passed(self) -> bool:
        return not (
            self.lost
            or self.duplicated
            or self.learners_twice
            or self.older_version_won
            or self.achievements_missing
            or self.achievements_twice
            or self.wrongly_dead_lettered
            or self.outbox_unsent
            or self.replicas_short
            or self.manual_steps
        )


class World:
    """The private servers, the hubs and the clients, for the whole run."""

    def __init__(self, hubs: int = 2, load_s: float = 20, node_down_s: float = 10, lead_s: float = 2) -> None:
        self.load_s, self.node_down_s = load_s, node_down_s  # load at least this long; a node down this long
        self.lead_s = lead_s  # load before the fault
        self.pg = ReplicatedPostgres()
        self.rabbit = RabbitCluster(3)
        self.root = Path(tempfile.mkdtemp(prefix="lrs-faults-"))
        self.hub_count = hubs
        self.hubs: list[HubProcess] = []
        self.people = 0  # people numbered across scenarios, so no two are alike
        self.base: list[tuple[str, dict[str, Any]]] = []  # (uln, person): the learners achievements are for
        # Results amended again and again (per-learner ordering): result id -> the highest version sent
        self.versions: dict[str, int] = {}
        self.provider: Client
        self.awarding: Client
        self.admin: BrokerAdmin
        self._guest: AbstractRobustConnection
        self.audit_key = secrets.token_hex(32)
        self.current = Load("setup")  # the scenario running

    # the nodes: the hub's first is nodes[0], the clients' is nodes[2]
    @property
    def hub_node(self) -> RabbitNode:
        return self.rabbit.nodes[0]

    @property
    def other_node(self) -> RabbitNode:
        return self.rabbit.nodes[1]

    def _url(self, node: RabbitNode, user: str = "guest", password: str = "guest") -> str:
        return f"amqp://{user}:{password}@127.0.0.1:{node.port}/{VHOST}"

    async def lead(self) -> None:
        """The load runs this long before the fault strikes."""
        await asyncio.sleep(self.lead_s)

    def hub_env(self, n: int) -> dict[str, str]:
        nodes = self.rabbit.nodes
        return {
            **os.environ,
            "LRS_DATABASE_URL": self.pg.url,
            "LRS_AMQP_URL": self._url(nodes[0]),
            "LRS_AMQP_NODES": ",".join(f"127.0.0.1:{node.port}" for node in nodes[1:]),
            "LRS_RABBIT_MANAGEMENT_URL": ",".join(node.management_url for node in nodes),
            "LRS_LOG_JSON": "true",
            "LRS_LOG_HASH_KEY": self.audit_key[::-1],
            "LRS_DATA_KEY": self.audit_key[1:] + self.audit_key[0],
            "LRS_AUDIT_KEY": self.audit_key,
            "LRS_AUDIT_HEADS_FILE": str(self.root / f"audit-heads-{n}.jsonl"),
        }

    async def start(self) -> None:
        log("starting a PostgreSQL primary and its synchronous replica, and three RabbitMQ nodes")
        await asyncio.gather(asyncio.to_thread(self.pg.start), asyncio.to_thread(self.rabbit.start))
        management = ",".join(node.management_url for node in self.rabbit.nodes)
        self.admin = BrokerAdmin(management, "guest", "guest", VHOST)
        await self.admin.ensure_vhost()
        await self.admin.grant_full_access("guest")
        self._guest = await aio_pika.connect_robust(self._url(self.rabbit.nodes[2]))
        self.hubs = [HubProcess(f"hub-{n}", self.hub_env(n), self.root) for n in range(self.hub_count)]
        for hub in self.hubs:
            hub.start()
        await self.consuming()
        await self._provision()
        queues, nodes, short = await check_replicas(self.admin)
        members = sorted({len(q.members) for q in queues})
        log(f"{len(queues)} quorum queues, with replicas on {members} of {len(nodes)} nodes")
        if short:
            raise RuntimeError(f"quorum queues short of replicas before any fault: {short}")
        log(f"ready: hubs {[h.proc.pid for h in self.hubs if h.proc]}, logs in {self.root}")

    async def _provision(self) -> None:
        pool = await asyncpg.create_pool(self.pg.url, min_size=1, max_size=2)
        channel = await self._guest.channel()
        try:
            ids = [f"1{secrets.randbelow(10**7):07d}" for _ in range(2)]
            passwords = [secrets.token_urlsafe(12) for _ in ids]
            for org_id, kind, password in zip(
                ids, (OrganisationKind.PROVIDER, OrganisationKind.AWARDING_ORGANISATION), passwords, strict=True
            ):
                await add_organisation(pool, channel, self.admin, Organisation(org_id, kind, "Faults"), password)
        finally:
            await channel.close()
            await pool.close()
        self.provider = Client(ids[0], self._url(self.rabbit.nodes[2], ids[0], passwords[0]))
        self.awarding = Client(ids[1], self._url(self.rabbit.nodes[2], ids[1], passwords[1]))
        await self.provider.open()
        await self.awarding.open()
        # The learners the awarding organisation's results are for, registered before any fault.
        sent = {}
        for _ in range(20):
            n, message_id = self.next_person(), str(uuid.uuid4())
            sent[message_id] = n
            await self.provider.send(REGISTER, {"ukprn": self.provider.org_id, "learner": person(n)}, message_id)
        async with asyncio.timeout(120):
            while not all(self.provider.answers.get(m) for m in sent):
                await asyncio.sleep(0.2)
        for message_id, n in sent.items():
            (answer,) = self.provider.answers[message_id].values()
            self.base.append((answer["uln"], person(n)))
        message_id = str(uuid.uuid4())
        items = [achievement(*self.base[k], f"order-{k}") for k in range(5)]
        await self.awarding.send(BULK, {"items": items}, message_id)
        async with asyncio.timeout(120):
            while not self.awarding.answers.get(message_id):
                await asyncio.sleep(0.2)
        self.versions = {item["result_id"]: 1 for item in items}

    def amendment(self, k: int, version: int | None = None) -> dict[str, Any]:
        """Result `k` of the ordering five at `version` (default: one past the highest sent)."""
        result_id = f"order-{k}"
        if version is None:
            version = self.versions[result_id] = self.versions[result_id] + 1
        return achievement(*self.base[k], result_id, version)

    def next_person(self) -> int:
        self.people += 1
        return self.people

    async def consuming(self, hubs: int = 1, timeout_s: float = 120) -> None:
        """Wait until at least `hubs` consumers read lrs.registration."""
        async with asyncio.timeout(timeout_s):
            while True:
                channel = await self._guest.channel()
                try:  # a passive declaration of a queue not declared yet closes the channel
                    queue = await channel.declare_queue("lrs.registration", passive=True)
                    if (queue.declaration_result.consumer_count or 0) >= hubs:
                        return
                except aio_pika.exceptions.ChannelNotFoundEntity:
                    pass
                finally:
                    if not channel.is_closed:
                        await channel.close()
                await asyncio.sleep(0.1)

    async def dead_letters(self) -> int:
        channel = await self._guest.channel()
        try:
            queue = await channel.declare_queue("lrs.dead", passive=True)
            return queue.declaration_result.message_count or 0
        finally:
            await channel.close()

    async def close(self) -> None:
        for hub in self.hubs:
            await hub.retire()
        with contextlib.suppress(Exception):
            await self.provider.close()
            await self.awarding.close()
            await self._guest.close()
            await self.admin.close()
        await asyncio.to_thread(self.rabbit.close)
        await asyncio.to_thread(self.pg.close)


async def drive(world: World, load: Load, seconds: float, fault: "asyncio.Task[None]", rng: random.Random) -> None:
    """For `seconds` and until the fault is over: ten registrations a second (one in ten resent
    with its message_id, one in twenty a person sent again under a new one), a bulk of 20
    achievements a second, and re-marks of the ordering results, some sent late."""
    provider, awarding = world.provider, world.awarding
    deadline, tick = time.monotonic() + seconds, 0
    sends: list[Awaitable[None]] = []
    while time.monotonic() < deadline or not fault.done():
        tick += 1
        roll = rng.random()
        if roll < 0.1 and load.registrations:
            message_id = rng.choice(list(load.registrations))
            n, load.resent = load.registrations[message_id], load.resent + 1
        else:
            n, message_id = world.next_person(), str(uuid.uuid4())
            if roll < 0.15 and load.registrations:
                n, load.again = rng.choice(list(load.registrations.values())), load.again + 1
            load.registrations[message_id] = n
        body = {"ukprn": provider.org_id, "learner": person(n)}
        sends.append(asyncio.ensure_future(provider.send(REGISTER, body, message_id)))
        if tick % 10 == 0:
            message_id, items = str(uuid.uuid4()), []
            for k in range(20):
                uln, who = world.base[(tick + k) % len(world.base)]
                items.append(achievement(uln, who, f"{load.name}-{tick}-{k}"))
            load.bulks[message_id] = [i["result_id"] for i in items]
            sends.append(asyncio.ensure_future(awarding.send(BULK, {"items": items}, message_id)))
        if tick % 10 == 5:  # a re-mark of one of the ordering results, each message on its own
            message_id, k = str(uuid.uuid4()), tick // 10 % 5
            load.bulks[message_id] = []
            sends.append(asyncio.ensure_future(awarding.send(BULK, {"items": [world.amendment(k)]}, message_id)))
        if tick % 10 == 7 and rng.random() < 0.5:  # and an older version of it, late: it must not win
            message_id, k = str(uuid.uuid4()), tick // 10 % 5
            older = max(1, world.versions[f"order-{k}"] - 1)
            load.bulks[message_id], load.stale = [], load.stale + 1
            sends.append(asyncio.ensure_future(awarding.send(BULK, {"items": [world.amendment(k, older)]}, message_id)))
        await asyncio.sleep(0.1)
    await asyncio.gather(*sends)


async def drain(world: World, load: Load, timeout_s: float) -> None:
    """Wait until every request is answered and the outbox is empty, or `timeout_s`."""
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(timeout_s):
            while not all(m in world.provider.answers or m in world.awarding.answers for m in load.request_ids()):
                await asyncio.sleep(0.5)
            while await _unsent(world):
                await asyncio.sleep(0.5)
            await asyncio.sleep(1)  # copies of answers resent after lost confirms arrive now


async def _unsent(world: World) -> int:
    conn = await _connect(world)
    try:
        count: int = await conn.fetchval("SELECT count(*) FROM outbox WHERE sent_at IS NULL")
        return count
    finally:
        await conn.close()


async def _connect(world: World) -> asyncpg.Connection:
    """The database that takes writes, waiting through an outage."""
    async with asyncio.timeout(600):
        while True:
            try:
                return await asyncpg.connect(world.pg.url, timeout=5)
            except (OSError, asyncpg.PostgresError, TimeoutError):
                await asyncio.sleep(1)


async def check(world: World, load: Load, seconds: float, manual_steps: int, resends: int, starts: int) -> Outcome:
    provider, awarding = world.provider.answers, world.awarding.answers
    answered = {m: (provider.get(m) or awarding.get(m) or {}) for m in load.request_ids()}
    lost = sum(1 for a in answered.values() if not a)
    duplicated = sum(1 for a in answered.values() if len(a) > 1)
    # One ULN per person, and no more learners than the people the scenario sent.
    ulns: dict[int, set[str]] = {}
    for message_id, n in load.registrations.items():
        for body in answered[message_id].values():
            if body.get("uln"):
                ulns.setdefault(n, set()).add(body["uln"])
    twice = sum(1 for u in ulns.values() if len(u) > 1)
    results = [r for ids in load.bulks.values() for r in ids]
    conn = await _connect(world)
    try:
        in_db = await conn.fetchval(
            "SELECT count(*) FROM learner WHERE uln = ANY($1::bpchar[])", sorted({u for s in ulns.values() for u in s})
        )
        row = await conn.fetchrow(
            """SELECT count(*), count(*) FILTER (WHERE version > 1) FROM learning_event
               WHERE source_org = $1 AND source_ref LIKE $2""",
            world.awarding.org_id,
            f"{load.name}-%",
        )
        unsent = await conn.fetchval("SELECT count(*) FROM outbox WHERE sent_at IS NULL")
        rows = await conn.fetch(
            "SELECT source_ref, version FROM learning_event WHERE source_org = $1 AND source_ref LIKE 'order-%'",
            world.awarding.org_id,
        )
        held: dict[str, int] = {r["source_ref"]: r["version"] for r in rows}
    finally:
        await conn.close()
    assert row is not None
    recorded, applied_twice = row
    twice += max(0, len({u for s in ulns.values() for u in s}) - in_db)  # answered ULNs the register lacks
    _, _, short = await check_replicas(world.admin)
    return Outcome(
        name=load.name,
        seconds=round(seconds, 1),
        requests=len(answered),
        lost=lost,
        duplicated=duplicated + applied_twice,
        learners_twice=twice,
        older_version_won=sum(1 for ref, version in world.versions.items() if held.get(ref) != version),
        achievements=len(results),
        achievements_missing=len(results) - recorded,
        achievements_twice=applied_twice,
        wrongly_dead_lettered=await world.dead_letters(),
        outbox_unsent=unsent,
        replicas_short=len(short),
        manual_steps=manual_steps,
        resends=resends,
        hub_starts=starts,
    )


async def serving(world: World, timeout_s: float) -> bool:
    """Does the hub answer a new registration by itself within `timeout_s`?"""
    message_id = str(uuid.uuid4())
    body = {"ukprn": world.provider.org_id, "learner": person(world.next_person())}
    await world.provider.send(REGISTER, body, message_id)
    async with asyncio.timeout(timeout_s):
        while message_id not in world.provider.answers:
            await asyncio.sleep(0.2)
    return True


# ---- the faults: each runs under load, and returns when the fault is over
Fault = Callable[[World], Coroutine[Any, Any, None]]


async def no_fault(world: World) -> None:
    await asyncio.sleep(4)


async def kill_one_hub(world: World) -> None:
    await world.lead()
    world.hubs[0].signal(signal.SIGKILL)
    await asyncio.sleep(4)


async def kill_both_hubs(world: World) -> None:
    await world.lead()
    for hub in world.hubs:
        hub.signal(signal.SIGKILL)
    await asyncio.sleep(4)


async def crash_loop(world: World, kills: int = 8) -> None:
    """The only hub killed again and again as its consumers start, holding deliveries."""
    others = world.hubs[1:]
    for hub in others:
        await hub.hold()
    only = world.hubs[0]
    for _ in range(kills):
        await world.consuming()
        await asyncio.sleep(random.uniform(0, 0.5))
        only.signal(signal.SIGKILL)
        await asyncio.sleep(0.3)
    for hub in others:
        hub.release()


async def crash_loop_short(world: World) -> None:
    await crash_loop(world, kills=2)


async def sigterm_mid_bulk(world: World) -> None:
    """SIGTERM (how `hub serve` is stopped) to both hubs while a bulk of 1,000 is in flight."""
    uln, who = world.base[0]
    load, message_id = world.current, str(uuid.uuid4())
    items = [achievement(uln, who, f"{load.name}-bulk-{k}") for k in range(1000)]
    load.bulks[message_id] = [i["result_id"] for i in items]
    await world.awarding.send(BULK, {"items": items}, message_id)
    await asyncio.sleep(0.5)
    for hub in world.hubs:
        hub.signal(signal.SIGTERM)
    await asyncio.sleep(6)


async def _node_down(world: World, node: RabbitNode, how: str) -> None:
    await world.lead()
    await asyncio.to_thread(node.stop if how == "stop" else node.kill)
    await asyncio.sleep(world.node_down_s)
    await asyncio.to_thread(node.start)


async def stop_hub_node(world: World) -> None:
    await _node_down(world, world.hub_node, "stop")


async def kill_hub_node(world: World) -> None:
    await _node_down(world, world.hub_node, "kill")


async def kill_other_node(world: World) -> None:
    await _node_down(world, world.other_node, "kill")


async def kill_every_node(world: World) -> None:
    """The whole broker killed at once (every node, the clients' too) and started again."""
    await world.lead()
    for node in world.rabbit.nodes:
        await asyncio.to_thread(node.kill)
    await asyncio.sleep(world.node_down_s)
    await asyncio.gather(*(asyncio.to_thread(node.start) for node in world.rabbit.nodes))
    log("every node started again")


def _restart_database(mode: str) -> Fault:
    async def fault(world: World) -> None:
        await world.lead()
        primary = world.pg.primary
        await asyncio.to_thread(primary.stop, mode)
        await asyncio.to_thread(primary.start)
        await asyncio.sleep(3)

    return fault


def _database_away(seconds: float) -> Fault:
    async def fault(world: World) -> None:
        await world.lead()
        primary = world.pg.primary
        await asyncio.to_thread(primary.stop, "fast")
        await asyncio.sleep(seconds)  # connections refused all this time
        await asyncio.to_thread(primary.start)

    return fault


async def pause_database(world: World, seconds: float = 20) -> None:
    """SIGSTOP the primary's every process: connections open, nothing answers."""
    await world.lead()
    pids = world.pg.primary.pids()
    for pid in pids:
        os.kill(pid, signal.SIGSTOP)
    try:
        await asyncio.sleep(seconds)
    finally:
        for pid in pids:
            os.kill(pid, signal.SIGCONT)


async def promote_replica(world: World) -> None:
    """The primary killed (immediate stop) and its replica promoted: the last database fault."""
    await world.lead()
    await asyncio.to_thread(world.pg.primary.stop, "immediate")
    await asyncio.sleep(2)
    await asyncio.to_thread(world.pg.replica.promote)
    await asyncio.sleep(3)


SCENARIOS: dict[str, Fault] = {
    "control": no_fault,
    "hub_kill_one": kill_one_hub,
    "hub_kill_both": kill_both_hubs,
    "hub_crash_loop": crash_loop,
    "hub_sigterm_mid_bulk": sigterm_mid_bulk,
    "node_stop_hubs": stop_hub_node,
    "node_kill_hubs": kill_hub_node,
    "node_kill_other": kill_other_node,
    "broker_kill_every_node": kill_every_node,
    "db_restart_fast": _restart_database("fast"),
    "db_restart_immediate": _restart_database("immediate"),
    "db_paused_20s": pause_database,
    "db_stopped_30s": _database_away(30),
    "db_stopped_5min": _database_away(300),
    "db_primary_killed_replica_promoted": promote_replica,  # last: there is no replica after it
}
# What `make test` runs (tests/integration/test_faults.py): the hub's and the broker's worst; the
# database's outages and its promotion have tests of their own (test_outage_holds.py,
# test_postgres_failover.py), and the suite must stay under ten minutes.
SHORT: dict[str, Fault] = {
    "hub_crash_loop": crash_loop_short,
    "node_kill_hubs": kill_hub_node,
}


async def scenario(world: World, name: str, fault: Fault, rng: random.Random) -> Outcome:
    log(f"scenario {name}")
    load, started = Load(name), time.monotonic()
    world.current = load
    resends = world.provider.resends + world.awarding.resends
    starts = sum(h.starts for h in world.hubs)
    faulting = asyncio.create_task(fault(world), name=f"fault-{name}")
    await asyncio.gather(drive(world, load, world.load_s, faulting, rng), faulting)
    await drain(world, load, timeout_s=180)
    manual = 0
    try:
        await serving(world, timeout_s=120)
    except TimeoutError:  # the hub did not come back by itself: what an operator would do
        manual += 1
        log(f"{name}: the hub did not serve by itself; restarting it by hand")
        for hub in world.hubs:
            hub.signal(signal.SIGKILL)
        await drain(world, load, timeout_s=120)
    await _replicas_settle(world)
    outcome = await check(
        world,
        load,
        time.monotonic() - started,
        manual,
        world.provider.resends + world.awarding.resends - resends,
        sum(h.starts for h in world.hubs) - starts,
    )
    log(f"{name}: {'pass' if outcome.passed else 'FAIL'} {outcome}")
    return outcome


async def _replicas_settle(world: World, timeout_s: float = 60) -> None:
    """A restarted node's replicas come back online within seconds: wait for that."""
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(timeout_s):
            while (await check_replicas(world.admin))[2]:
                await asyncio.sleep(1)


async def audit_verifies(world: World) -> bool:
    hub = shutil.which("hub", path=os.path.dirname(sys.executable)) or "hub"
    anchor = world.root / "audit-anchor.json"
    for n in range(world.hub_count):
        heads = world.root / f"audit-heads-{n}.jsonl"
        args = [hub, "audit", "verify", "--anchor", str(anchor), "--new-anchor"]
        if heads.exists():
            args += ["--heads", str(heads)]
        proc = await asyncio.create_subprocess_exec(*args, env=world.hub_env(n), stdout=asyncio.subprocess.PIPE)
        out, _ = await proc.communicate()
        if proc.returncode:
            log(f"audit verify failed: {out.decode()[-500:]}")
            return False
    return True


async def run(names: list[str], short: bool, seed: int) -> dict[str, Any]:
    table = SHORT if short else SCENARIOS
    chosen = [n for n in table if not names or n in names]
    rng = random.Random(seed)
    world = World(load_s=3, node_down_s=1, lead_s=1) if short else World()
    outcomes: list[Outcome] = []
    started = time.monotonic()
    try:
        await world.start()
        for name in chosen:
            outcomes.append(await scenario(world, name, table[name], rng))
        audit_ok = await audit_verifies(world)
    finally:
        await world.close()
    totals = Counter[str]()
    for o in outcomes:
        for key in (
            "lost",
            "duplicated",
            "wrongly_dead_lettered",
            "manual_steps",
            "learners_twice",
            "older_version_won",
        ):
            totals[key] += getattr(o, key)
        totals["requests"] += o.requests
        totals["achievements_missing"] += o.achievements_missing
        totals["outbox_unsent"] += o.outbox_unsent
        totals["replicas_short"] += o.replicas_short
    return {
        "scenarios": [o.__dict__ | {"passed": o.passed} for o in outcomes],
        "audit_verifies": audit_ok,
        "seconds": round(time.monotonic() - started, 1),
        **totals,
        "passed": audit_ok and all(o.passed for o in outcomes) and len(outcomes) == len(chosen),
    }


TOTALS = ("lost", "duplicated", "wrongly_dead_lettered", "manual_steps", "learners_twice", "older_version_won")


def show(result: dict[str, Any]) -> None:
    table = Table(title="faults under load")
    columns = [
        *("name", "requests", *TOTALS[:2], *TOTALS[4:], "achievements", "achievements_missing"),
        *("wrongly_dead_lettered", "outbox_unsent", "replicas_short", "manual_steps", "resends", "hub_starts"),
        *("seconds", "passed"),
    ]
    for c in columns:
        table.add_column(c.replace("_", " "), justify="left" if c == "name" else "right", no_wrap=c == "name")
    for row in result["scenarios"]:
        table.add_row(*(str(row[c]) for c in columns))
    Console(file=sys.stdout, width=240).print(table)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--short", action="store_true", help="the few faults `make test` runs")
    parser.add_argument("--only", default="", help="comma-separated scenario names")
    parser.add_argument("--seed", type=int, default=12)
    args = parser.parse_args()
    result = asyncio.run(run([n for n in args.only.split(",") if n], args.short, args.seed))
    show(result)
    summary = {k: v for k, v in result.items() if k != "scenarios"}
    print(json.dumps(summary))
    sys.exit(0 if result["passed"] else 1)


if __name__ == "__main__":
    main()
