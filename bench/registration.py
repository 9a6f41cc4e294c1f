"""Benchmark: learner registrations through the hub against a raw broker hop, on this machine.

(a) raw: persistent 1 KB messages, publisher confirms, into a fresh quorum queue, consumed and
    acked. (b) the minimal pipeline (bench/pipeline.py): the same registrations through a plain
    consumer that only writes inbox and outbox rows in one transaction per group and publishes
    each answer with confirms; `ratio_vs_pipeline` is the hub against it. (c) hub:
    `learner.register.v1` published as a provider org, timed until each `learner.answer.v1`
    (matched by correlation_id) arrives on `lrs.out.<org>`, against a register pre-filled with
    --register-size synthetic learners.
All phases use the same client: at most --window messages in flight. With --loop closed (the
default) a slot is freed when the message is consumed/answered, so latency is the system's and
not the length of a backlog; with --loop open it is freed at the publisher confirm (a flood).
The hub runs as `hub serve` subprocess(es) (its own GIL, as deployed) or --hub-mode in-process.
Each run gets its own database and vhost, dropped at the end, also on failure.
The CPU columns say who used the 2 cores during each measured phase (from /proc): "idle" is
what the machine had left, "other" is anything else running on it (noise: rerun if it is high).
Run: cd /work/main && uv run python bench/registration.py [--messages N] [--window W] ...
Stdout: a table, then one JSON line. The hub and its logs go to stderr, with its pids, so
`uv run --with py-spy py-spy record -p <pid> -d 10` can look inside during the measured phase.
"""

import argparse
import asyncio
import json
import os
import random
import secrets
import sys
import time
import uuid
from collections import Counter
from collections.abc import Callable, Collection
from contextlib import AsyncExitStack
from datetime import date, timedelta
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: make the repository root importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import aio_pika
import asyncpg
from rich.console import Console
from rich.table import Table

from adapters.bootstrap import Hub
from adapters.log import configure_logging
from adapters.postgres.migrate import apply_migrations
from adapters.postgres.repositories import PostgresOrganisations, block_key_hash
from adapters.postgres.sealing import DetailsSealer
from adapters.rabbit.admin import BrokerAdmin
from adapters.rabbit.topology import REGISTRATION_QUEUE, declare_outbound_queue, declare_topology, outbound_queue_name
from adapters.settings import Settings
from bench.pipeline import IN_QUEUE as PIPELINE_IN
from bench.pipeline import pipeline_queues, start_pipeline
from bench.run_keys import BENCH_DATA_KEY, hub_keys, use_run_keys
from contracts.codes import OrganisationKind
from contracts.learner import LearnerDetails
from hub.kernel.model import Learner, Organisation
from hub.pipeline.routing import INBOUND_EXCHANGE
from hub.register.blocking import learner_block_keys
from hub.register.uln import uln_for_issue_number

PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
AMQP = "amqp://guest:guest@127.0.0.1:5672/"
# ---- synthetic learners: names from a large syllable space, so "new" learners never collide
_SYLLABLES = "ka lo mi ra ne to su vi da re an el or is um be co fa gu hi jo ly ma no pe qui sa te wy zo".split()
_LETTERS = "ABCDEFGHJKLMNPRSTUWY"  # no Z: ZZ99 postcodes are the "unknown" pseudo postcodes


def _name(rng: random.Random, parts: int) -> str:
    return "".join(rng.choice(_SYLLABLES) for _ in range(parts)).capitalize()


def person(rng: random.Random) -> dict[str, object]:
    """A plausible learner aged 20-40 (inside the 13-110 range a new ULN needs)."""
    lc = "".join(rng.choices(_LETTERS, k=4))  # outward letters, inward letters
    d = "".join(rng.choices("0123456789", k=3))
    return {
        "given_name": _name(rng, 3),
        "family_name": _name(rng, 4),
        "date_of_birth": (date(1986, 1, 1) + timedelta(days=rng.randrange(20 * 365))).isoformat(),
        "gender": rng.choice((1, 2)),
        "last_known_postcode": f"{lc[:2]}{d[:2]} {d[2]}{lc[2:]}",
        "last_known_address_line1": f"{rng.randrange(1, 300)} {_name(rng, 2)} Road",
        "last_known_address_town": _name(rng, 2),
        "verification_type": 1,
    }


_LEARNER_COLUMNS = "uln status master_uln version details sealed_fields sealed_key date_of_birth gender registered_by"


async def prefill(conn: asyncpg.Connection, org: str, size: int, rng: random.Random) -> list[dict[str, object]]:
    """COPY `size` learners straight into the register (the hub's own path would take minutes)."""
    people: list[dict[str, object]] = []
    records: list[tuple[object, ...]] = []
    blocks: list[tuple[int, str]] = []  # the register's blocking index, as the hub writes it
    sealer = DetailsSealer(BENCH_DATA_KEY)
    n = 0
    while len(records) < size:
        n += 1
        uln = uln_for_issue_number(n)
        if uln is None:  # a base with no check digit: the hub skips it too
            continue
        p = person(rng)
        d = LearnerDetails.model_validate(p)
        clear, sealed = sealer.seal(uln, d.model_dump(mode="json", exclude_none=True))  # as the hub writes it
        records.append(
            (uln, "active", None, 1, json.dumps(clear), sealed.token, sealed.key_id, d.date_of_birth, d.gender, org)
        )
        blocks.extend((block_key_hash(k), uln) for k in learner_block_keys(Learner(uln, d)))
        people.append(p)
    await conn.copy_records_to_table("learner", records=records, columns=_LEARNER_COLUMNS.split())
    await conn.copy_records_to_table("learner_block", records=set(blocks), columns=["key_hash", "uln"])
    await conn.execute("SELECT setval('uln_issue_number', $1)", n)  # the hub never re-issues these
    await conn.execute("ANALYZE")
    return people


class Workload:
    """Registrations in a realistic mix: new learners, re-registrations, near misses."""

    def __init__(self, people: list[dict[str, object]], rng: random.Random, exact: float, near: float) -> None:
        self._people, self._rng, self._exact, self._near = people, rng, exact, near
        self._unused = iter(rng.sample(range(len(people)), len(people)))  # each pre-filled learner once

    def bodies(self, org: str, count: int) -> list[bytes]:
        out = []
        for i in range(count):
            roll = self._rng.random()
            if roll < self._exact:  # the same learner again: WSRC0004
                learner = dict(self._people[next(self._unused)])
            elif roll < self._exact + self._near:  # a new family name, else the same: WSRC0003
                learner = dict(self._people[next(self._unused)], family_name=_name(self._rng, 4))
            else:  # nobody like them: WSRC0005
                learner = person(self._rng)
            out.append(json.dumps({"ukprn": org, "mis_identifier": f"MIS{i}", "learner": learner}).encode())
        return out


# ---- the client: a window of in-flight messages, completions matched by id
class Tracker:
    """Times each message from publish to its completion (consumed, or answered)."""

    def __init__(self, count: int) -> None:
        self.sent: dict[str, float] = {}
        self.latencies: list[float] = []
        self.codes: Counter[str] = Counter()
        self.remaining, self.done = count, asyncio.Event()
        self.on_complete: Callable[[], None] = lambda: None

    async def on_message(self, msg: aio_pika.abc.AbstractIncomingMessage) -> None:
        await msg.ack()
        # An answer carries the request's message_id as its correlation_id; a raw message is itself.
        started = self.sent.pop(msg.correlation_id or msg.message_id or "", None)
        if started is None:
            return  # not ours (a late answer from the warm-up)
        self.latencies.append(time.perf_counter() - started)
        self.codes[answer_code(msg)] += 1
        self.on_complete()
        self.remaining -= 1
        if self.remaining == 0:
            self.done.set()


def answer_code(msg: aio_pika.abc.AbstractIncomingMessage) -> str:
    if msg.type is None or msg.type == "bench.raw":
        return "raw"
    body = json.loads(msg.body)
    return body.get("response_code") or f"{msg.type}:{body.get('reason')}"


async def drive(
    exchange: aio_pika.abc.AbstractExchange,
    routing_key: str,
    messages: list[aio_pika.Message],
    tracker: Tracker,
    window: int,
    closed_loop: bool,
) -> float:
    """Publish with at most `window` in flight; return seconds from first publish to last completion."""
    slots = asyncio.Semaphore(window)
    if closed_loop:
        tracker.on_complete = slots.release

    async def publish(m: aio_pika.Message) -> None:
        await exchange.publish(m, routing_key)  # returns at the publisher confirm
        if not closed_loop:
            slots.release()

    started, tasks = time.perf_counter(), []
    for m in messages:
        await slots.acquire()
        tracker.sent[m.message_id or ""] = time.perf_counter()
        tasks.append(asyncio.create_task(publish(m)))
    await asyncio.gather(*tasks)
    await asyncio.wait_for(tracker.done.wait(), timeout=max(120, len(messages) / 20))
    return time.perf_counter() - started


class Phase:
    """One timed run of a message list through a queue: seconds, per-message results, CPU per component."""

    def __init__(self, seconds: float, tracker: Tracker, cpu_ticks: Counter[str]) -> None:
        self.msgs_per_s = len(tracker.latencies) / seconds
        self.latencies, self.codes = sorted(tracker.latencies), tracker.codes
        self.cpu_cores = {k: round(v / os.sysconf("SC_CLK_TCK") / seconds, 2) for k, v in sorted(cpu_ticks.items())}

    def percentile_ms(self, q: float) -> float:
        return round(self.latencies[min(len(self.latencies) - 1, int(len(self.latencies) * q))] * 1000, 2)


async def phase(
    exchange: aio_pika.abc.AbstractExchange,
    queue: aio_pika.abc.AbstractQueue,
    routing_key: str,
    messages: list[aio_pika.Message],
    args: argparse.Namespace,
    hub_pids: Collection[int] = (),
) -> Phase:
    tracker = Tracker(len(messages))
    tag = await queue.consume(tracker.on_message)
    try:
        before = cpu_by_component(hub_pids)
        seconds = await drive(exchange, routing_key, messages, tracker, args.window, args.loop == "closed")
        return Phase(seconds, tracker, cpu_by_component(hub_pids) - before)
    finally:
        await queue.cancel(tag)


def messages(bodies: list[bytes], kind: str, user_id: str) -> list[aio_pika.Message]:
    """Persistent, with a fresh message_id each, as the broker-checked `user_id`."""
    return [
        aio_pika.Message(b, message_id=str(uuid.uuid4()), type=kind, user_id=user_id,
                         content_type="application/json", delivery_mode=aio_pika.DeliveryMode.PERSISTENT)
        for b in bodies
    ]  # fmt: skip


def raw_bodies(count: int) -> list[bytes]:
    pad = "x" * (1024 - len(json.dumps({"seq": 0, "pad": ""})) - 5)  # 1 KB of JSON each
    return [json.dumps({"seq": i, "pad": pad}).encode() for i in range(count)]


# ---- CPU per component during the measured phase (2 cores: who uses them?)
def cpu_by_component(hub_pids: Collection[int]) -> Counter[str]:
    ticks: Counter[str] = Counter()
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/stat") as f:
                stat = f.read()
        except OSError:
            continue  # the process has gone
        comm, fields = stat[stat.index("(") + 1 : stat.rindex(")")], stat[stat.rindex(")") + 2 :].split()
        name = "other"
        if int(pid) in hub_pids or int(pid) == os.getpid():
            name = "hub" if int(pid) in hub_pids else "bench client"
        elif comm.startswith(("beam", "postgres")):
            name = "rabbitmq" if comm.startswith("beam") else "postgres"
        # utime + stime, and cutime + cstime: its children that ended during the phase (a postgres
        # parallel worker, reaped by the postmaster) would otherwise be counted by nobody.
        ticks[name] += sum(map(int, fields[11:15]))
    with open("/proc/stat") as f:
        idle, iowait = f.readline().split()[4:6]
    ticks["idle"] = int(idle) + int(iowait)  # of the whole machine: is anything left?
    return ticks


# ---- the hub: its own process (`hub serve`, own GIL: realistic on 2 cores), or in this one
async def start_hub(stack: AsyncExitStack, s: Settings, args: argparse.Namespace) -> set[int]:
    """Start the hub; return the pids of its processes (attach py-spy to them), none when in-process."""
    s = s.model_copy(update=hub_keys())
    use_run_keys()  # this process reads what the hub sealed
    if args.hub_mode == "in-process":
        await stack.enter_async_context(Hub(s))
        return set()
    # Every setting given to `s` explicitly (the URLs, any tuning) reaches the hub as LRS_<NAME>.
    given = {f"LRS_{k.upper()}": str(v) for k, v in s.model_dump(exclude_unset=True).items() if v is not None}
    env = {**os.environ, **given, "LRS_DATABASE_URL": s.database_url, "LRS_AMQP_URL": s.amqp_url}
    env["LRS_LOG_LEVEL"] = "WARNING"
    pids = set()
    for _ in range(args.hub_processes):  # competing consumers, as the hub scales out
        proc = await asyncio.create_subprocess_exec("hub", "serve", env=env, stdout=sys.stderr.fileno())
        stack.push_async_callback(stop_process, proc)
        pids.add(proc.pid)
    print(f"hub pids {sorted(pids)}: hub serve", file=sys.stderr)
    return pids


async def stop_process(proc: asyncio.subprocess.Process) -> None:
    if proc.returncode is None:
        proc.terminate()
        try:
            await asyncio.wait_for(proc.wait(), 15)
        except TimeoutError:
            proc.kill()


async def wait_for_consumer(ch: aio_pika.abc.AbstractChannel, queue: str) -> None:
    """The hub is up when it consumes the registration queue."""
    async with asyncio.timeout(60):
        while True:  # the state is the broker's: there is no local event to wait on
            if (await ch.declare_queue(queue, passive=True)).declaration_result.consumer_count:
                return
            await asyncio.sleep(0.2)


async def fresh_vhost(stack: AsyncExitStack, s: Settings) -> BrokerAdmin:
    """The vhost of `s`, the hub's user given everything on it; deleted when `stack` closes."""
    admin = BrokerAdmin(s.rabbit_management_url, "guest", "guest", s.vhost)
    stack.push_async_callback(admin.close)
    await admin.ensure_vhost()
    stack.push_async_callback(admin.delete_vhost)
    await admin.grant_full_access("guest")
    return admin


async def isolated(stack: AsyncExitStack, rng: random.Random) -> tuple[Settings, str, str]:
    """A fresh database and vhost, with an org and its broker user, all removed when `stack` closes."""
    run_id = secrets.token_hex(4)
    db, vhost, org = f"lrs_bench_{run_id}", f"bench_{run_id}", str(rng.randrange(10**7, 10**8))
    s = Settings(database_url=f"postgresql://postgres@127.0.0.1:5432/{db}", amqp_url=f"{AMQP}{vhost}")
    pg = await asyncpg.connect(PG_ADMIN)
    stack.push_async_callback(pg.close)
    await pg.execute(f'CREATE DATABASE "{db}"')
    stack.push_async_callback(pg.execute, f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')
    admin = await fresh_vhost(stack, s)
    stack.push_async_callback(admin.delete_user, org)
    await admin.add_organisation_user(org, password=run_id)
    await asyncio.to_thread(apply_migrations, s.database_url)
    print(f"database {db}, vhost {vhost}, org {org}", file=sys.stderr)
    return s, org, run_id


async def channel(stack: AsyncExitStack, url: str, prefetch: int, confirms: bool) -> aio_pika.abc.AbstractChannel:
    """A channel on its own connection, so publishing and consuming do not share a socket."""
    conn = await aio_pika.connect(url)
    stack.push_async_callback(conn.close)
    ch = await conn.channel(publisher_confirms=confirms)
    await ch.set_qos(prefetch_count=prefetch)
    return ch


async def raw_hop(
    stack: AsyncExitStack, publisher: aio_pika.abc.AbstractChannel, amqp_url: str, args: argparse.Namespace
) -> Phase:
    """The raw hop: --warmup, then --messages (measured) 1 KB messages through a fresh quorum queue."""
    raw_q = await publisher.declare_queue("bench.raw", durable=True, arguments={"x-queue-type": "quorum"})
    raw_cons = await channel(stack, amqp_url, max(2 * args.window, 100), confirms=False)
    raw_in = await raw_cons.get_queue(raw_q.name, ensure=False)
    ex = publisher.default_exchange
    for count in (args.warmup, args.messages):  # the last one is measured
        raw = await phase(ex, raw_in, raw_q.name, messages(raw_bodies(count), "bench.raw", "guest"), args)
    return raw


async def run(args: argparse.Namespace) -> dict[str, object]:
    rng = random.Random(args.seed)
    prefetch = max(2 * args.window, 100)  # never the client's limit
    async with AsyncExitStack() as stack:  # everything below is undone, in reverse, even on failure
        s, org, password = await isolated(stack, rng)
        conn = await asyncpg.connect(s.database_url)
        stack.push_async_callback(conn.close)
        await PostgresOrganisations(conn).add(Organisation(org, OrganisationKind.PROVIDER, "Bench College"))
        started = time.perf_counter()
        people = await prefill(conn, org, args.register_size, rng)
        print(f"pre-filled {len(people)} learners in {time.perf_counter() - started:.1f}s", file=sys.stderr)

        # (a) the raw hop, before the hub starts, so the broker has the machine to itself.
        hub_pub = await channel(stack, s.amqp_url, prefetch, confirms=True)  # as the hub's own user
        await declare_topology(hub_pub, s.delivery_limit)
        await declare_outbound_queue(hub_pub, org)
        raw = await raw_hop(stack, hub_pub, s.amqp_url, args)
        # (b) the minimal pipeline (bench/pipeline.py), on the same tables, before the hub starts.
        kind = "learner.register.v1"
        async with AsyncExitStack() as running:
            await start_pipeline(running, s.amqp_url, s.database_url, s.prefetch, s.batch_max_size, s.batch_workers)
            client = await channel(running, s.amqp_url, prefetch, confirms=False)
            _, pipeline_answers = await pipeline_queues(client)
            bodies = Workload(people, random.Random(rng.random()), args.exact, args.near)
            for count in (args.warmup, args.messages):  # the last one is measured
                batch = messages(bodies.bodies(org, count), kind, user_id="guest")
                pipe = await phase(hub_pub.default_exchange, pipeline_answers, PIPELINE_IN, batch, args)

        # (c) registrations as the org, through the hub, answers read from the org's own queue.
        hub_pids = await start_hub(stack, s, args)
        await wait_for_consumer(hub_pub, REGISTRATION_QUEUE)
        org_pub = await channel(stack, s.amqp_url_for(org, password), prefetch, confirms=True)
        org_cons = await channel(stack, s.amqp_url_for(org, password), prefetch, confirms=False)
        answers = await org_cons.get_queue(outbound_queue_name(org), ensure=False)
        inbound = await org_pub.get_exchange(INBOUND_EXCHANGE, ensure=False)
        work = Workload(people, rng, args.exact, args.near)
        for count in (args.warmup, args.messages):  # the last one is measured
            batch = messages(work.bodies(org, count), kind, user_id=org)
            hub = await phase(inbound, answers, f"{org}.{kind}", batch, args, hub_pids)

    return {
        "raw_msgs_per_s": round(raw.msgs_per_s, 1),
        "hub_msgs_per_s": round(hub.msgs_per_s, 1),
        "ratio": round(hub.msgs_per_s / raw.msgs_per_s, 4),
        "pipeline_msgs_per_s": round(pipe.msgs_per_s, 1),
        "ratio_vs_pipeline": round(hub.msgs_per_s / pipe.msgs_per_s, 4),
        "pipeline_p50_ms": pipe.percentile_ms(0.50),
        "pipeline_cpu_cores": pipe.cpu_cores,
        "p50_ms": hub.percentile_ms(0.50),
        "p99_ms": hub.percentile_ms(0.99),
        "raw_p50_ms": raw.percentile_ms(0.50),
        "raw_p99_ms": raw.percentile_ms(0.99),
        "register_size": args.register_size,
        "messages": args.messages,
        "window": args.window,
        "loop": args.loop,
        "answers_by_code": dict(sorted(hub.codes.items())),
        "hub_mode": args.hub_mode,
        "hub_processes": 0 if args.hub_mode == "in-process" else args.hub_processes,
        "raw_cpu_cores": raw.cpu_cores,
        "hub_cpu_cores": hub.cpu_cores,
    }


def show(r: dict[str, Any]) -> None:
    title = f"{r['messages']} msgs, window {r['window']} ({r['loop']} loop), register {r['register_size']:,}"
    table = Table(
        "",
        "msgs/s",
        "p50 ms",
        "p99 ms",
        "CPU cores used during the phase",
        title=f"{title}, hub {r['hub_mode']} x{r['hub_processes']}",
    )
    table.add_row(
        "raw broker hop", *map(str, (r["raw_msgs_per_s"], r["raw_p50_ms"], r["raw_p99_ms"], r["raw_cpu_cores"]))
    )
    table.add_row("hub registration", *map(str, (r["hub_msgs_per_s"], r["p50_ms"], r["p99_ms"], r["hub_cpu_cores"])))
    table.add_row(
        "minimal pipeline",
        *map(str, (r["pipeline_msgs_per_s"], r["pipeline_p50_ms"], "", r["pipeline_cpu_cores"])),
    )
    table.add_row("ratio hub/raw", str(r["ratio"]))
    table.add_row("ratio hub/pipeline", str(r["ratio_vs_pipeline"]))
    table.add_row("answers", "", "", "", ", ".join(f"{k}: {v}" for k, v in r["answers_by_code"].items()))
    Console(width=160).print(table)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--messages", type=int, default=5000, help="measured messages per phase")
    p.add_argument("--window", type=int, default=64, help="messages in flight from the client")
    p.add_argument("--loop", choices=("closed", "open"), default="closed", help="free a slot at answer or at confirm")
    p.add_argument("--register-size", type=int, default=100_000)
    p.add_argument("--warmup", type=int, default=300)
    p.add_argument("--exact", type=float, default=0.10, help="share of re-registrations (WSRC0004)")
    p.add_argument("--near", type=float, default=0.05, help="share of near misses (WSRC0003)")
    p.add_argument("--hub-mode", choices=("subprocess", "in-process"), default="subprocess")
    p.add_argument("--hub-processes", type=int, default=1, help="`hub serve` processes (subprocess mode)")
    p.add_argument("--seed", type=int, default=None)
    args = p.parse_args()
    configure_logging(level="WARNING")
    result = asyncio.run(run(args))
    show(result)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
