"""asyncpg implementation of the Personal Learning Records (hub.kernel.ports.LearningEvents).

Entries saved in a transaction are buffered and written at commit in one statement (a bulk
of 1,000 achievements is one INSERT ... ON CONFLICT, not 1,000); reads in the same
transaction see the buffered ones first, so a submission and its amendment in one batch of
messages find each other. `by_source` locks the rows it returns until commit: two
transactions amending the same entry apply in turn, each seeing the other's version.

Entries and challenges are kept and handed out as copies, as rows would be: a caller changing
one it saved or read changes nothing until it saves it (again).
"""

import copy
import json
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import asyncpg

from adapters.postgres.connection import AnyConnection
from hub.kernel.model import Challenge, ChallengeStatus, EventKind, LearningEvent

_EVENT_COLUMNS = (
    "event_id::text, uln, kind, source_org, source_ref, version, fields, withdrawn, withdrawn_reason, "
    "under_challenge, loaded_at, updated_at"
)
_CHALLENGE_COLUMNS = (
    "challenge_id::text, event_id::text, uln, raised_by, reason, raised_at, status, resolution, resolved_at"
)


def _event(row: asyncpg.Record) -> LearningEvent:
    return LearningEvent(
        event_id=row["event_id"],
        uln=row["uln"],
        kind=EventKind(row["kind"]),
        source_org=row["source_org"],
        source_ref=row["source_ref"],
        version=row["version"],
        fields=json.loads(row["fields"]),
        withdrawn=row["withdrawn"],
        withdrawn_reason=row["withdrawn_reason"],
        under_challenge=row["under_challenge"],
        loaded_at=row["loaded_at"],
        updated_at=row["updated_at"],
    )


def _copy(event: LearningEvent) -> LearningEvent:
    return replace(event, fields=copy.deepcopy(event.fields))


# Where an entry not yet loaded (saved in this transaction without a load date) sorts: last.
_NOT_YET_LOADED = datetime.max.replace(tzinfo=UTC)


def _challenge(row: asyncpg.Record) -> Challenge:
    return Challenge(
        challenge_id=row["challenge_id"],
        event_id=row["event_id"],
        uln=row["uln"],
        raised_by=row["raised_by"],
        reason=row["reason"],
        raised_at=row["raised_at"],
        status=ChallengeStatus(row["status"]),
        resolution=row["resolution"],
        resolved_at=row["resolved_at"],
    )


class PostgresLearningEvents:
    def __init__(self, conn: AnyConnection) -> None:
        self._conn = conn
        self._pending: dict[str, LearningEvent] = {}  # by event_id, written at `flush`
        self._challenges: dict[str, Challenge] = {}

    def _pending_by_source(self, source_org: str, kind: EventKind) -> dict[str, LearningEvent]:
        return {e.source_ref: _copy(e) for e in self._pending.values() if e.source_org == source_org and e.kind == kind}

    async def by_source(self, source_org: str, kind: EventKind, refs: Sequence[str]) -> dict[str, LearningEvent]:
        # One lookup of the unique index per ref, in the order given (callers sort them, so two
        # transactions lock in the same order). Not `source_ref = ANY(...)`: for that a generic plan
        # may search the index by (source_org, kind) alone and filter every entry the sender ever
        # sent, slower with every results day; LIMIT keeps the planner from flattening the lookup.
        rows = await self._conn.fetch(
            f"""
            SELECT e.* FROM unnest($3::text[]) WITH ORDINALITY AS r(ref, n)
            CROSS JOIN LATERAL (
                SELECT {_EVENT_COLUMNS} FROM learning_event
                WHERE source_org = $1 AND kind = $2 AND source_ref = r.ref
                LIMIT 1 FOR UPDATE
            ) AS e
            ORDER BY r.n
            """,
            source_org,
            kind.value,
            list(refs),
        )
        found = {r["source_ref"]: _event(r) for r in rows}
        pending = self._pending_by_source(source_org, kind)
        found.update({ref: e for ref, e in pending.items() if ref in set(refs)})
        return found

    async def get(self, event_id: str) -> LearningEvent | None:
        if event_id in self._pending:
            return _copy(self._pending[event_id])
        row = await self._conn.fetchrow(f"SELECT {_EVENT_COLUMNS} FROM learning_event WHERE event_id = $1", event_id)
        return _event(row) if row else None

    async def save(self, event: LearningEvent) -> None:
        self._pending[event.event_id] = _copy(event)

    async def for_learners(self, ulns: Sequence[str]) -> list[LearningEvent]:
        rows = await self._conn.fetch(
            f"SELECT {_EVENT_COLUMNS} FROM learning_event WHERE uln = ANY($1::bpchar[]) ORDER BY loaded_at, event_id",
            list(ulns),
        )
        found = {r["event_id"]: _event(r) for r in rows}
        found.update({k: _copy(e) for k, e in self._pending.items() if e.uln in set(ulns)})
        # This transaction's entries among the rest, as the ORDER BY will place them once written.
        return sorted(found.values(), key=lambda e: (e.loaded_at or _NOT_YET_LOADED, e.event_id))

    async def changed_since(self, kind: EventKind, since: datetime, after: str, limit: int) -> list[LearningEvent]:
        rows = await self._conn.fetch(
            f"""
            SELECT {_EVENT_COLUMNS} FROM learning_event
            WHERE kind = $1 AND (updated_at, event_id::text) > ($2, $3)
            ORDER BY updated_at, event_id::text LIMIT $4
            """,
            kind.value,
            since,
            after,
            limit,
        )
        return [_event(r) for r in rows]

    async def open_challenges(self, event_ids: Sequence[str]) -> list[Challenge]:
        rows = await self._conn.fetch(
            f"SELECT {_CHALLENGE_COLUMNS} FROM challenge WHERE event_id = ANY($1::uuid[]) AND status = 'open'",
            list(event_ids),
        )
        found = {r["challenge_id"]: _challenge(r) for r in rows}
        found.update({k: replace(c) for k, c in self._challenges.items() if c.event_id in set(event_ids)})
        return [c for c in found.values() if c.status == ChallengeStatus.OPEN]

    async def get_challenge(self, challenge_id: str) -> Challenge | None:
        if challenge_id in self._challenges:
            return replace(self._challenges[challenge_id])
        row = await self._conn.fetchrow(
            f"SELECT {_CHALLENGE_COLUMNS} FROM challenge WHERE challenge_id = $1", challenge_id
        )
        return _challenge(row) if row else None

    async def save_challenge(self, challenge: Challenge) -> None:
        self._challenges[challenge.challenge_id] = replace(challenge)

    async def flush(self, now: datetime) -> None:
        """Write the entries and challenges saved in this transaction (entries first: challenges refer to them)."""
        if self._pending:
            await self._write_events(list(self._pending.values()), now)
            self._pending.clear()
        for c in self._challenges.values():
            await self._conn.execute(
                """
                INSERT INTO challenge (challenge_id, event_id, uln, raised_by, reason, raised_at, status, resolution,
                                       resolved_at)
                VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
                ON CONFLICT (challenge_id) DO UPDATE
                    SET status = EXCLUDED.status, resolution = EXCLUDED.resolution, resolved_at = EXCLUDED.resolved_at
                """,
                c.challenge_id,
                c.event_id,
                c.uln,
                c.raised_by,
                c.reason,
                c.raised_at,
                c.status.value,
                c.resolution,
                c.resolved_at,
            )
        self._challenges.clear()

    async def _write_events(self, events: list[LearningEvent], now: datetime) -> None:
        columns: list[list[Any]] = [[] for _ in range(11)]
        for e in events:
            row = (
                e.event_id,
                e.uln,
                e.kind.value,
                e.source_org,
                e.source_ref,
                e.version,
                json.dumps(e.fields, separators=(",", ":")),
                e.withdrawn,
                e.withdrawn_reason,
                e.under_challenge,
                e.loaded_at or now,
            )
            for column, value in zip(columns, row, strict=True):
                column.append(value)
        # One statement for the lot; loaded_at (DateLoaded) is kept from the first save.
        await self._conn.execute(
            """
            INSERT INTO learning_event (event_id, uln, kind, source_org, source_ref, version, fields, withdrawn,
                                        withdrawn_reason, under_challenge, loaded_at, updated_at)
            SELECT e.*, $12 FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::text[], $6::int[],
                                        $7::jsonb[], $8::bool[], $9::text[], $10::bool[], $11::timestamptz[]) AS e
            ON CONFLICT (event_id) DO UPDATE SET
                uln = EXCLUDED.uln, version = EXCLUDED.version, fields = EXCLUDED.fields,
                withdrawn = EXCLUDED.withdrawn, withdrawn_reason = EXCLUDED.withdrawn_reason,
                under_challenge = EXCLUDED.under_challenge, updated_at = EXCLUDED.updated_at
            """,
            *columns,
            now,
        )
