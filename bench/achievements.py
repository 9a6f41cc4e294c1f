"""Benchmark: achievements from an awarding organisation through the hub, against a raw broker hop.

(a) raw: the foundation's raw broker hop, measured by bench/registration.py's own code:
    persistent 1 KB messages, publisher confirms, a fresh quorum queue, --raw-window in flight.
(b) hub: an awarding organisation, publishing as its own RabbitMQ user, sends
    `achievement.bulk.v1` messages of --bulk-size GCSE results for learners of the register, for
    --duration seconds with at most --window messages in flight (a closed loop: a slot is freed
    by the message's `plr.outcomes.v1` receipt on `lrs.out.<ao>`, matched by correlation_id).
    Achievements are the receipts' `applied` counts, per second from the first publish to the
    last receipt; latency is publish to receipt per bulk message. Every --interval seconds the
    rate is taken again: the slowest interval is what "sustained" means.
The register holds --register-size synthetic learners, COPYed by bench/matching_scale.py's
loader; the achievements name learners drawn from it, with their names and birth dates as
stored. --keep-db NAME keeps the register for the next run (a million take ~2 minutes to load);
its PLR, inbox, outbox and audit log are emptied before each run, so repeated runs start alike.
Each run has its own vhost and awarding organisation, removed at the end, as is the database
unless kept, also on failure. The CPU split is bench/registration.py's (from /proc).
Target: >= 1,500 achievements/s sustained for 10 minutes (the default --duration 600).
Run: cd /work/main && uv run python bench/achievements.py [--register-size 1000000] [--duration 600]
     [--keep-db lrs_bench_1m] [--window 4] [--records-prefetch N] [--records-batch-max-size N]
     [--records-batch-workers N] [--hub-processes N]
Stdout: a table, then one JSON line (last). Progress, the hub's pids and its logs go to stderr.
"""

import argparse
import asyncio
import json
import random
import secrets
import sys
import time
from collections import Counter
from collections.abc import Callable, Collection, Iterator
from contextlib import AsyncExitStack
from datetime import date
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
from adapters.rabbit.topology import RECORDS_QUEUE, declare_topology, outbound_queue_name
from adapters.settings import Settings
from bench.matching_scale import PG, code_version, log, open_register
from bench.registration import (
    AMQP,
    PG_ADMIN,
    Phase,
    channel,
    cpu_by_component,
    fresh_vhost,
    messages,
    raw_hop,
    start_hub,
    wait_for_consumer,
)
from bench.run_keys import use_run_keys
from contracts.codes import OrganisationKind
from contracts.plr import AchievementBulk, LearningEventOutcomes
from hub.kernel.model import Organisation
from hub.pipeline.routing import INBOUND_EXCHANGE
from hub.register.uln import uln_for_issue_number

KIND = AchievementBulk.message_type
TARGET_PER_S, TARGET_SECONDS = 1500, 600
AO_NAME = "Bench Awarding Body"  # how a kept register's awarding organisations of earlier runs are found
# GCSE subjects, coded in the shape of Ofqual qualification numbers (illustrative, not the real ones).
SUBJECTS = [("601/4447/6", "English Language"), ("601/4292/3", "English Literature"),
            ("601/4700/3", "Mathematics"), ("601/8758/X", "Combined Science"), ("601/8687/1", "Biology"),
            ("601/8682/2", "Chemistry"), ("601/8681/0", "Physics"), ("601/8416/3", "History"),
            ("601/8410/2", "Geography"), ("601/8157/5", "French"), ("601/8160/5", "Spanish"),
            ("601/8335/3", "Computer Science")]  # fmt: skip
_STALL_S = 120  # no receipt for this long: the hub is stuck (its stderr says why)
Learner = tuple[str, str, str, str]  # uln, given name, family name, date of birth: as an AO has them


def results_day(today: date) -> date:
    """The last GCSE results day not after today (an award date must not be in the future)."""
    this_year = date(today.year, 8, 20)
    return this_year if this_year <= today else date(today.year - 1, 8, 20)


# ---- the register and the achievements
async def empty_plr(conn: AnyConnection) -> None:
    """Empty what earlier runs wrote into a kept register. The audit log refuses DELETE and TRUNCATE
    by triggers; a benchmark's throwaway database may bypass them (replica role, superuser only)."""
    async with conn.transaction():
        await conn.execute("SET LOCAL session_replication_role = replica")
        await conn.execute("TRUNCATE learning_event, challenge, inbox, outbox, audit_log")
    await conn.execute("DELETE FROM organisation WHERE kind = 'awarding_organisation' AND name = $1", AO_NAME)


async def sample_learners(conn: AnyConnection, size: int, rng: random.Random) -> list[Learner]:
    """Up to `size` learners drawn at random from the register, with their details as stored."""
    last = await conn.fetchval("SELECT last_value FROM uln_issue_number")
    draws = (uln_for_issue_number(rng.randint(1, last)) for _ in range(size + size // 2))
    rows = await conn.fetch(  # bpchar[], the key's type: against a text[] the key's index goes unused
        """SELECT uln, details->>'given_name', details->>'family_name', date_of_birth::text FROM learner
           WHERE uln = ANY($1::bpchar[]) AND status = 'active' ORDER BY uln""",
        list({u for u in draws if u}),
    )
    learners: list[Learner] = [tuple(r) for r in rows]
    rng.shuffle(learners)
    return learners[:size]


def bulk_bodies(learners: list[Learner], size: int, run_id: str, rng: random.Random) -> Iterator[bytes]:
    """Bulk messages without end: each learner in turn, a new subject each time round the sample."""
    award_date, start = results_day(date.today()).isoformat(), 0
    while True:
        items = []
        for n in range(start, start + size):
            uln, given_name, family_name, date_of_birth = learners[n % len(learners)]
            code, subject = SUBJECTS[n // len(learners) % len(SUBJECTS)]
            items.append({"action": "submit", "result_id": f"{run_id}-{n}", "uln": uln, "given_name": given_name,
                          "family_name": family_name, "date_of_birth": date_of_birth, "subject_code": code,
                          "subject": subject, "level": "2", "qualification_type": "GCSE",
                          "grade": rng.choice("987654321"), "award_date": award_date, "status": "Final"})  # fmt: skip
        start += size
        yield json.dumps({"items": items}).encode()


# ---- the client: a closed loop of bulk messages, receipts matched by correlation_id
class Receipts:
    """The awarding organisation's receipts: per bulk message its latency, applied and rejected."""

    def __init__(self, bulk_size: int) -> None:
        self.bulk_size = bulk_size
        self.sent: dict[str, float] = {}
        self.latencies: list[float] = []
        self.codes: Counter[str] = Counter()  # receipts by message type
        self.arrivals: list[tuple[float, int]] = []  # (when, achievements applied)
        self.applied = self.rejected = 0
        self.first_rejections: list[str] = []
        self.on_complete: Callable[[], None] = lambda: None

    async def on_message(self, msg: aio_pika.abc.AbstractIncomingMessage) -> None:
        await msg.ack()
        started = self.sent.pop(msg.correlation_id or "", None)
        if started is None:
            return  # not ours
        now, body = time.perf_counter(), json.loads(msg.body)
        if msg.type == LearningEventOutcomes.message_type:
            applied, rejected = body["applied"], body["rejected"]
            why = [f"{i['reason']}: {i['description']} {i.get('errors') or ''}".strip()
                   for i in body["items"] if i["outcome"] == "rejected"]  # fmt: skip
        else:  # the whole message refused: nothing of it applied
            applied, rejected, why = 0, self.bulk_size, [f"{msg.type}: {msg.body.decode()[:500]}"]
        self.applied, self.rejected = self.applied + applied, self.rejected + rejected
        self.first_rejections += why[: max(0, 5 - len(self.first_rejections))]
        self.latencies.append(now - started)
        self.codes[msg.type or "untyped"] += 1
        self.arrivals.append((now, applied))
        self.on_complete()


class HubStoppedError(Exception):
    """Raised when a hub process exits, or no receipt comes for _STALL_S seconds, during a phase."""


def _running(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] not in ("Z", "X")
    except OSError:
        return False


async def sustain(
    exchange: aio_pika.abc.AbstractExchange,
    routing_key: str,
    ao: str,
    bodies: Iterator[bytes],
    receipts: Receipts,
    window: int,
    hub_pids: Collection[int],
    seconds: float | None = None,
    count: int | None = None,
) -> tuple[float, float]:
    """Publish for `seconds` (or `count` messages), at most `window` awaiting receipts; wait for
    the last receipt. Return (first publish, seconds from it to the last receipt)."""
    in_flight, changed = 0, asyncio.Event()
    publishes: set[asyncio.Task[Any]] = set()

    def received() -> None:
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
                dead = sorted(p for p in hub_pids if not _running(p))
                if dead:
                    raise HubStoppedError(f"hub process(es) {dead} exited: see their traceback on stderr") from None
                last = receipts.arrivals[-1][0] if receipts.arrivals else started
                if time.perf_counter() - last > _STALL_S:
                    raise HubStoppedError(f"no receipt for {_STALL_S} s, {in_flight} in flight: see stderr") from None

    receipts.on_complete = received
    started = time.perf_counter()
    deadline, published = started + (seconds if seconds is not None else float("inf")), 0
    while count is None or published < count:
        body = next(bodies)  # made before its slot is taken: not part of its latency
        await until_at_most(window - 1)
        if time.perf_counter() >= deadline:
            break
        message = messages([body], KIND, user_id=ao)[0]
        receipts.sent[message.message_id or ""] = time.perf_counter()
        in_flight, published = in_flight + 1, published + 1
        publishes.add(asyncio.create_task(exchange.publish(message, routing_key)))  # returns at the confirm
    await until_at_most(0)
    await asyncio.gather(*publishes)
    return started, receipts.arrivals[-1][0] - started


def interval_rates(receipts: Receipts, started: float, seconds: float, interval: float) -> list[float]:
    """Achievements per second in each full `interval` (the whole phase if shorter than one)."""
    full = int(seconds // interval)
    if full == 0:
        return [round(receipts.applied / seconds, 1)]
    applied = [0] * full
    for when, count in receipts.arrivals:
        if (k := int((when - started) // interval)) < full:
            applied[k] += count
    return [round(a / interval, 1) for a in applied]


# ---- a run
def _tuning(args: argparse.Namespace) -> dict[str, int]:
    """The records queue settings given on the command line (the hub's defaults otherwise)."""
    names = ("records_prefetch", "records_batch_max_size", "records_batch_workers", "db_pool_size")
    return {k: getattr(args, k) for k in names if getattr(args, k) is not None}


async def run(args: argparse.Namespace) -> dict[str, Any]:
    rng, run_id = random.Random(args.seed), secrets.token_hex(4)
    db = args.keep_db or f"lrs_scale_{run_id}"  # matching_scale's prefix: its loader may replace it
    ao = Organisation(str(random.Random().randrange(100_000, 1_000_000)), OrganisationKind.AWARDING_ORGANISATION,
                      AO_NAME)  # fmt: skip
    s = Settings(database_url=PG + db, amqp_url=f"{AMQP}bench_{run_id}").model_copy(update=_tuning(args))
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
            await empty_plr(conn)
            learners = await sample_learners(conn, min(args.sample, args.register_size), rng)
        bodies = bulk_bodies(learners, args.bulk_size, run_id, rng)
        AchievementBulk.model_validate_json(next(bodies), strict=True)  # the generator keeps the contract
        log(f"{len(learners):,} learners drawn from the register for the achievements")

        # (a) the raw hop, before the hub starts, so the broker has the machine to itself.
        admin = await fresh_vhost(stack, s)
        hub_pub = await channel(stack, s.amqp_url, 100, confirms=True)  # as the hub's own user
        await declare_topology(hub_pub, s.delivery_limit)
        password = secrets.token_hex(8)
        stack.push_async_callback(admin.delete_user, ao.org_id)  # broker users are global: never leave one
        await add_organisation(pool, hub_pub, admin, ao, password)
        log(f"database {db}, vhost {s.vhost}, awarding organisation {ao.org_id}")
        raw_args = argparse.Namespace(window=args.raw_window, loop="closed", warmup=args.raw_warmup,
                                      messages=args.raw_messages)  # fmt: skip
        raw = await raw_hop(stack, hub_pub, s.amqp_url, raw_args)
        log(f"raw hop: {raw.msgs_per_s:,.0f} msgs/s")

        # (b) achievements as the awarding organisation, receipts read from its own queue.
        hub_pids = await start_hub(stack, s, args)
        await wait_for_consumer(hub_pub, RECORDS_QUEUE)
        ao_url = s.amqp_url_for(ao.org_id, password)
        ao_pub = await channel(stack, ao_url, 2 * args.window, confirms=True)
        ao_cons = await channel(stack, ao_url, 2 * args.window, confirms=False)
        inbound = await ao_pub.get_exchange(INBOUND_EXCHANGE, ensure=False)
        answers = await ao_cons.get_queue(outbound_queue_name(ao.org_id), ensure=False)

        async def load(seconds: float | None = None, count: int | None = None) -> tuple[Phase, Receipts, float, float]:
            receipts = Receipts(args.bulk_size)
            tag = await answers.consume(receipts.on_message)
            try:
                before = cpu_by_component(hub_pids)
                started, elapsed = await sustain(inbound, f"{ao.org_id}.{KIND}", ao.org_id, bodies, receipts,
                                                 args.window, hub_pids, seconds, count)  # fmt: skip
                ticks = cpu_by_component(hub_pids) - before
                # Receipts stands in for a Tracker: it has the latencies and codes a Phase reads.
                return Phase(elapsed, receipts, ticks), receipts, started, elapsed  # type: ignore[arg-type]
            finally:
                await answers.cancel(tag)

        if args.warmup:  # connections, prepared statements, caches: not measured
            await load(count=args.warmup)
        log(f"measuring for {args.duration} s, {args.window} bulk messages of {args.bulk_size} in flight")
        hub, receipts, started, seconds = await load(seconds=args.duration)
        if receipts.rejected:
            log(f"{receipts.rejected:,} achievements rejected (a bug in the generated data?); the first reasons:")
            for why in receipts.first_rejections:
                log(f"  {why}")
        facts |= {"learners_sampled": len(learners)}
    return report(args, facts, db, raw, hub, receipts, interval_rates(receipts, started, seconds, args.interval),
                  seconds, _tuning(args))  # fmt: skip


def report(args: argparse.Namespace, facts: dict[str, Any], db: str, raw: Phase, hub: Phase, receipts: Receipts,
           intervals: list[float], seconds: float, tuning: dict[str, int]) -> dict[str, Any]:  # fmt: skip
    per_s = receipts.applied / seconds
    return {
        "raw_msgs_per_s": round(raw.msgs_per_s, 1),
        "achievements_per_s": round(per_s, 1),
        "ratio": round(per_s / raw.msgs_per_s, 4),
        "p50_ms": hub.percentile_ms(0.50),
        "p99_ms": hub.percentile_ms(0.99),
        "register_size": args.register_size,
        "duration_s": args.duration,
        "measured_s": round(seconds, 1),
        "bulk_size": args.bulk_size,
        "window": args.window,
        "bulk_msgs_per_s": round(hub.msgs_per_s, 2),
        "bulk_messages": len(receipts.latencies),
        "applied": receipts.applied,
        "rejected": receipts.rejected,
        "first_rejections": receipts.first_rejections,
        "receipts_by_type": dict(receipts.codes),
        "interval_s": args.interval,
        "interval_achievements_per_s": intervals,
        "min_interval_achievements_per_s": min(intervals),
        "target_achievements_per_s": TARGET_PER_S,
        "meets_target": per_s >= TARGET_PER_S and args.duration >= TARGET_SECONDS and min(intervals) >= TARGET_PER_S,
        "raw_p50_ms": raw.percentile_ms(0.50),
        "raw_p99_ms": raw.percentile_ms(0.99),
        "raw_cpu_cores": raw.cpu_cores,
        "hub_cpu_cores": hub.cpu_cores,
        "hub_mode": args.hub_mode,
        "hub_processes": 0 if args.hub_mode == "in-process" else args.hub_processes,
        "hub_settings": tuning,  # only those given; the rest are adapters/settings.py's defaults
        "learners_sampled": facts["learners_sampled"],
        "register_load_seconds": facts["load_seconds"],
        "reused_database": facts["reused"],
        "database": db,
        "code": code_version(),
    }


def show(r: dict[str, Any]) -> None:
    hub = f"hub {r['hub_mode']} x{r['hub_processes']} {r['hub_settings'] or ''}"
    title = f"achievements: bulk {r['bulk_size']}, window {r['window']}, {r['duration_s']} s, "
    title += f"register {r['register_size']:,}, {hub}"
    t = Table("", "per s", "p50 ms", "p99 ms", "CPU cores used during the phase", title=title)
    t.add_row("raw broker hop (msgs)", f"{r['raw_msgs_per_s']:,}", str(r["raw_p50_ms"]), str(r["raw_p99_ms"]),
              str(r["raw_cpu_cores"]))  # fmt: skip
    t.add_row("hub achievements", f"{r['achievements_per_s']:,}", str(r["p50_ms"]), str(r["p99_ms"]),
              str(r["hub_cpu_cores"]))  # fmt: skip
    t.add_row("  bulk messages", f"{r['bulk_msgs_per_s']:,}", "", "", f"{r['bulk_messages']:,} answered")
    t.add_row("ratio achievements/raw msgs", str(r["ratio"]))
    t.add_row(f"per {r['interval_s']} s (min)", f"{r['min_interval_achievements_per_s']:,}", "", "",
              ", ".join(f"{x:,.0f}" for x in r["interval_achievements_per_s"]))  # fmt: skip
    t.add_row("applied / rejected", f"{r['applied']:,} / {r['rejected']:,}")
    verdict = "meets" if r["meets_target"] else "does not meet"
    t.add_row("target", f"{r['target_achievements_per_s']:,}", "", "",
              f"{verdict} >= {TARGET_PER_S:,}/s in every interval for >= {TARGET_SECONDS} s")  # fmt: skip
    Console(width=160).print(t)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--register-size", type=int, default=1_000_000, help="learners in the register")
    p.add_argument("--keep-db", metavar="NAME", help="keep the register (reused when it already holds N learners)")
    p.add_argument("--duration", type=float, default=TARGET_SECONDS, help="seconds of measured load")
    p.add_argument("--interval", type=float, default=60, help="seconds per interval of the sustained rate")
    p.add_argument("--window", type=int, default=4, help="bulk messages in flight (closed loop)")
    p.add_argument("--bulk-size", type=int, default=1000, help="achievements per bulk message (at most 1,000)")
    p.add_argument("--warmup", type=int, default=5, help="bulk messages before the measured phase")
    p.add_argument("--sample", type=int, default=100_000, help="learners drawn from the register to name")
    p.add_argument("--raw-messages", type=int, default=5000, help="measured messages of the raw hop")
    p.add_argument("--raw-window", type=int, default=64, help="raw messages in flight")
    p.add_argument("--raw-warmup", type=int, default=300)
    p.add_argument("--records-prefetch", type=int, help="LRS_RECORDS_PREFETCH for the hub")
    p.add_argument("--records-batch-max-size", type=int, help="LRS_RECORDS_BATCH_MAX_SIZE for the hub")
    p.add_argument("--records-batch-workers", type=int, help="LRS_RECORDS_BATCH_WORKERS for the hub")
    p.add_argument("--db-pool-size", type=int, help="LRS_DB_POOL_SIZE for the hub")
    p.add_argument("--hub-mode", choices=("subprocess", "in-process"), default="subprocess")
    p.add_argument("--hub-processes", type=int, default=1, help="`hub serve` processes (subprocess mode)")
    p.add_argument("--chunk", type=int, default=100_000, help="learners generated and COPYed at a time")
    p.add_argument("--seed", type=int, default=0, help="the register's and the sample's")
    args = p.parse_args()
    if not 1 <= args.bulk_size <= 1000:
        p.error("--bulk-size must be 1 to 1,000 (the contract's limit)")
    configure_logging(level="WARNING")
    use_run_keys()  # this process's own units of work seal and audit too
    result = asyncio.run(run(args))
    show(result)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
