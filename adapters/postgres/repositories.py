"""asyncpg implementations of the hub's repositories, each bound to one transaction's connection."""

import asyncio
import hashlib
import json
import math
import time
from collections.abc import Callable, Sequence
from datetime import date
from typing import Any

import asyncpg
import structlog

from adapters.postgres.connection import AnyConnection
from adapters.postgres.sealing import DetailsSealer, Sealed, process_sealer
from contracts.codes import OrganisationKind
from contracts.learner import LearnerDetails
from hub.kernel.errors import TransientError
from hub.kernel.model import Learner, LearnerStatus, Organisation, OrganisationStatus
from hub.kernel.ports import BatchRowOutcome, InboxKey, InboxRecord
from hub.register.blocking import BLOCK_KEYS_VERSION, learner_block_keys
from hub.register.frequencies import NO_FREQUENCIES, NameFrequencies

log = structlog.get_logger("lrs.register")
_CANDIDATE_CAP = 200
_BIRTH_LOCK_SPACE = 7_411_002  # first key of the two-key advisory locks on dates of birth
_LEARNER_COLUMNS = """
    uln, status, master_uln, version, details, sealed_fields, sealed_key,
    ARRAY(SELECT l.uln FROM learner l WHERE l.master_uln = learner.uln ORDER BY l.uln) AS linked_ulns
"""


def _learner(row: asyncpg.Record, sealer: Callable[[], DetailsSealer]) -> Learner:
    if row["sealed_key"] is None:  # written before details were sealed (`hub learners seal`)
        details = LearnerDetails.model_validate_json(row["details"])
    else:
        sealed = Sealed(row["sealed_fields"], row["sealed_key"])
        details = LearnerDetails.model_validate(sealer().open(row["uln"], json.loads(row["details"]), sealed))
    return Learner(
        uln=row["uln"],
        details=details,
        version=row["version"],
        status=LearnerStatus(row["status"]),
        master_uln=row["master_uln"],
        linked_ulns=list(row["linked_ulns"]),
    )


class IssueNumbers:
    """ULN issue numbers taken from the sequence in blocks: one round trip per block, not per ULN.

    Shared by a process's units of work. A number is never handed out twice; the few left in a
    block when the process stops are simply never used (the space has 900 million).
    """

    def __init__(self, block: int = 50) -> None:
        self._block = block
        self._free: list[int] = []

    async def next(self, conn: AnyConnection) -> int:
        if not self._free:
            rows = await conn.fetch("SELECT nextval('uln_issue_number') FROM generate_series(1, $1)", self._block)
            self._free.extend(r[0] for r in reversed(rows))
        return self._free.pop()


class NameFrequencyCache:
    """The register's name frequencies, shared by a process, refreshed in the background.

    PostgreSQL groups names lower-cased; Python folds the groups as matching normalises names.
    A search never waits for a refresh: until the first one ends it sees no frequencies, which
    only leaves possible-match scores unadjusted.
    """

    def __init__(self, pool: asyncpg.Pool | None, max_age_s: float = 3600) -> None:
        self._pool = pool
        self._max_age_s = max_age_s
        self.current = NO_FREQUENCIES
        self._loaded_at = -math.inf
        self._refreshing: asyncio.Task[None] | None = None

    def get(self) -> NameFrequencies:
        stale = time.monotonic() - self._loaded_at > self._max_age_s
        if self._pool is not None and stale and (self._refreshing is None or self._refreshing.done()):
            self._refreshing = asyncio.create_task(self.refresh())
        return self.current

    async def refresh(self) -> None:
        assert self._pool is not None
        self._loaded_at = time.monotonic()
        try:
            rows = await self._pool.fetch(
                "SELECT lower(details->>'given_name'), lower(details->>'family_name'), count(*) "
                "FROM learner WHERE status = 'active' GROUP BY 1, 2"
            )
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as e:
            # Matching goes on with the frequencies it had; the next search tries again.
            log.warning("name frequencies not refreshed", error=type(e).__name__)
            self._loaded_at = -math.inf
            return
        self.current = NameFrequencies.of_names((r[0], r[1], r[2]) for r in rows)


class PostgresLearners:
    """The Learner Register; contact details and notes are sealed on write and opened on read (sealing.py)."""

    def __init__(
        self,
        conn: AnyConnection,
        issue_numbers: IssueNumbers,
        frequencies: NameFrequencyCache | None = None,
        sealer: DetailsSealer | None = None,
    ) -> None:
        self._conn = conn
        self._given_sealer = sealer
        self._issue_numbers = issue_numbers
        self._frequencies = frequencies or NameFrequencyCache(None)
        # Links made in this transaction, written together at commit (`flush`).
        self._new_links: set[tuple[str, str]] = set()

    def _sealer(self) -> DetailsSealer:
        return self._given_sealer or process_sealer()

    def _sealed(self, learner: Learner) -> tuple[str, Sealed]:
        clear, sealed = self._sealer().seal(learner.uln, learner.details.model_dump(mode="json", exclude_none=True))
        return dumps(clear), sealed

    async def get(self, uln: str) -> Learner | None:
        row = await self._conn.fetchrow(f"SELECT {_LEARNER_COLUMNS} FROM learner WHERE uln = $1", uln)
        return _learner(row, self._sealer) if row else None

    async def get_many(self, ulns: Sequence[str]) -> dict[str, Learner]:
        # bpchar[], not text[]: `uln` is char(10), and comparing it with text would skip its index.
        query = f"SELECT {_LEARNER_COLUMNS} FROM learner WHERE uln = ANY($1::bpchar[])"
        rows = await self._conn.fetch(query, list(ulns))
        return {r["uln"]: _learner(r, self._sealer) for r in rows}

    async def candidates(self, block_keys: set[str]) -> list[Learner]:
        # A common name can block together hundreds of learners; past the cap, keep those sharing
        # the most keys with the query, which the right learner does, rather than any 200.
        rows = await self._conn.fetch(
            f"""
            SELECT {_LEARNER_COLUMNS} FROM learner
            JOIN (
                SELECT uln, count(*) AS shared FROM learner_block WHERE key_hash = ANY($1::bigint[])
                GROUP BY uln ORDER BY shared DESC, uln LIMIT {_CANDIDATE_CAP}
            ) AS blocked USING (uln)
            WHERE status = 'active'
            """,
            [block_key_hash(k) for k in block_keys],
        )
        return [_learner(r, self._sealer) for r in rows]

    async def _index(self, learner: Learner, replace: bool) -> None:
        if replace:  # an update: its old keys go first
            await self._conn.execute("DELETE FROM learner_block WHERE uln = $1", learner.uln)
        await self._conn.executemany(
            "INSERT INTO learner_block (key_hash, uln) VALUES ($1, $2) ON CONFLICT DO NOTHING",
            [(block_key_hash(k), learner.uln) for k in learner_block_keys(learner)],
        )

    async def add(self, learner: Learner, registered_by: str) -> None:
        clear, sealed = self._sealed(learner)
        await self._conn.execute(
            """
            INSERT INTO learner (uln, status, master_uln, version, details, sealed_fields, sealed_key, date_of_birth,
                                 gender, registered_by, block_keys_version, created_at)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, clock_timestamp())
            """,
            learner.uln,
            learner.status.value,
            learner.master_uln,
            learner.version,
            clear,
            sealed.token,
            sealed.key_id,
            learner.details.date_of_birth,
            learner.details.gender,
            registered_by,
            BLOCK_KEYS_VERSION,
        )
        await self._index(learner, replace=False)

    async def update(self, learner: Learner) -> None:
        clear, sealed = self._sealed(learner)
        # Version n+1 replaces version n only. The hub refuses an update naming a version other
        # than the one it read, but two providers' updates read at once would both pass that and
        # the second would silently undo the first; here it waits for the first's row lock, then
        # changes nothing, and is retried afresh (to be answered "changed since").
        status = await self._conn.execute(
            """
            UPDATE learner SET version = $2, details = $3, sealed_fields = $4, sealed_key = $5, date_of_birth = $6,
                gender = $7, block_keys_version = $8, updated_at = now()
            WHERE uln = $1 AND version = $2 - 1
            """,
            learner.uln,
            learner.version,
            clear,
            sealed.token,
            sealed.key_id,
            learner.details.date_of_birth,
            learner.details.gender,
            BLOCK_KEYS_VERSION,
        )
        if status.endswith(" 0"):
            raise TransientError(f"learner changed concurrently (version {learner.version} not applied)")
        await self._index(learner, replace=True)

    async def link(self, uln: str, master_uln: str | None) -> None:
        await self._conn.execute(
            "UPDATE learner SET status = $2, master_uln = $3, updated_at = now() WHERE uln = $1",
            uln,
            "linked" if master_uln else "active",
            master_uln,
        )

    async def name_frequencies(self) -> NameFrequencies:
        return self._frequencies.get()

    async def record_override(self, uln: str, org_id: str, reason: str, candidate_ulns: list[str]) -> None:
        await self._conn.execute(
            "INSERT INTO registration_override (uln, org_id, reason, candidate_ulns) VALUES ($1, $2, $3, $4)",
            uln,
            org_id,
            reason,
            candidate_ulns,
        )

    async def recent(self, limit: int) -> list[str]:
        # created_at is the time of each insert (not of its transaction): a batch's registrations are in order too.
        rows = await self._conn.fetch(
            "SELECT uln FROM learner WHERE status = 'active' ORDER BY created_at DESC, uln LIMIT $1", limit
        )
        return [r[0] for r in rows]

    async def next_issue_number(self) -> int:
        return await self._issue_numbers.next(self._conn)

    async def lock_births_on(self, born: date) -> None:
        await self._conn.execute("SELECT pg_advisory_xact_lock($1, $2)", _BIRTH_LOCK_SPACE, born.toordinal())

    async def link_provider(self, uln: str, org_id: str) -> None:
        self._new_links.add((uln, org_id))

    async def is_linked(self, uln: str, org_id: str) -> bool:
        if (uln, org_id) in self._new_links:
            return True
        found = await self._conn.fetchval("SELECT 1 FROM learner_provider WHERE uln = $1 AND org_id = $2", uln, org_id)
        return found is not None

    async def registered_by(self, uln: str) -> str | None:
        found: str | None = await self._conn.fetchval("SELECT registered_by FROM learner WHERE uln = $1", uln)
        return found

    async def flush(self) -> None:
        if self._new_links:
            await self._conn.executemany(
                "INSERT INTO learner_provider (uln, org_id) VALUES ($1, $2) ON CONFLICT DO NOTHING", self._new_links
            )
            self._new_links.clear()


def block_key_hash(key: str) -> int:
    """A blocking key as a signed 64-bit hash: an eighth of the text's size in the index."""
    return int.from_bytes(hashlib.blake2b(key.encode(), digest_size=8).digest(), "big", signed=True)


class PostgresOrganisations:
    def __init__(self, conn: AnyConnection) -> None:
        self._conn = conn
        # Read once per transaction: a batch of messages usually comes from one sender.
        self._seen: dict[str, Organisation | None] = {}

    async def get(self, org_id: str) -> Organisation | None:
        if org_id not in self._seen:
            row = await self._conn.fetchrow(
                "SELECT org_id, kind, name, status FROM organisation WHERE org_id = $1", org_id
            )
            self._seen[org_id] = (
                None
                if row is None
                else Organisation(
                    row["org_id"], OrganisationKind(row["kind"]), row["name"], OrganisationStatus(row["status"])
                )
            )
        return self._seen[org_id]

    async def add(self, organisation: Organisation) -> None:
        self._seen.pop(organisation.org_id, None)
        await self._conn.execute(
            """
            INSERT INTO organisation (org_id, kind, name, status) VALUES ($1, $2, $3, $4)
            ON CONFLICT (org_id) DO UPDATE
                SET kind = EXCLUDED.kind, name = EXCLUDED.name, status = EXCLUDED.status, updated_at = now()
            """,
            organisation.org_id,
            organisation.kind.value,
            organisation.name,
            organisation.status.value,
        )

    async def list(self) -> list[Organisation]:
        rows = await self._conn.fetch("SELECT org_id, kind, name, status FROM organisation ORDER BY org_id")
        return [Organisation(r[0], OrganisationKind(r[1]), r[2], OrganisationStatus(r[3])) for r in rows]


class PostgresInbox:
    def __init__(self, conn: AnyConnection) -> None:
        self._conn = conn
        # Records of this transaction, inserted together at commit (`flush`).
        self._new: dict[InboxKey, InboxRecord] = {}
        # What `prefetch` found (None: looked up, not there).
        self._known: dict[InboxKey, InboxRecord | None] = {}

    async def prefetch(self, keys: Sequence[InboxKey]) -> None:
        rows = await self._conn.fetch(
            "SELECT i.consumer, i.sender, i.message_id, i.body_sha256, i.dead_letter_reason"
            " FROM unnest($1::text[], $2::text[], $3::text[]) AS k (consumer, sender, message_id)"
            " JOIN inbox i USING (consumer, sender, message_id)",
            [k.consumer for k in keys],
            [k.sender for k in keys],
            [k.message_id for k in keys],
        )
        self._known.update(dict.fromkeys(keys, None))
        self._known.update({InboxKey(r[0], r[1], r[2]): InboxRecord(r[3], r[4]) for r in rows})

    async def get(self, key: InboxKey) -> InboxRecord | None:
        if key in self._new:
            return self._new[key]
        if key in self._known:
            return self._known[key]
        row = await self._conn.fetchrow(
            "SELECT body_sha256, dead_letter_reason FROM inbox WHERE consumer = $1 AND sender = $2 AND message_id = $3",
            key.consumer,
            key.sender,
            key.message_id,
        )
        return InboxRecord(row[0], row[1]) if row else None

    async def record(self, key: InboxKey, record: InboxRecord) -> None:
        self._new[key] = record

    async def forget(self, key: InboxKey) -> None:
        self._new.pop(key, None)
        self._known.pop(key, None)
        await self._conn.execute(
            "DELETE FROM inbox WHERE consumer = $1 AND sender = $2 AND message_id = $3",
            key.consumer,
            key.sender,
            key.message_id,
        )

    async def flush(self) -> None:
        if not self._new:
            return
        try:
            await self._conn.executemany(
                "INSERT INTO inbox (consumer, sender, message_id, body_sha256, dead_letter_reason)"
                " VALUES ($1, $2, $3, $4, $5)",
                [
                    (k.consumer, k.sender, k.message_id, r.body_sha256, r.dead_letter_reason)
                    for k, r in self._new.items()
                ],
            )
        except asyncpg.UniqueViolationError as e:
            # A concurrent delivery of the same message won; this transaction rolls back and,
            # retried, finds the inbox row and is skipped.
            raise TransientError("same message handled concurrently") from e
        self._new.clear()


class PostgresBatches:
    def __init__(self, conn: AnyConnection) -> None:
        self._conn = conn

    async def record_row(self, outcome: BatchRowOutcome) -> None:
        await self._conn.execute(
            "INSERT INTO batch (batch_id, org_id, total_rows) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
            outcome.batch_id,
            outcome.org_id,
            outcome.total_rows,
        )
        await self._conn.execute(
            """
            INSERT INTO batch_row (batch_id, row_number, return_code, response_code, uln, reason, mis_identifier)
            VALUES ($1, $2, $3, $4, $5, $6, $7)
            ON CONFLICT (batch_id, row_number) DO UPDATE SET return_code = EXCLUDED.return_code,
                response_code = EXCLUDED.response_code, uln = EXCLUDED.uln, reason = EXCLUDED.reason,
                mis_identifier = EXCLUDED.mis_identifier, answered_at = now()
            """,
            outcome.batch_id,
            outcome.row_number,
            outcome.return_code,
            outcome.response_code,
            outcome.uln,
            outcome.reason,
            outcome.mis_identifier,
        )


def dumps(value: Any) -> str:
    """JSON for jsonb parameters."""
    return json.dumps(value, separators=(",", ":"))
