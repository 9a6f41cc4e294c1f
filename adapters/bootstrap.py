"""The composition root: builds the real adapters from one Settings object and runs the hub.

Nothing connects at import time; `Hub` opens everything on entry and closes it on exit.
"""

import asyncio
from collections.abc import Callable
from contextlib import AsyncExitStack
from datetime import timedelta
from functools import partial
from pathlib import Path
from typing import Self

import aio_pika
import asyncpg
import structlog
from aio_pika.abc import AbstractChannel, AbstractRobustConnection
from yarl import URL

from adapters.audit_heads import publish_head
from adapters.log import require_strong_hash_key, use_hash_key
from adapters.postgres.audit import chain_head, use_chain_keys
from adapters.postgres.dead_letter_index import DeadLetterIndex, warn_of_expiry
from adapters.postgres.dead_letter_quota import DeadLetterQuota
from adapters.postgres.migrate import apply_migrations, ensure_database
from adapters.postgres.repositories import IssueNumbers, NameFrequencyCache, PostgresOrganisations
from adapters.postgres.sealing import DetailsSealer, use_sealer
from adapters.postgres.unit_of_work import PostgresUnitOfWork
from adapters.rabbit.admin import BrokerAdmin, BrokerAdminError
from adapters.rabbit.batcher import MicroBatcher
from adapters.rabbit.consumer import register_consumer
from adapters.rabbit.nodes import node_urls, nodes_broker, nodes_connection
from adapters.rabbit.replication import check_replicas
from adapters.rabbit.topology import (
    FEEDS_QUEUE,
    RECORDS_QUEUE,
    REGISTRATION_QUEUE,
    SHARING_QUEUE,
    declare_outbound_queue,
    declare_topology,
)
from adapters.relay import OutboxRelay, OutboxRow
from adapters.retention import prune, prune_attempts, prune_dead_letter_index
from adapters.settings import Settings
from hub.kernel import clock
from hub.kernel.audit import ChainHead, ChainKeys
from hub.pipeline.inbound import handle_batch, handle_events
from hub.sharing.feeds import expire

log = structlog.get_logger("lrs.hub")


async def _route_unrouted(s: Settings) -> None:
    """Set the broker policy that answers unroutable messages (see topology.UNROUTED_EXCHANGE).

    Without the management API the hub still runs; only a message no binding takes then goes
    unanswered, as a mandatory publish's return tells its sender."""
    admin = BrokerAdmin(s.rabbit_management_url, s.rabbit_management_user, s.rabbit_management_password, s.vhost)
    try:
        await admin.route_unrouted()
    except BrokerAdminError as e:
        log.error("could not set the policy that answers unroutable messages", error=str(e)[:300])
    finally:
        await admin.close()


async def warn_of_short_replicas(s: Settings) -> list[str]:
    """Log an error for each quorum queue with fewer replicas than it should have (replication.py).

    The hub runs on: a queue short of replicas still works, it is one node's loss from losing
    messages, which is what an operator must hear now, not after the node has gone."""
    admin = BrokerAdmin(s.rabbit_management_url, s.rabbit_management_user, s.rabbit_management_password, s.vhost)
    try:
        _, nodes, problems = await check_replicas(admin)
    except BrokerAdminError as e:
        log.error("could not check the replicas of the hub's queues", error=str(e)[:300])
        return []
    finally:
        await admin.close()
    for problem in problems:
        log.error("quorum queue short of replicas: run `hub broker replicas`", problem=problem, nodes=len(nodes))
    return problems


def hub_user(settings: Settings) -> str:
    """The RabbitMQ user the hub itself connects and publishes as."""
    return URL(settings.amqp_url).user or "guest"


async def connect_channel(settings: Settings) -> tuple[AbstractRobustConnection, AbstractChannel]:
    """A robust connection with a confirming channel that raises on returned messages."""
    urls = node_urls(settings)
    connection = await aio_pika.connect_robust(urls[0], connection_class=nodes_connection(urls))
    channel = await connection.channel(publisher_confirms=True, on_return_raises=True)
    return connection, channel


def chain_keys_from(settings: Settings) -> ChainKeys:
    """The audit chain's keys from LRS_AUDIT_KEY (WeakAuditKeyError without a strong one)."""
    return ChainKeys(settings.audit_key, settings.retired_audit_keys)


def sealer_from(settings: Settings) -> DetailsSealer:
    """The sealer of learner details under LRS_DATA_KEY (WeakDataKeyError without a strong one)."""
    return DetailsSealer(settings.data_key, settings.retired_data_keys)


async def limit_dead_letters(settings: Settings) -> None:
    """Set lrs.dead's expiry and length limit, and at-least-once dead-lettering into it (admin.py)."""
    s = settings
    admin = BrokerAdmin(s.rabbit_management_url, s.rabbit_management_user, s.rabbit_management_password, s.vhost)
    try:
        await admin.limit_dead_letters(s.dead_letter_keep_days, s.dead_letter_max)
    except BrokerAdminError:
        log.error("could not set the dead-letter policies: lrs.dead has no expiry or length limit")
        raise
    finally:
        await admin.close()


class _NoResetConnection(asyncpg.Connection):
    """The hub keeps no session state (its advisory locks end with their transactions), so the
    pool need not send a reset query, a round trip, every time a connection is released."""

    def get_reset_query(self) -> str:
        return ""


async def create_pool(settings: Settings) -> asyncpg.Pool:
    pool = await asyncpg.create_pool(
        settings.database_url, min_size=2, max_size=settings.db_pool_size, connection_class=_NoResetConnection
    )
    assert pool is not None
    return pool


class Hub:
    """The running hub: database pool, topology, the inbound consumer and the outbox relay."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._stack = AsyncExitStack()
        self._issue_numbers = IssueNumbers()
        self._on_commit: Callable[[list[OutboxRow]], None] | None = None
        self._frequencies: NameFrequencyCache | None = None
        self._sealer: DetailsSealer | None = None
        self._chain_keys: ChainKeys | None = None
        self._published_head: ChainHead | None = None
        self.pool: asyncpg.Pool
        self.connection: AbstractRobustConnection
        self.channel: AbstractChannel

    def new_uow(self) -> PostgresUnitOfWork:
        return PostgresUnitOfWork(
            self.pool, self._issue_numbers, self._on_commit, self._frequencies, self._sealer, self._chain_keys
        )

    async def __aenter__(self) -> Self:
        s = self.settings
        # First, before anything is opened: the hub logs learner pseudonyms under this key.
        require_strong_hash_key(s.log_hash_key)
        use_hash_key(s.log_hash_key)
        # And before any learner is read or written: their contact details are sealed under this one.
        self._sealer = sealer_from(s)
        use_sealer(self._sealer)
        # And before any disclosure is audited: the audit chain is keyed with this one.
        self._chain_keys = chain_keys_from(s)
        use_chain_keys(self._chain_keys)
        clock.shift_days(s.clock_shift_days)
        await asyncio.to_thread(ensure_database, s.database_url)
        await asyncio.to_thread(apply_migrations, s.database_url)
        self.pool = await create_pool(s)
        self._stack.push_async_callback(self.pool.close)
        self._frequencies = NameFrequencyCache(self.pool)
        self.connection, self.channel = await connect_channel(s)
        self._stack.push_async_callback(self.connection.close)
        await declare_topology(self.channel, s.delivery_limit)
        await _route_unrouted(s)
        await limit_dead_letters(s)
        async with self.pool.acquire() as conn:
            for org in await PostgresOrganisations(conn).list():
                await declare_outbound_queue(self.channel, org.org_id)
        await warn_of_short_replicas(s)
        relay = OutboxRelay(self.pool, self.channel, hub_user(s), s.relay_batch_size)
        self._on_commit = relay.committed
        task = asyncio.create_task(relay.run(), name="outbox-relay")
        self._stack.push_async_callback(_cancel, task)
        # Pushed before the consumers, so unwound after them: the last head covers all they wrote.
        heads = asyncio.create_task(self._publish_chain_heads(Path(s.audit_heads_file)), name="audit-heads")
        self._stack.push_async_callback(self._last_chain_head, heads, Path(s.audit_heads_file))
        broker = nodes_broker(node_urls(s), logger=None, graceful_timeout=10, apply_types=False)
        commands = partial(handle_batch, self.new_uow)
        quota = DeadLetterQuota(self.pool, s.dead_letters_a_day, s.dead_letter_bytes_a_day)
        index = DeadLetterIndex(self.pool)
        for queue, handle, prefetch, max_size, workers in (
            (REGISTRATION_QUEUE, commands, s.prefetch, s.batch_max_size, s.batch_workers),
            (RECORDS_QUEUE, commands, s.records_prefetch, s.records_batch_max_size, s.records_batch_workers),
            (SHARING_QUEUE, commands, s.prefetch, s.batch_max_size, 2),
            (FEEDS_QUEUE, partial(handle_events, self.new_uow, hub_user=hub_user(s)), s.prefetch, s.batch_max_size, 2),
        ):
            batcher = MicroBatcher(handle, max_size, workers)
            batcher.start()
            self._stack.push_async_callback(batcher.stop)
            register_consumer(
                broker, queue, batcher, self.channel, hub_user(s), prefetch, quota, index, s.delivery_limit
            )
        await broker.start()
        self._stack.push_async_callback(broker.stop)
        sweep = asyncio.create_task(self._sweep_expired_nominations(s.expiry_sweep_s), name="nomination-expiry")
        self._stack.push_async_callback(_cancel, sweep)
        pruning = asyncio.create_task(self._prune(s.outbox_retention_s, s.inbox_retention_s), name="retention")
        self._stack.push_async_callback(_cancel, pruning)
        warning = asyncio.create_task(self._warn_of_expiring_dead_letters(index), name="dead-letter-expiry")
        self._stack.push_async_callback(_cancel, warning)
        log.info("hub started", vhost=s.vhost, prefetch=s.prefetch)
        return self

    async def _sweep_expired_nominations(self, every_s: float) -> None:
        """Recall, now and then, what partners hold under nominations that have ended."""
        while True:
            try:
                async with self.new_uow() as uow:
                    recalls = await expire(uow, clock.now())
                    await uow.commit()
                if recalls:
                    log.info("recalled data held under ended nominations or agreements", notices=recalls)
            except Exception as e:  # noqa: BLE001 - a sweep that fails is tried again next time
                log.warning("nomination expiry sweep failed", error=type(e).__name__, detail=str(e)[:200])
            await asyncio.sleep(every_s)

    async def _prune(self, outbox_keep_s: float, inbox_keep_s: float) -> None:
        """Every minute, prune sent outbox rows, old inbox records, expired attempt counts (retention.py)."""
        while True:
            try:
                await prune(self.pool, outbox_keep_s, inbox_keep_s)
                await prune_attempts(self.pool)
                await prune_dead_letter_index(self.pool, self.settings.dead_letter_keep_days * 86400.0)
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as e:
                log.warning("retention prune failed, will retry", error=type(e).__name__)
            await asyncio.sleep(60)

    async def _warn_of_expiring_dead_letters(self, index: DeadLetterIndex) -> None:
        """Every hour, warn when dead letters near their expiry (dead_letter_index.py)."""
        s = self.settings
        while True:
            try:
                await warn_of_expiry(
                    index, timedelta(days=s.dead_letter_warn_days), timedelta(days=s.dead_letter_keep_days)
                )
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as e:
                log.warning("dead-letter expiry check failed, will retry", error=type(e).__name__)
            await asyncio.sleep(3600)

    async def _publish_chain_head(self, path: Path, published: ChainHead | None) -> ChainHead | None:
        """Append the chain's head to `path` if it moved since `published`; the head now published."""
        try:
            async with self.pool.acquire() as conn:
                head = await chain_head(conn)
            if head != published:
                await asyncio.to_thread(publish_head, path, head, clock.now())
            return head
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as e:
            log.warning("could not publish the audit chain's head, will retry", error=type(e).__name__)
            return published

    async def _publish_chain_heads(self, path: Path) -> None:
        """At start and then every LRS_AUDIT_HEAD_EVERY_S, publish the chain's head (audit_heads.py)."""
        published = None
        while True:
            published = self._published_head = await self._publish_chain_head(path, published)
            await asyncio.sleep(self.settings.audit_head_every_s)

    async def _last_chain_head(self, task: "asyncio.Task[None]", path: Path) -> None:
        """As the hub stops, after its consumers have: the head of everything it appended."""
        await _cancel(task)
        await self._publish_chain_head(path, self._published_head)

    async def __aexit__(self, *exc: object) -> None:
        await self._stack.aclose()
        log.info("hub stopped")


async def _cancel(task: "asyncio.Task[None]") -> None:
    task.cancel()
    try:
        await task
    except asyncio.CancelledError:
        pass
