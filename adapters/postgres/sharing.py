"""asyncpg implementation of hub.kernel.ports.Sharing: agreements, consents, subscriptions, what partners hold.

Deliveries are buffered and written at commit in one statement (a feed of one event to twenty
partners is one INSERT ... ON CONFLICT); reads of what partners hold see this transaction's
deliveries, recalls and re-keys too.
"""

import json
import re
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

import asyncpg

from adapters.postgres.connection import AnyConnection
from hub.kernel.errors import TransientError
from hub.kernel.ports import DeliveryRecord, NoticeRecord, Subscription
from hub.sharing.policy import Agreement, AgreementStatus, Consent, Feed, Scope

_HELD_COLUMNS = (
    "partner, uln, feed, key, version, fields, agreement_id, agreement_version, consent_version, purpose, at"
)


def _agreement(r: asyncpg.Record) -> Agreement:
    return Agreement(
        agreement_id=r["agreement_id"],
        partner=r["partner"],
        version=r["version"],
        purposes=frozenset(r["purposes"]),
        feeds=frozenset(Feed(f) for f in r["feeds"]),
        fields=frozenset(r["fields"]),
        scope=Scope(r["scope"]),
        valid_from=r["valid_from"],
        valid_to=r["valid_to"],
        status=AgreementStatus(r["status"]),
    )


def _held(r: Any) -> DeliveryRecord:
    return DeliveryRecord(
        partner=r["partner"],
        uln=r["uln"],
        feed=Feed(r["feed"]),
        key=r["key"],
        version=r["version"],
        fields=tuple(r["fields"]),
        agreement_id=r["agreement_id"],
        agreement_version=r["agreement_version"],
        consent_version=r["consent_version"],
        purpose=r["purpose"],
        at=r["at"],
    )


class PostgresSharing:
    def __init__(self, conn: AnyConnection) -> None:
        self._conn = conn
        self._agreements: list[Agreement] | None = None  # read once per transaction
        self._delivered: dict[tuple[str, str, str], DeliveryRecord] = {}  # written at `flush`

    async def agreements(self) -> list[Agreement]:
        if self._agreements is None:
            rows = await self._conn.fetch(
                "SELECT DISTINCT ON (agreement_id) * FROM agreement ORDER BY agreement_id, version DESC"
            )
            self._agreements = [_agreement(r) for r in rows]
        return list(self._agreements)

    async def save_agreement(self, agreement: Agreement) -> None:
        await self._conn.execute(
            """
            INSERT INTO agreement (agreement_id, version, partner, purposes, feeds, fields, scope, valid_from, valid_to,
                                   status)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
            """,
            agreement.agreement_id,
            agreement.version,
            agreement.partner,
            sorted(agreement.purposes),
            sorted(f.value for f in agreement.feeds),
            sorted(agreement.fields),
            agreement.scope.value,
            agreement.valid_from,
            agreement.valid_to,
            agreement.status.value,
        )
        self._agreements = None

    async def consents(self, ulns: Sequence[str]) -> dict[str, Consent]:
        rows = await self._conn.fetch("SELECT * FROM consent WHERE uln = ANY($1::bpchar[])", list(ulns))
        return {
            r["uln"]: Consent(
                uln=r["uln"],
                version=r["version"],
                sharing=r["sharing"],
                restricted=frozenset(r["restricted"]) if r["restricted"] is not None else None,
                basic_only=r["basic_only"],
                nominations={o: date.fromisoformat(d) for o, d in json.loads(r["nominations"]).items()},
                chose_sharing=r["chose_sharing"],
            )
            for r in rows
        }

    async def save_consent(self, consent: Consent) -> None:
        # Version consent.version replaces consent.version - 1 only: two changes of one learner's
        # choices made at once would otherwise both read version n and one would silently undo the
        # other. The loser fails here (or on the primary key, for a first choice) and is retried afresh.
        status = await self._conn.execute(
            """
            INSERT INTO consent (uln, version, sharing, restricted, basic_only, nominations, chose_sharing, updated_at)
            VALUES ($1, $2, $3, $4, $5, $6, $7, now())
            ON CONFLICT (uln) DO UPDATE SET version = EXCLUDED.version, sharing = EXCLUDED.sharing,
                restricted = EXCLUDED.restricted, basic_only = EXCLUDED.basic_only,
                nominations = EXCLUDED.nominations, chose_sharing = EXCLUDED.chose_sharing, updated_at = now()
            WHERE consent.version = EXCLUDED.version - 1
            """,
            consent.uln,
            consent.version,
            consent.sharing,
            sorted(consent.restricted) if consent.restricted is not None else None,
            consent.basic_only,
            json.dumps({o: d.isoformat() for o, d in consent.nominations.items()}),
            consent.chose_sharing,
        )
        if status.endswith(" 0"):
            raise TransientError(f"consent of a learner changed concurrently (version {consent.version} not applied)")

    async def subscriptions(self, feed: Feed | None = None) -> list[Subscription]:
        rows = await self._conn.fetch(
            "SELECT partner, feed, purpose FROM subscription WHERE $1::text IS NULL OR feed = $1 ORDER BY partner",
            feed.value if feed else None,
        )
        return [Subscription(r["partner"], Feed(r["feed"]), r["purpose"]) for r in rows]

    async def subscribe(self, subscription: Subscription) -> None:
        await self._conn.execute(
            """
            INSERT INTO subscription (partner, feed, purpose) VALUES ($1, $2, $3)
            ON CONFLICT (partner, feed) DO UPDATE SET purpose = EXCLUDED.purpose
            """,
            subscription.partner,
            subscription.feed.value,
            subscription.purpose,
        )

    async def unsubscribe(self, partner: str, feed: Feed) -> bool:
        status = await self._conn.execute(
            "DELETE FROM subscription WHERE partner = $1 AND feed = $2", partner, feed.value
        )
        return bool(status.endswith(" 1"))

    async def held(
        self, *, partner: str | None = None, ulns: Sequence[str] | None = None, keys: Sequence[str] | None = None
    ) -> list[DeliveryRecord]:
        await self.flush()  # this transaction's deliveries are part of what they hold
        # Only the filters given go into the query, so each shape gets a plan that uses its index
        # (with `$1 IS NULL OR ...` a generic plan scanned the whole table: slower with every delivery).
        conditions: list[str] = []
        values: list[Any] = []
        if partner is not None:
            values.append(partner)
            conditions.append(f"partner = ${len(values)}")
        if ulns is not None:
            values.append(list(ulns))
            conditions.append(f"uln = ANY(${len(values)}::bpchar[])")
        if keys is not None:
            values.append(list(keys))
            conditions.append(f"key = ANY(${len(values)}::text[])")
        where = " AND ".join(conditions) or "true"
        rows = await self._conn.fetch(
            f"SELECT {_HELD_COLUMNS} FROM held WHERE {where} ORDER BY partner, uln, key", *values
        )
        return [_held(r) for r in rows]

    async def delivered(self, records: Sequence[DeliveryRecord]) -> None:
        self._delivered.update({(r.partner, r.uln, r.key): r for r in records})

    async def recalled(self, partner: str, uln: str, keys: Sequence[str]) -> None:
        await self.flush()
        await self._conn.execute(
            "DELETE FROM held WHERE partner = $1 AND uln = $2 AND key = ANY($3::text[])", partner, uln, list(keys)
        )

    async def rekeyed(self, partner: str, old_uln: str, new_uln: str) -> None:
        await self.flush()
        # What it held under both ULNs is now one learner's: the master's copy wins.
        await self._conn.execute(
            """
            DELETE FROM held o WHERE o.partner = $1 AND o.uln = $2
              AND EXISTS (SELECT 1 FROM held n WHERE n.partner = $1 AND n.uln = $3 AND n.key = o.key)
            """,
            partner,
            old_uln,
            new_uln,
        )
        await self._conn.execute("UPDATE held SET uln = $3 WHERE partner = $1 AND uln = $2", partner, old_uln, new_uln)

    async def add_notice(self, notice: NoticeRecord) -> None:
        await self._conn.execute(
            "INSERT INTO notice (notice_id, partner, kind, uln, keys, reason, at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
            notice.notice_id,
            notice.partner,
            notice.kind,
            notice.uln,
            list(notice.keys),
            notice.reason,
            notice.at,
        )

    async def acknowledge(self, partner: str, notice_ids: Sequence[str], at: datetime) -> list[str]:
        wanted = [i for i in notice_ids if _is_uuid(i)]
        rows = await self._conn.fetch(
            """
            UPDATE notice SET acknowledged_at = coalesce(acknowledged_at, $3)
            WHERE partner = $1 AND notice_id = ANY($2::uuid[]) RETURNING notice_id::text
            """,
            partner,
            wanted,
            at,
        )
        return [r[0] for r in rows]

    async def unacknowledged(self, partner: str | None = None) -> list[NoticeRecord]:
        rows = await self._conn.fetch(
            """
            SELECT notice_id::text, partner, kind, uln, keys, reason, at, acknowledged_at FROM notice
            WHERE acknowledged_at IS NULL AND ($1::text IS NULL OR partner = $1) ORDER BY at, notice_id
            """,
            partner,
        )
        return [NoticeRecord(r[0], r[1], r[2], r[3], tuple(r[4]), r[5], r[6], r[7]) for r in rows]

    async def expired_nominations(self, today: date) -> list[tuple[str, str]]:
        await self.flush()
        rows = await self._conn.fetch(
            """
            SELECT c.uln, n.key FROM consent c, jsonb_each_text(c.nominations) n
            WHERE n.value::date < $1 AND EXISTS (SELECT 1 FROM held h WHERE h.partner = n.key AND h.uln = c.uln)
            ORDER BY 1, 2
            """,
            today,
        )
        return [(r[0], r[1]) for r in rows]

    async def flush(self) -> None:
        if not self._delivered:
            return
        records = list(self._delivered.values())
        self._delivered.clear()
        columns: list[list[Any]] = [[] for _ in range(11)]
        for r in records:
            row = (
                r.partner,
                r.uln,
                r.feed.value,
                r.key,
                r.version,
                list(r.fields),
                r.agreement_id,
                r.agreement_version,
                r.consent_version,
                r.purpose,
                r.at,
            )
            for column, value in zip(columns, row, strict=True):
                column.append(value)
        # text[][] cannot hold rows of different lengths: fields travel as JSON arrays.
        columns[5] = [json.dumps(f) for f in columns[5]]
        await self._conn.execute(
            f"""
            INSERT INTO held ({_HELD_COLUMNS})
            SELECT p, u, f, k, v, ARRAY(SELECT jsonb_array_elements_text(fl)), a, av, cv, pu, t
            FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::int[], $6::jsonb[], $7::text[], $8::int[],
                        $9::int[], $10::text[], $11::timestamptz[]) AS x(p, u, f, k, v, fl, a, av, cv, pu, t)
            ON CONFLICT (partner, uln, key) DO UPDATE SET feed = EXCLUDED.feed, version = EXCLUDED.version,
                fields = EXCLUDED.fields, agreement_id = EXCLUDED.agreement_id,
                agreement_version = EXCLUDED.agreement_version, consent_version = EXCLUDED.consent_version,
                purpose = EXCLUDED.purpose, at = EXCLUDED.at
            """,
            *columns,
        )


# The form the hub issues notice ids in. Python's uuid.UUID also takes braces, "urn:uuid:" and
# no hyphens, which asyncpg then refuses (a fault); and an id acknowledged in another form would
# be answered "unknown", as it is not the one the partner was sent.
_CANONICAL_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def _is_uuid(text: str) -> bool:
    return _CANONICAL_UUID.fullmatch(text) is not None
