"""Quick timing: one `learner.verify_batch.v1` of 5,000 items through hub.pipeline.inbound on PostgreSQL.

Three shapes, each handled --repeat times (a fresh message id each time) in its own transaction:
- `verified`: 5,000 different learners, all with their right details (the usual results day);
- `oracle`: one learner's ULN and names with 5,000 different dates of birth (the attack);
- `failing`: 5,000 different learners, each with a wrong date of birth (the most counting).
Prints the median and the slowest milliseconds of each, the median CPU milliseconds of this
process (the hub's share, steadier than wall time on a shared machine; PostgreSQL's is not in
it), and the audit entries one message wrote.
No broker: this measures the handler, the gate, the audit and the database, not the relay.
Run: cd /work/wt-verify && uv run python bench/verify_batch.py [--repeat 5]
"""

import argparse
import asyncio
import json
import secrets
import statistics
import sys
import time
import uuid
from datetime import date, timedelta
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: make the repository root importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import asyncpg

from adapters.postgres.audit import use_chain_keys
from adapters.postgres.migrate import apply_migrations
from adapters.postgres.sealing import DetailsSealer, use_sealer
from adapters.postgres.unit_of_work import PostgresUnitOfWork
from contracts.codes import OrganisationKind
from contracts.learner import LearnerDetails
from hub.kernel.audit import ChainKeys
from hub.kernel.model import Learner, Organisation
from hub.pipeline.inbound import InboundMessage, handle_inbound
from hub.register.uln import uln_for_issue_number

PG = "postgresql://postgres@127.0.0.1:5432/"
SIZE = 5000
BORN = date(2008, 4, 12)


def _learners() -> list[Learner]:
    ulns = (uln_for_issue_number(n) for n in range(700_000_000, 700_000_000 + 2 * SIZE))
    valid = [u for u in ulns if u is not None][:SIZE]
    return [
        Learner(
            uln,
            LearnerDetails(
                given_name="Amelia",
                family_name=f"Okafor{i}",
                date_of_birth=BORN,
                gender=2,
                last_known_postcode="SW1A 1AA",
                verification_type=1,
            ),
        )
        for i, uln in enumerate(valid)
    ]


def _shapes(learners: list[Learner]) -> dict[str, list[dict[str, Any]]]:
    def item(x: Learner, born: date) -> dict[str, Any]:
        return {
            "uln": x.uln,
            "given_name": "Amelia",
            "family_name": x.details.family_name,
            "date_of_birth": born.isoformat(),
        }

    first = learners[0]
    return {
        "verified": [item(x, BORN) for x in learners],
        "oracle": [item(first, BORN - timedelta(days=i - 2500)) for i in range(SIZE)],
        "failing": [item(x, BORN + timedelta(days=1)) for x in learners],
    }


async def _run(repeat: int) -> dict[str, Any]:
    db = f"lrs_bench_verify_{secrets.token_hex(4)}"
    # A new database each run: keys of the run's own.
    use_sealer(DetailsSealer(secrets.token_hex(32)))
    use_chain_keys(ChainKeys(secrets.token_hex(32)))
    admin = await asyncpg.connect(PG + "postgres")
    await admin.execute(f'CREATE DATABASE "{db}"')
    try:
        await asyncio.to_thread(apply_migrations, PG + db)
        pool = await asyncpg.create_pool(PG + db, min_size=1, max_size=2)
        assert pool is not None
        learners = _learners()
        college = Organisation("10030488", OrganisationKind.PROVIDER, "Bench College")
        async with PostgresUnitOfWork(pool) as uow:
            await uow.organisations.add(college)
            for x in learners:
                await uow.learners.add(x, college.org_id)
            await uow.commit()
        results: dict[str, Any] = {}
        for shape, items in _shapes(learners).items():
            timings, cpu_ms = [], []
            for _ in range(repeat):
                # A fresh awarding organisation each time: no attempts are left over from the last run.
                ao = Organisation(
                    str(100_000 + secrets.randbelow(900_000)), OrganisationKind.AWARDING_ORGANISATION, "Bench Awards"
                )
                async with PostgresUnitOfWork(pool) as uow:
                    await uow.organisations.add(ao)
                    await uow.commit()
                message = InboundMessage(
                    "lrs.records",
                    str(uuid.uuid4()),
                    "learner.verify_batch.v1",
                    ao.org_id,
                    json.dumps({"items": items}).encode(),
                )
                started, cpu = time.perf_counter(), time.process_time()
                await handle_inbound(lambda: PostgresUnitOfWork(pool), message)
                timings.append((time.perf_counter() - started) * 1000)
                cpu_ms.append((time.process_time() - cpu) * 1000)
            audited = await pool.fetchval(
                "SELECT count(*) FROM audit_log WHERE correlation_id = $1", message.message_id
            )
            results[shape] = {
                "median_ms": round(statistics.median(timings)),
                "max_ms": round(max(timings)),
                "hub_cpu_median_ms": round(statistics.median(cpu_ms)),
                "audit_entries": audited,
            }
        await pool.close()
        return results
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')
        await admin.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    for shape, figures in asyncio.run(_run(args.repeat)).items():
        print(f"{shape:10} {json.dumps(figures)}")


if __name__ == "__main__":
    main()
