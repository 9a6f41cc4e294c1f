"""Re-key the blocking index: learners indexed under an older set of keys get the current set.

The keys are the hub's (hub/register/blocking.py) and cannot be computed in SQL, so a migration that adds
a key only records which rows are behind (`learner.block_keys_version`); this brings them up.
"""

import json

import asyncpg

from adapters.postgres.repositories import block_key_hash
from contracts.learner import Demographics
from hub.register.blocking import BLOCK_KEYS_VERSION, details_block_keys

# The clear details hold every field the keys need; sealed fields are contact details (sealing.py).
_KEY_FIELDS = ("given_name", "family_name", "previous_family_name", "date_of_birth", "gender", "last_known_postcode")


def _demographics(details_json: str) -> Demographics:
    details = json.loads(details_json)
    return Demographics.model_validate({f: details[f] for f in _KEY_FIELDS if f in details})


async def reindex_block_keys(pool: asyncpg.Pool, chunk: int = 1000) -> int:
    """Index every learner behind BLOCK_KEYS_VERSION under the current keys; return how many.

    Idempotent and resumable: rows already current are not touched. Each chunk is one
    transaction holding its rows' locks, so a registration updating one of them meanwhile waits
    and then writes the current keys itself. Old keys stay where the new set keeps them.
    """
    done = 0
    after = ""
    while True:
        async with pool.acquire() as conn, conn.transaction():
            rows = await conn.fetch(
                "SELECT uln, details FROM learner WHERE uln > $1 AND block_keys_version < $2"
                " ORDER BY uln LIMIT $3 FOR UPDATE",
                after,
                BLOCK_KEYS_VERSION,
                chunk,
            )
            ulns = [r["uln"] for r in rows]
            await conn.execute("DELETE FROM learner_block WHERE uln = ANY($1::bpchar[])", ulns)
            await conn.executemany(
                "INSERT INTO learner_block (key_hash, uln) VALUES ($1, $2) ON CONFLICT DO NOTHING",
                [(block_key_hash(k), r["uln"]) for r in rows for k in details_block_keys(_demographics(r["details"]))],
            )
            await conn.execute(
                "UPDATE learner SET block_keys_version = $2 WHERE uln = ANY($1::bpchar[])", ulns, BLOCK_KEYS_VERSION
            )
        done += len(rows)
        if len(rows) < chunk:
            return done
        after = rows[-1]["uln"]
