"""Benchmark: find-by-demographics latency and throughput against a register of N learners.

Fills a fresh database with N synthetic learners (bench/synthetic.py: realistic names, postcodes,
twins), COPYing the `learner` rows and their `learner_block` keys as the hub writes them, with the
keys, indexes and foreign keys of those tables dropped during the COPY and rebuilt after (each
exactly as the migrations define it: checked). Then it asks the real code path,
`hub.register.registration.find_by_demographics` in a `PostgresUnitOfWork`, for registered learners (clean,
with a typo, moved, by a nickname) and for people who are not registered: (a) one client in
sequence, latency percentiles; (b) --clients at once for --seconds, finds per second.
Run: cd /work/main && uv run python bench/matching_scale.py --learners 1000000 [--clients 8] [--queries 2000]
     [--keep-db lrs_scale_10m]  (keep the database; reused as is when it already holds N learners)
     [--explain]  (EXPLAIN (ANALYZE, BUFFERS) of the repository's candidates SQL for one query, to stderr)
Stdout: a table, then one JSON line (last); its sql_* times are `candidates()`: the SQL and decoding
its rows into Learners. Progress goes to stderr.
"""

import argparse
import asyncio
import itertools
import json
import multiprocessing
import os
import secrets
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from multiprocessing.queues import Queue
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: make the repository root importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import asyncpg
from rich.console import Console
from rich.table import Table

from adapters.bootstrap import create_pool
from adapters.postgres.connection import AnyConnection
from adapters.postgres.migrate import apply_migrations
from adapters.postgres.repositories import (
    IssueNumbers,
    NameFrequencyCache,
    PostgresLearners,
    PostgresOrganisations,
    block_key_hash,
)
from adapters.postgres.unit_of_work import PostgresUnitOfWork
from adapters.settings import Settings
from bench.matching_quality import KINDS, UNSEEN_KINDS
from bench.registration import cpu_by_component
from bench.run_keys import use_run_keys
from bench.synthetic import PersonGenerator, SyntheticRegister, _RegisterBuilder
from contracts.codes import OrganisationKind
from contracts.learner import FindLearnerByDemographics, LearnerDetails
from hub.kernel.model import Learner, Organisation
from hub.register.blocking import learner_block_keys, query_block_keys
from hub.register.registration import find_by_demographics
from hub.register.uln import uln_for_issue_number

PG = "postgresql://postgres@127.0.0.1:5432/"
ORG = Organisation("10000001", OrganisationKind.PROVIDER, "Scale Bench College")
_COLUMNS = "uln status master_uln version details date_of_birth gender registered_by".split()
_BULK_TABLES = ["learner", "learner_block"]
# The query mix: mostly learners who are registered, as a provider's MIS mostly asks.
_MIX = {
    "clean": 35, "typo": 20, "nickname": 10, "moved_same_district": 10, "moved_elsewhere": 10, "not_registered": 15,
    "dob_replaced": 5,  # issue 13: found only by both names with the postcode district (blocking keys v2)
}  # fmt: skip


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# ---------------------------------------------------------------- filling the register
def _generate(n: int, seed: int, chunk: int, out: "Queue[Any]") -> None:
    """In its own process (the 2nd core): the register, `chunk` learners at a time, as COPY rows.

    `_RegisterBuilder` rather than `synthetic_register`: 10 million Learner objects at once
    would not fit in memory; the builder's households carry on across chunks.
    """
    builder, made = _RegisterBuilder(seed, crowding=1), 0
    while made < n:
        take = min(chunk, n - made)
        while len(builder.register.learners) < take:
            builder.add_family()
        batch = builder.register.learners[:take]
        builder.register = SyntheticRegister(builder.register.learners[take:])  # a family split by the chunk
        # In clear, as rows written before sealing (the hub reads both): these synthetic learners
        # have no contact details or notes, which are all sealing would take out of `details`.
        learners = [(x.uln, "active", None, 1, x.details.model_dump_json(exclude_none=True),
                     x.details.date_of_birth, x.details.gender, ORG.org_id) for x in batch]  # fmt: skip
        blocks = [(h, x.uln) for x in batch for h in {block_key_hash(k) for k in learner_block_keys(x)}]
        out.put((learners, blocks))
        made += take
    out.put(next(builder.issue_numbers) - 1)  # the last issue number used: the sequence goes on from it


async def keys_and_indexes(conn: asyncpg.Connection) -> list[tuple[str, str, str, str]]:
    """(kind, table, name, definition) of what slows a bulk load of the learner tables down."""
    rows = await conn.fetch(
        """
        SELECT CASE contype WHEN 'f' THEN 'fk' ELSE 'key' END, conrelid::regclass::text, conname::text,
               pg_get_constraintdef(oid)
        FROM pg_constraint
        WHERE contype IN ('p', 'u', 'f')
          AND (conrelid = ANY($1::text[]::regclass[]) OR confrelid = ANY($1::text[]::regclass[]))
        UNION ALL
        SELECT 'index', indrelid::regclass::text, indexrelid::regclass::text, pg_get_indexdef(indexrelid)
        FROM pg_index i
        WHERE indrelid = ANY($1::text[]::regclass[])
          AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid AND c.contype IN ('p', 'u'))
        ORDER BY 1, 2, 3
        """,
        _BULK_TABLES,
    )
    return [tuple(r) for r in rows]


async def fill(db: str, n: int, seed: int, chunk: int) -> dict[str, Any]:
    """Load `n` learners into the freshly migrated database `db`; return how long it took."""
    conn = await asyncpg.connect(PG + db)
    try:
        await PostgresOrganisations(conn).add(ORG)
        # A benchmark database: a lost last commit after a crash costs nothing. Sorting the index
        # builds in memory, and hashing the foreign key checks, is what makes them fast.
        await conn.execute("SET synchronous_commit = off; SET maintenance_work_mem = '4GB'; SET work_mem = '1GB'")
        schema = await keys_and_indexes(conn)
        # Checking a foreign key and inserting into three B-trees per row is most of the work of a
        # loaded COPY; sorting once afterwards is far cheaper. Foreign keys go first, then keys.
        for kind, table, name, _ in schema:
            drop = f"DROP INDEX {name}" if kind == "index" else f'ALTER TABLE {table} DROP CONSTRAINT "{name}"'
            await conn.execute(drop)
        started = phase = time.perf_counter()
        ctx = multiprocessing.get_context("spawn")  # not fork: this process has an event loop and sockets
        out: Queue[Any] = ctx.Queue(maxsize=2)  # generation runs at most two chunks ahead of the COPY
        worker = ctx.Process(target=_generate, args=(n, seed, chunk, out), daemon=True)
        worker.start()
        loaded = keys = 0
        while not isinstance(item := await asyncio.to_thread(out.get, True, 600), int):
            learners, blocks = item
            await conn.copy_records_to_table("learner", records=learners, columns=_COLUMNS)
            await conn.copy_records_to_table("learner_block", records=blocks, columns=["key_hash", "uln"])
            loaded, keys = loaded + len(learners), keys + len(blocks)
            rate = loaded / (time.perf_counter() - started)
            log(f"  {loaded:>11,} / {n:,} learners, {keys:,} keys, {rate:,.0f}/s, {(n - loaded) / rate:,.0f} s to go")
        worker.join(60)
        await conn.execute("SELECT setval('uln_issue_number', $1)", item)  # the hub never re-issues these
        copy_s, phase = time.perf_counter() - phase, time.perf_counter()
        for order in ("key", "index", "fk"):  # a foreign key needs the key it references
            for kind, table, name, definition in (s for s in schema if s[0] == order):
                log(f"  building {kind} {name} ...")
                await conn.execute(
                    definition if kind == "index" else f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}'
                )
        if await keys_and_indexes(conn) != schema:
            raise RuntimeError("the rebuilt keys and indexes differ from the migrations' schema")
        log(f"  {len(schema)} keys, indexes and foreign keys rebuilt as the migrations define them")
        keys_s, phase = time.perf_counter() - phase, time.perf_counter()
        # VACUUM as well as ANALYZE: it sets the visibility map, without which the learner_block
        # lookup cannot be an index-only scan, and sets hint bits now rather than in the first finds.
        await conn.execute("VACUUM (ANALYZE)")
        seconds = time.perf_counter() - started
        facts = {"learners": n, "block_keys": keys, "seed": seed, "load_seconds": round(seconds, 1),
                 "copy_seconds": round(copy_s, 1), "keys_seconds": round(keys_s, 1),
                 "vacuum_analyze_seconds": round(time.perf_counter() - phase, 1),
                 "rows_per_s": round((loaded + keys) / seconds)}  # fmt: skip
        # Kept with the database, so a reused register still says how long it took to load.
        await conn.execute(f"COMMENT ON DATABASE \"{db}\" IS '{json.dumps(facts)}'")
        return facts
    finally:
        await conn.close()


async def open_register(args: argparse.Namespace) -> tuple[str, dict[str, Any]]:
    """The database to measure, loaded with --learners learners, and how long the load took."""
    db = args.keep_db or f"lrs_scale_{secrets.token_hex(4)}"
    admin = await asyncpg.connect(PG + "postgres")
    try:
        comment = await admin.fetchval(
            "SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = $1", db
        )
        exists = await admin.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", db)
        facts = json.loads(comment) if comment and comment.startswith("{") else {}
        if facts.get("learners") == args.learners:  # written only once a load has finished
            log(f"database {db}: reused, {args.learners:,} learners loaded in {facts['load_seconds']} s")
            return db, facts | {"reused": True}
        if exists:  # a load that did not finish, or another size: only ever one of ours
            if not db.startswith(("lrs_scale", "lrs_bench")):  # names the benchmarks give
                raise SystemExit(f"{db} exists and does not hold {args.learners:,} learners; not dropping it")
            await admin.execute(f'DROP DATABASE "{db}" WITH (FORCE)')
        await admin.execute(f'CREATE DATABASE "{db}"')
    finally:
        await admin.close()
    await asyncio.to_thread(apply_migrations, PG + db)
    log(f"database {db}: migrated, loading {args.learners:,} learners")
    return db, await fill(db, args.learners, args.seed, args.chunk) | {"reused": False}


# ---------------------------------------------------------------- queries
@dataclass(frozen=True)
class Find:
    kind: str
    request: FindLearnerByDemographics
    right_uln: str | None  # who it describes; None: not registered


async def make_finds(conn: AnyConnection, count: int, seed: int) -> list[Find]:
    """`count` finds in the mix of _MIX, from learners drawn at random from the register itself.

    Drawn from the database, not the generator, so a kept register needs no regenerating. The
    corruptions are matching_quality's; a nickname applies to few names, so more are drawn.
    """
    gen = PersonGenerator(f"{seed}:scale")
    last = await conn.fetchval("SELECT last_value FROM uln_issue_number")
    ulns = {u for u in (uln_for_issue_number(gen.rng.randint(1, last)) for _ in range(4 * count)) if u}
    rows = await conn.fetch("SELECT uln, details FROM learner WHERE uln = ANY($1) ORDER BY uln", list(ulns))
    learners = [Learner(r["uln"], LearnerDetails.model_validate_json(r["details"])) for r in rows]
    gen.rng.shuffle(learners)
    pool, nobody = iter(learners), SyntheticRegister([])
    finds = []
    for kind in gen.rng.choices(list(_MIX), weights=list(_MIX.values()), k=count):
        q = next((q for learner in pool if (q := (KINDS | UNSEEN_KINDS)[kind](gen, learner, nobody)) is not None), None)
        if q is None:
            break  # out of drawn learners: fewer finds, said in the table
        right = q.right.uln if q.right else None
        finds.append(Find(kind, FindLearnerByDemographics(ukprn=ORG.org_id, demographics=q.demographics), right))
    return finds


# ---------------------------------------------------------------- measuring
@dataclass
class Stats:
    latency: list[float] = field(default_factory=list)  # whole find: transaction, SQL, matching, commit
    sql: list[float] = field(default_factory=list)  # candidates(): the SQL, and its rows made Learners
    candidates: list[int] = field(default_factory=list)
    block_rows: list[int] = field(default_factory=list)  # learner_block rows the keys select: the index rows read
    codes: Counter[str] = field(default_factory=Counter)
    registered: int = 0
    right_found: int = 0

    def ms(self, values: list[float], q: float) -> float:
        ordered = sorted(values)
        return round(ordered[min(len(ordered) - 1, int(len(ordered) * q))] * 1000, 2) if ordered else 0.0


class _Timed:
    """The unit of work's learner repository, timing `candidates` (the SQL) and counting its rows."""

    def __init__(self, inner: PostgresLearners, stats: Stats) -> None:
        self._inner, self._stats = inner, stats

    async def candidates(self, block_keys: set[str]) -> list[Learner]:
        started = time.perf_counter()
        found = await self._inner.candidates(block_keys)
        self._stats.sql.append(time.perf_counter() - started)
        self._stats.candidates.append(len(found))
        # Counted apart, after the timing: how many index rows the keys select before GROUP BY and LIMIT.
        self._stats.block_rows.append(
            await self._inner._conn.fetchval(
                "SELECT count(*) FROM learner_block WHERE key_hash = ANY($1::bigint[])",
                [block_key_hash(k) for k in block_keys],
            )
        )
        return found

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


async def find(pool: asyncpg.Pool, frequencies: NameFrequencyCache, f: Find, stats: Stats) -> None:
    started = time.perf_counter()
    async with PostgresUnitOfWork(pool, frequencies=frequencies) as uow:
        uow.learners = _Timed(uow.learners, stats)  # type: ignore[assignment]
        answer = await find_by_demographics(uow, ORG, f.request, datetime.now(UTC))
        await uow.commit()  # an exact match links the learner to the provider: a write
    stats.latency.append(time.perf_counter() - started)
    stats.codes[answer.code.value] += 1
    if f.right_uln:
        stats.registered += 1
        stats.right_found += f.right_uln in {answer.uln, *(c.learner.uln for c in answer.candidates)}


async def sequential(pool: asyncpg.Pool, frequencies: NameFrequencyCache, finds: list[Find], warmup: int) -> Stats:
    for f in finds[:warmup]:  # connections, prepared statements, the hot part of the indexes
        await find(pool, frequencies, f, Stats())
    stats = Stats()
    for f in finds[warmup:]:
        await find(pool, frequencies, f, stats)
    return stats


async def throughput(
    pool: asyncpg.Pool, frequencies: NameFrequencyCache, finds: list[Find], clients: int, seconds: float
) -> tuple[Stats, float, dict[str, float]]:
    stats, todo = Stats(), itertools.cycle(finds)
    deadline = time.perf_counter() + seconds

    async def client() -> None:
        while time.perf_counter() < deadline:
            await find(pool, frequencies, next(todo), stats)

    before, started = cpu_by_component(()), time.perf_counter()
    await asyncio.gather(*(client() for _ in range(clients)))
    elapsed = time.perf_counter() - started
    ticks = cpu_by_component(()) - before
    cores = {k: round(v / os.sysconf("SC_CLK_TCK") / elapsed, 2) for k, v in ticks.items()}
    return stats, elapsed, cores


async def explain(pool: asyncpg.Pool, f: Find) -> str:
    """The plan of the repository's own candidates SQL for `f` (run through a stand-in connection)."""

    class Explaining:
        def __init__(self, conn: AnyConnection) -> None:
            self.conn, self.plan = conn, ""

        async def fetch(self, sql: str, *args: Any) -> list[Any]:
            self.plan = "\n".join(r[0] for r in await self.conn.fetch("EXPLAIN (ANALYZE, BUFFERS) " + sql, *args))
            return []

    async with pool.acquire() as conn:
        stand_in = Explaining(conn)
        # A stand-in, not a connection: `candidates` only calls its `fetch`.
        learners = PostgresLearners(stand_in, IssueNumbers())  # type: ignore[arg-type]
        await learners.candidates(query_block_keys(f.request.demographics))
        return stand_in.plan


# ---------------------------------------------------------------- report
def code_version() -> str:
    """The commit measured, "+dirty" when hub/ or adapters/ have uncommitted changes (others edit them)."""
    git = ["git", "-C", str(Path(__file__).resolve().parent.parent)]
    head = subprocess.run([*git, "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
    dirty = subprocess.run([*git, "status", "--porcelain", "hub", "adapters"], capture_output=True, text=True).stdout
    return head + ("+dirty" if dirty.strip() else "")


def report(args: argparse.Namespace, db: str, facts: dict[str, Any], seq: Stats, load: Stats,
           elapsed: float, cores: dict[str, float]) -> dict[str, Any]:  # fmt: skip
    n = len(seq.latency)
    summary = {
        "learners": args.learners,
        "load_seconds": facts["load_seconds"],
        "load_rows_per_s": facts["rows_per_s"],
        "block_keys": facts["block_keys"],
        "reused_database": facts["reused"],
        "queries": n,
        "p50_ms": seq.ms(seq.latency, 0.5),
        "p95_ms": seq.ms(seq.latency, 0.95),
        "p99_ms": seq.ms(seq.latency, 0.99),
        "sql_p50_ms": seq.ms(seq.sql, 0.5),
        "sql_p95_ms": seq.ms(seq.sql, 0.95),
        "sql_p99_ms": seq.ms(seq.sql, 0.99),
        "mean_candidates": round(sum(seq.candidates) / n, 1),
        "p99_candidates": sorted(seq.candidates)[min(n - 1, int(n * 0.99))],
        "max_candidates": max(seq.candidates),
        "at_limit_200": sum(c >= 200 for c in seq.candidates),
        "mean_block_rows": round(sum(seq.block_rows) / n, 1),
        "p95_block_rows": sorted(seq.block_rows)[min(n - 1, int(n * 0.95))],
        "p99_block_rows": sorted(seq.block_rows)[min(n - 1, int(n * 0.99))],
        "max_block_rows": max(seq.block_rows),  # the SQL's LIMIT may have cut these
        "right_found_rate": round(seq.right_found / max(1, seq.registered), 4),
        "codes": dict(seq.codes.most_common()),
        "clients": args.clients,
        "finds_per_s": round(len(load.latency) / elapsed, 1),
        "loaded_p50_ms": load.ms(load.latency, 0.5),
        "loaded_p99_ms": load.ms(load.latency, 0.99),
        "cpu_cores": cores,
        "name_frequencies_seconds": facts["name_frequencies_seconds"],
        "database": db,
        "code": code_version(),
    }
    t = Table(title=f"find by demographics: {args.learners:,} learners ({summary['block_keys']:,} blocking keys)")
    t.add_column("measure")
    t.add_column("value", justify="right")
    loaded = "reused: " if facts["reused"] else ""
    phases = (
        f"COPY {facts['copy_seconds']} s, keys {facts['keys_seconds']} s, VACUUM {facts['vacuum_analyze_seconds']} s"
    )
    t.add_row("load", f"{loaded}{facts['load_seconds']:,} s ({phases}), {facts['rows_per_s']:,} rows/s")
    t.add_row(
        "one client: find p50 / p95 / p99",
        f"{summary['p50_ms']} / {summary['p95_ms']} / {summary['p99_ms']} ms ({n:,} finds)",
    )
    t.add_row(
        "  of which candidates() (SQL, rows decoded)",
        f"{summary['sql_p50_ms']} / {summary['sql_p95_ms']} / {summary['sql_p99_ms']} ms",
    )
    t.add_row(
        "candidates mean / p99 / max",
        f"{summary['mean_candidates']} / {summary['p99_candidates']} / {summary['max_candidates']}"
        f" ({summary['at_limit_200']} at the LIMIT of 200)",
    )
    t.add_row(
        "learner_block rows read mean / p95 / p99 / max",
        f"{summary['mean_block_rows']} / {summary['p95_block_rows']} / {summary['p99_block_rows']}"
        f" / {summary['max_block_rows']}",
    )
    t.add_row("right learner found (registered)", f"{summary['right_found_rate']:.2%} of {seq.registered:,}")
    t.add_row("answers", ", ".join(f"{k} {v}" for k, v in summary["codes"].items()))
    t.add_row(
        f"{args.clients} clients: finds/s",
        f"{summary['finds_per_s']:,} (p50 {summary['loaded_p50_ms']} ms, p99 {summary['loaded_p99_ms']} ms)",
    )
    t.add_row("  CPU cores used", ", ".join(f"{k} {v}" for k, v in cores.items()))
    Console(file=sys.stdout, width=160).print(t)
    return summary


async def run(args: argparse.Namespace) -> dict[str, Any]:
    db, facts = await open_register(args)
    try:
        pool = await create_pool(Settings(database_url=PG + db, db_pool_size=args.clients))  # the hub's own pool
        try:
            async with pool.acquire() as conn:
                finds = await make_finds(conn, args.warmup + args.queries + args.throughput_finds, args.seed)
            warm_and_seq = finds[: args.warmup + args.queries]
            log(f"{len(finds):,} finds made; {args.queries:,} from one client after {args.warmup} to warm up")
            # As the hub does: one cache per process, filled by a scan of the whole register (hourly
            # in the hub, in the background); done before timing, so no find waits for it.
            frequencies, started = NameFrequencyCache(pool), time.perf_counter()
            await frequencies.refresh()
            facts["name_frequencies_seconds"] = round(time.perf_counter() - started, 1)
            log(f"name frequencies of the register counted in {facts['name_frequencies_seconds']} s")
            seq = await sequential(pool, frequencies, warm_and_seq, args.warmup)
            log(f"{args.clients} clients for {args.seconds} s")
            todo = finds[len(warm_and_seq) :]
            load, elapsed, cores = await throughput(pool, frequencies, todo, args.clients, args.seconds)
            if args.explain:  # the find whose candidate count is the 95th percentile: the tail, not the norm
                ranked = sorted(range(len(seq.candidates)), key=seq.candidates.__getitem__)
                f = warm_and_seq[args.warmup + ranked[int(len(ranked) * 0.95)]]
                log(f"EXPLAIN for a {f.kind} find ({seq.candidates[ranked[int(len(ranked) * 0.95)]]} candidates):")
                log(await explain(pool, f))
        finally:
            await pool.close()
        return report(args, db, facts, seq, load, elapsed, cores)
    finally:
        if not args.keep_db:
            admin = await asyncpg.connect(PG + "postgres")
            await admin.execute(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')
            await admin.close()


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--learners", type=int, required=True)
    p.add_argument("--clients", type=int, default=8)
    p.add_argument("--queries", type=int, default=2000, help="finds timed from one client")
    p.add_argument("--warmup", type=int, default=200)
    p.add_argument("--seconds", type=float, default=20, help="how long the concurrent clients run")
    p.add_argument("--throughput-finds", type=int, default=5000, help="distinct finds the clients cycle through")
    p.add_argument("--keep-db", metavar="NAME", help="keep the database (reused when it already holds N learners)")
    p.add_argument("--chunk", type=int, default=100_000, help="learners generated and COPYed at a time")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--explain", action="store_true")
    args = p.parse_args()
    use_run_keys()  # this process's own units of work seal and audit too
    print(json.dumps(asyncio.run(run(args))))


if __name__ == "__main__":
    main()
