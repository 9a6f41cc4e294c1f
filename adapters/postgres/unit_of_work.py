"""The asyncpg unit of work: one transaction, rolled back unless committed.

Inbox records, provider links, outbox rows and audit entries are buffered and written at
commit, a statement each for the whole transaction; the audit chain's lock (every entry
chains to the one before) is taken last, so it is held for the shortest time possible.
"""

import uuid
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from types import TracebackType
from typing import Self

import asyncpg
from asyncpg.pool import PoolConnectionProxy

from adapters.postgres.attempts import PostgresVerificationAttempts
from adapters.postgres.audit import append, entries_about, process_chain_keys
from adapters.postgres.connection import AnyConnection
from adapters.postgres.errors import translated
from adapters.postgres.plr import PostgresLearningEvents
from adapters.postgres.repositories import (
    IssueNumbers,
    NameFrequencyCache,
    PostgresBatches,
    PostgresInbox,
    PostgresLearners,
    PostgresOrganisations,
    dumps,
)
from adapters.postgres.sealing import DetailsSealer
from adapters.postgres.sharing import PostgresSharing
from adapters.relay import OutboxRow
from hub.kernel.audit import ChainKeys
from hub.kernel.ports import AuditEntry, OutboundMessage


class _BufferedOutbox:
    def __init__(self) -> None:
        self.messages: list[OutboundMessage] = []

    async def add(self, message: OutboundMessage) -> None:
        self.messages.append(message)


class _BufferedAudit:
    def __init__(self) -> None:
        self.entries: list[AuditEntry] = []
        self.conn: AnyConnection | None = None

    async def append(self, entry: AuditEntry) -> None:
        self.entries.append(entry)

    async def about(self, ulns: Sequence[str]) -> list[AuditEntry]:
        assert self.conn is not None, "read outside `async with`"
        return await entries_about(self.conn, ulns) + [e for e in self.entries if e.uln in set(ulns)]


class PostgresUnitOfWork:
    """`async with uow:` opens a transaction on a pooled connection."""

    def __init__(
        self,
        pool: asyncpg.Pool,
        issue_numbers: IssueNumbers | None = None,
        on_commit: Callable[[list[OutboxRow]], None] | None = None,
        frequencies: NameFrequencyCache | None = None,
        sealer: DetailsSealer | None = None,
        chain_keys: ChainKeys | None = None,
    ) -> None:
        self._pool = pool
        # The running hub gives its own; other units of work use the process's (sealing.use_sealer,
        # audit.use_chain_keys).
        self._sealer = sealer
        self._chain_keys = chain_keys
        # Only the running hub shares a refreshing cache (bootstrap); a one-off unit of work
        # (CLI, benchmarks) must not start a scan of the whole register each time.
        self._frequencies = frequencies or NameFrequencyCache(None)
        self._on_commit = on_commit  # given the outbox rows once they are committed
        self._issue_numbers = issue_numbers or IssueNumbers()
        self._conn: PoolConnectionProxy | None = None
        self._tx: asyncpg.transaction.Transaction | None = None
        self.outbox = _BufferedOutbox()
        self.audit = _BufferedAudit()

    async def __aenter__(self) -> Self:
        with translated():
            self._conn = await self._pool.acquire()
            try:
                self._tx = self._conn.transaction()
                await self._tx.start()
            except BaseException:
                await self._pool.release(self._conn)
                raise
        self.learners = PostgresLearners(self._conn, self._issue_numbers, self._frequencies, self._sealer)
        self.plr = PostgresLearningEvents(self._conn)
        self.sharing = PostgresSharing(self._conn)
        self.audit.conn = self._conn
        self.attempts = PostgresVerificationAttempts(self._conn)
        self.organisations = PostgresOrganisations(self._conn)
        self.inbox = PostgresInbox(self._conn)
        self.batches = PostgresBatches(self._conn)
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        try:
            if self._tx is not None:
                await self._tx.rollback()
        except (asyncpg.InterfaceError, asyncpg.PostgresError):
            pass  # the connection broke or the commit itself failed: nothing is left to roll back
        finally:
            if self._conn is not None:
                await self._pool.release(self._conn)
            self._conn = self._tx = None

    async def commit(self) -> None:
        assert self._conn is not None and self._tx is not None, "commit outside `async with`"
        with translated():
            await self.inbox.flush()
            await self.learners.flush()
            await self.plr.flush(datetime.now(UTC))
            await self.sharing.flush()
            await self.attempts.flush()
            rows = await self._write_outbox(self._conn)
            await self._write_audit(self._conn)
            await self._tx.commit()
        self._tx = None
        if rows and self._on_commit is not None:
            self._on_commit(rows)

    async def _write_outbox(self, conn: AnyConnection) -> list[OutboxRow]:
        rows = [
            OutboxRow(
                uuid.uuid4(),
                m.exchange,
                m.routing_key,
                m.message_type,
                m.correlation_id,
                dumps(m.headers),
                dumps(m.body),
                datetime.now(UTC),
            )
            for m in self.outbox.messages
        ]
        if rows:
            await conn.executemany(
                """
                INSERT INTO outbox (id, exchange, routing_key, message_type, correlation_id, headers, body, created_at)
                VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
                """,
                [
                    (r.id, r.exchange, r.routing_key, r.message_type, r.correlation_id, r.headers, r.body, r.created_at)
                    for r in rows
                ],
            )
        return rows

    async def _write_audit(self, conn: AnyConnection) -> None:
        if self.audit.entries:
            await append(conn, self.audit.entries, self._chain_keys or process_chain_keys())
