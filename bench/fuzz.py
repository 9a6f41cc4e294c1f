"""Fuzz campaign: thousands of bad messages against a real `hub serve`, each one classified.

The messages come from bench/fuzzing.py: every request type, broken in its body, its AMQP
properties, routing and headers. Organisations of every kind publish them with their own
RabbitMQ users (plain aio-pika, as an MIS would), and each message is classified by what came
of it: rejected with an answer on the sender's queue (correlation_id = its message_id), dead-
lettered (`lrs.dead`, matched by the campaign's own `x-fuzz-id` header), faulted (the hub logged
"message failed" for its message_id, or the broker dead-lettered it at the delivery limit),
accepted, or applied although it had to be refused (a normal answer, an answer on another
organisation's queue, or a control character stored in the database). At the end a
valid request must still be answered, and the hub process's peak memory (VmHWM) is read.

Each run gets its own database and vhost (dropped at the end, also on failure) and its own
organisations' RabbitMQ users (deleted). Only loopback addresses.
Run: cd /work/wt-fuzz && uv run python bench/fuzz.py [--count 10000] [--seed 1] [--huge-kib 4096]
Stdout: a table of outcomes, the classes that faulted or were wrongly applied (with a minimal
example each), then one JSON line. The hub's own log goes to --hub-log.
"""

import argparse
import asyncio
import json
import os
import random
import re
import secrets
import shutil
import sys
import tempfile
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Iterable
from contextlib import AsyncExitStack, suppress
from dataclasses import dataclass, field, replace
from functools import partial
from pathlib import Path
from typing import Any

import aio_pika
import aiormq
import asyncpg
from aio_pika.abc import AbstractChannel, AbstractConnection, AbstractIncomingMessage
from rich.console import Console
from rich.table import Table

from adapters.organisations import add_organisation
from adapters.postgres.migrate import apply_migrations
from adapters.rabbit.admin import BrokerAdmin
from adapters.rabbit.topology import (
    DEAD_LETTER_QUEUE,
    RECORDS_QUEUE,
    REGISTRATION_QUEUE,
    SHARING_QUEUE,
    declare_topology,
    outbound_queue_name,
)
from adapters.settings import Settings
from bench.fuzzing import (
    BROKER_REFUSES,
    HUB,
    NO_ANSWER,
    FuzzCase,
    Orgs,
    generate,
    valid_case,
    wire_message_id,
)
from bench.registration import stop_process, wait_for_consumer
from contracts import examples
from contracts.codes import OrganisationKind
from hub.kernel.model import Organisation
from hub.pipeline.inbound import MAX_BODY_BYTES
from hub.pipeline.routing import INBOUND_EXCHANGE

PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
AMQP = "amqp://guest:guest@127.0.0.1:5672/"
MANAGEMENT = "http://127.0.0.1:15672"
FUZZ_ID = "x-fuzz-id"  # the campaign's own header: dead letters keep it, so each is matched to its case
REJECTED = "message.rejected.v1"
FAULT_EVENT = "message failed"
CONCURRENT_TWIN = "same message handled concurrently"  # hub.pipeline.inbound's TransientError when an id races itself
_EXCEPTION_LINE = re.compile(r"^((?:[A-Za-z_]\w*\.)*[A-Za-z_]\w*(?:Error|Exception)): ")


@dataclass(frozen=True)
class Options:
    count: int = 10_000
    seed: int = 1
    huge_bytes: int = MAX_BODY_BYTES  # the limit the README documents: bodies go up to twice it
    delivery_limit: int = 5  # the hub's default; a test may use fewer retries to end sooner
    window: int = 64  # messages in flight from the publishers
    quiet_s: float = 60  # stop waiting when nothing arrived for this long (the rest is "lost")
    settle_s: float = 3  # after the last expected arrival, for late second halves (an answer after its dead letter)
    timeout_s: float = 1800
    hub_log: str = os.path.join(os.environ.get("TMPDIR", "/tmp"), "fuzz-hub.log")
    only: tuple[str, ...] = ()  # mutation name prefixes, to rerun some classes (e.g. "json.", "header.batch")


@dataclass(frozen=True)
class Answer:
    queue_org: str
    correlation_id: str
    type: str | None
    body: Any


@dataclass(frozen=True)
class DeadLetter:
    reason: str | None  # x-lrs-dead-letter-reason: the hub dead-lettered it as bad input
    by_broker: bool  # x-death: the broker did, at the delivery limit (every delivery faulted)
    size: int


@dataclass
class Observer:
    """Everything that came back: answers, dead letters, the hub's fault log lines."""

    answers: dict[tuple[str, str], list[Answer]] = field(default_factory=lambda: defaultdict(list))
    dead: dict[str, list[DeadLetter]] = field(default_factory=lambda: defaultdict(list))
    dead_without_headers: dict[str, list[DeadLetter]] = field(default_factory=lambda: defaultdict(list))
    dead_unmatched: int = 0
    concurrent_twins: int = 0
    dead_bytes: int = 0
    faults: dict[str, list[dict[str, Any]]] = field(default_factory=lambda: defaultdict(list))
    last_arrival: float = field(default_factory=time.monotonic)
    waiters: dict[str, asyncio.Future[Answer]] = field(default_factory=dict)
    tracebacks: Counter[str] = field(default_factory=Counter)

    def on_answer(self, org: str, m: AbstractIncomingMessage) -> None:
        try:
            body = json.loads(m.body)
        except ValueError:
            body = None
        answer = Answer(org, str(m.correlation_id or ""), m.type, body)
        self.answers[(org, answer.correlation_id)].append(answer)
        self.last_arrival = time.monotonic()
        waiter = self.waiters.pop(answer.correlation_id, None)
        if waiter is not None and not waiter.done():
            waiter.set_result(answer)

    def on_dead(self, m: AbstractIncomingMessage) -> None:
        headers = m.headers or {}
        reason = headers.get("x-lrs-dead-letter-reason")
        letter = DeadLetter(None if reason is None else str(reason), "x-death" in headers, len(m.body))
        self.dead_bytes += len(m.body)
        fuzz_id = headers.get(FUZZ_ID)
        if fuzz_id is not None:
            self.dead[str(fuzz_id)].append(letter)
        elif m.message_id:  # its header table could not be read (a name not UTF-8), so the hub lost it
            self.dead_without_headers[m.message_id].append(letter)
        else:
            self.dead_unmatched += 1
        self.last_arrival = time.monotonic()

    def on_log(self, line: bytes) -> None:
        try:
            record = json.loads(line)
        except ValueError:  # a traceback's last line names what was raised outside any handler
            if raised := _EXCEPTION_LINE.match(line.decode(errors="replace")):
                self.tracebacks[raised.group(1)] += 1
            return
        if isinstance(record, dict) and record.get("detail") == CONCURRENT_TWIN:
            # Not a fault: two messages of one sender with one id, handled at once; one is retried.
            self.concurrent_twins += 1
        elif isinstance(record, dict) and record.get("event") == FAULT_EVENT:
            self.faults[str(record.get("message_id") or "")].append(record)
            self.last_arrival = time.monotonic()


async def _on_answer(observer: Observer, org: str, message: AbstractIncomingMessage) -> None:
    observer.on_answer(org, message)


async def _on_dead(observer: Observer, message: AbstractIncomingMessage) -> None:
    observer.on_dead(message)


# ---- publishing as the organisations
class Publisher:
    """One organisation's connection for ordinary cases; each hostile case gets a connection of its own.

    The broker closes the channel of a refused publish, and a channel closed under concurrent
    publishes can take its connection with it; a throwaway connection keeps that away from the rest.
    """

    def __init__(self, url: str) -> None:
        self.url = url
        self.connection: AbstractConnection | None = None
        self.channel: AbstractChannel | None = None
        self._lock = asyncio.Lock()

    async def _shared(self) -> AbstractChannel:
        async with self._lock:
            if self.connection is None or self.connection.is_closed or self.channel is None or self.channel.is_closed:
                if self.connection is not None and not self.connection.is_closed:
                    await self.connection.close()
                self.connection = await aio_pika.connect(self.url)
                self.channel = await self.connection.channel(publisher_confirms=True, on_return_raises=True)
            return self.channel

    async def close(self) -> None:
        if self.connection is not None:
            await self.connection.close()

    async def publish(self, case: FuzzCase) -> str:
        """Publish; return "sent", "returned" (unroutable), "refused: ..." (by the broker) or "unsendable: ..."."""
        # Unroutable keys may also be outside the organisation's topic permission: refused, not returned.
        hostile = case.expect == BROKER_REFUSES or _has_raw_strings(case)
        own = await aio_pika.connect(self.url) if hostile else None
        try:
            channel = await own.channel(publisher_confirms=True, on_return_raises=True) if own else await self._shared()
            message = aio_pika.Message(
                case.body,
                headers=case.headers | {FUZZ_ID: case.case_id},
                content_type=case.content_type,
                content_encoding=case.content_encoding,
                message_id=case.message_id,
                type=case.amqp_type,
                user_id=case.user_id,
                delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
            )
            # Set past aio-pika's str() (which would drop a RawStr's bytes) and aiormq's default id.
            message.message_id, message.type = wire_message_id(case.message_id), case.amqp_type
            exchange = await channel.get_exchange(INBOUND_EXCHANGE, ensure=False)
            await exchange.publish(message, case.routing_key, mandatory=True)
            return "sent"
        except aio_pika.exceptions.DeliveryError:
            return "returned"
        except (TypeError, ValueError, OverflowError) as e:  # pamqp could not encode it: never left
            return f"unsendable: {type(e).__name__}"
        except (aio_pika.exceptions.AMQPError, aiormq.exceptions.AMQPError) as e:
            if own is None:  # on the shared channel: worth knowing which case the broker refused
                print(
                    f"refused on the shared channel: {case.case_id} {case.mutation} {case.detail}: {e!r}"[:300],
                    file=sys.stderr,
                )
            return f"refused: {type(e).__name__}"
        finally:
            if own is not None:
                await own.close()


def _has_raw_strings(case: FuzzCase) -> bool:
    strings = (case.message_id, case.amqp_type, case.content_type, *case.headers)
    return any(type(v).__name__ == "RawStr" for v in strings)


async def _consume(stack: AsyncExitStack, url: str, queue_name: str, on_message: Any) -> None:
    """Consume a queue with auto-ack on a robust connection (a message it cannot decode drops the connection)."""
    connection = await aio_pika.connect_robust(url)
    stack.push_async_callback(connection.close)
    channel = await connection.channel()
    await channel.set_qos(prefetch_count=500)
    queue = await channel.get_queue(queue_name, ensure=False)
    await queue.consume(on_message, no_ack=True)


# ---- setting up: organisations, the hub, the campaign's learner
async def _organisations(stack: AsyncExitStack, s: Settings, admin: BrokerAdmin) -> tuple[Orgs, dict[str, str]]:
    """Register one organisation of each kind (and a suspended and an unregistered one), with broker users."""
    ids: set[str] = set()
    while len(ids) < 6:
        ids.add(f"1{secrets.randbelow(10**7):07d}")
    provider, awarding, partner, portal, suspended, unregistered = sorted(ids)
    passwords = {org: secrets.token_urlsafe(12) for org in ids}
    pool = await asyncpg.create_pool(s.database_url, min_size=1, max_size=2)
    stack.push_async_callback(pool.close)
    connection = await aio_pika.connect(s.amqp_url)
    stack.push_async_callback(connection.close)
    channel = await connection.channel()
    kinds = {
        provider: OrganisationKind.PROVIDER,
        awarding: OrganisationKind.AWARDING_ORGANISATION,
        partner: OrganisationKind.PARTNER,
        portal: OrganisationKind.LEARNER_PORTAL,
        suspended: OrganisationKind.PROVIDER,
    }
    for org, kind in kinds.items():
        stack.push_async_callback(admin.delete_user, org)
        await add_organisation(pool, channel, admin, Organisation(org, kind, f"Fuzz {kind.value}"), passwords[org])
    stack.push_async_callback(admin.delete_user, unregistered)
    await admin.add_organisation_user(unregistered, passwords[unregistered])  # a broker user, not in the register
    await pool.execute("UPDATE organisation SET status = 'suspended' WHERE org_id = $1", suspended)
    return Orgs(provider, awarding, partner, portal, suspended, unregistered, uln=""), passwords


async def _start_hub(
    stack: AsyncExitStack, s: Settings, opts: Options, observer: Observer
) -> asyncio.subprocess.Process:
    env = {
        **os.environ,
        "LRS_DATABASE_URL": s.database_url,
        "LRS_AMQP_URL": s.amqp_url,
        "LRS_RABBIT_MANAGEMENT_URL": s.rabbit_management_url,
        "LRS_LOG_JSON": "true",
        "LRS_LOG_LEVEL": "INFO",
        "LRS_DELIVERY_LIMIT": str(opts.delivery_limit),
        "LRS_LOG_HASH_KEY": secrets.token_hex(32),  # hub serve refuses to start without a strong key
        "LRS_DATA_KEY": secrets.token_hex(32),  # nor without a strong data key
        "LRS_AUDIT_KEY": secrets.token_hex(32),  # nor an audit key
        "LRS_AUDIT_HEADS_FILE": str(Path(tempfile.gettempdir()) / f"lrs-fuzz-audit-heads-{secrets.token_hex(4)}.jsonl"),
        # The campaign is one hostile sender's flood by design: past the daily dead-letter quota
        # its refusals would be answered but not kept, and the classifier could not tell a
        # refused message from an applied one by its dead letter.
        "LRS_DEAD_LETTERS_A_DAY": str(10**9),
        "LRS_DEAD_LETTER_BYTES_A_DAY": str(2**62),
    }
    hub = shutil.which("hub", path=os.path.dirname(sys.executable)) or "hub"
    proc = await asyncio.create_subprocess_exec(
        hub, "serve", env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT, limit=1 << 22
    )
    log = open(opts.hub_log, "wb")  # closed by the stack, after the reader is done
    stack.callback(log.close)

    async def read() -> None:
        assert proc.stdout is not None
        while line := await proc.stdout.readline():
            log.write(line)
            observer.on_log(line)

    reader = asyncio.create_task(read(), name="hub-log")
    stack.push_async_callback(_finish, reader)
    stack.push_async_callback(stop_process, proc)  # first: then the reader sees the end of its output
    print(f"hub pid {proc.pid}: hub serve, log {opts.hub_log}", file=sys.stderr)
    return proc


async def _finish(task: "asyncio.Task[None]") -> None:
    with suppress(TimeoutError):
        await asyncio.wait_for(task, 20)


async def _ask(publisher: Publisher, observer: Observer, case: FuzzCase, timeout_s: float) -> Answer | None:
    """Publish a valid request and wait for its answer."""
    waiter: asyncio.Future[Answer] = asyncio.get_running_loop().create_future()
    observer.waiters[case.message_id or ""] = waiter
    await publisher.publish(case)
    try:
        return await asyncio.wait_for(waiter, timeout_s)
    except TimeoutError:
        return None


def _peak_memory_mb(pid: int) -> float | None:
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        pass
    return None


# Stored control characters (never in a valid message of the campaign): text columns hold them raw,
# jsonb columns as escapes (\u0001, \b, \f); tab, newline and carriage return are left out.
_CONTROL_TEXT = r"[\x01-\x08\x0b\x0c\x0e-\x1f\x7f]"
_CONTROL_JSON = r"\\u00(0[0-8bcef]|1[0-9a-f])|\\[bf]|\x7f"


async def control_characters_stored(conn: asyncpg.Connection) -> dict[str, int]:
    """Rows per table holding a control character: something of a bad message was stored."""
    columns = await conn.fetch(
        "SELECT table_name, column_name, data_type FROM information_schema.columns WHERE table_schema = 'public' "
        "AND data_type IN ('text', 'character varying', 'character', 'jsonb') "
        "AND table_name NOT IN ('inbox', 'outbox') AND table_name NOT LIKE '\\_yoyo%'"
    )
    by_table: dict[str, list[str]] = defaultdict(list)
    for c in columns:
        pattern = _CONTROL_JSON if c["data_type"] == "jsonb" else _CONTROL_TEXT
        by_table[c["table_name"]].append(f"\"{c['column_name']}\"::text ~ '{pattern}'")
    found = {}
    for table, tests in sorted(by_table.items()):
        rows = await conn.fetch(f'SELECT t::text AS row FROM "{table}" t WHERE {" OR ".join(tests)}')
        if rows:
            found[table] = len(rows)
            print(f"control characters stored in {table}, e.g. {rows[0]['row'][:300]!r}", file=sys.stderr)
    return found


# ---- classifying
@dataclass(frozen=True)
class Verdict:
    case: FuzzCase
    outcome: str
    dead_lettered: bool
    error: str = ""  # for a fault: the exception the hub logged


WRONG = ("wrongly accepted", "answered to another organisation")
FAULTED = ("faulted", "faulted, answered on a retry")
# Faults that say nothing of the message: a service away or a concurrent change (hub/kernel/errors.py).
TRANSIENT = {"TransientError", "ConcurrentAttemptsError"}


def classify(cases: list[FuzzCase], sent: dict[str, str], observer: Observer) -> list[Verdict]:
    taken: defaultdict[tuple[str, str], set[int]] = defaultdict(set)  # answers given to cases sharing a key
    answering = sorted({org for org, _ in observer.answers})
    sendable = [c for c in cases if not sent[c.case_id].startswith(("refused", "unsendable", "returned"))]
    letters_of = {c.case_id: _dead_letters(c, observer) for c in cases}
    # Every case first takes an answer on its own sender's queue; only then may one left without
    # take what is left on another's (misrouted): ids reused across senders are not misroutes.
    # First the answers of the kind each case expects (a dead-lettered case, a rejection), so that
    # of cases sharing an id none takes the answer another needs; then whatever is left.
    answers = {c.case_id: _claim(c, observer, taken, [c.sender], bool(letters_of[c.case_id]), True) for c in sendable}
    for c in sendable:
        if answers[c.case_id] is None:
            answers[c.case_id] = _claim(c, observer, taken, [c.sender], bool(letters_of[c.case_id]))
    twins = _redeliveries(sendable)  # rightly unanswered: they take no one else's answer either
    for c in sendable:
        if answers[c.case_id] is None and _correlation_id(c) and c.case_id not in twins:
            others = (o for o in answering if o != c.sender)
            answers[c.case_id] = _claim(c, observer, taken, others, bool(letters_of[c.case_id]))
    verdicts = []
    for c in cases:
        status, letters = sent[c.case_id], letters_of[c.case_id]
        dead_lettered = bool(letters)
        faults = observer.faults.get(_logged_id(c.message_id), []) if c.message_id else []
        if status.startswith(("refused", "unsendable")) or status == "returned":
            verdicts.append(
                Verdict(c, "refused by the broker" if status != "returned" else "unroutable (returned)", False, status)
            )
            continue
        answer = answers[c.case_id]
        if faults and answer is not None and all(f.get("error") in TRANSIENT for f in faults):
            # A concurrent change (another message of the same learner) rolled it back; retried, answered.
            verdicts.append(Verdict(c, "retried after a concurrent change, answered", dead_lettered))
            continue
        if faults or any(d.by_broker for d in letters):
            # No fault logged: every delivery ended with the hub's connection (a framing error), not in a handler.
            logged = ", ".join(sorted({str(f.get("error")) for f in faults}))
            error = logged or "connection lost, delivery limit reached"
            # Answered on a later delivery: it failed only because another message of its micro-batch did.
            outcome = "faulted, answered on a retry" if answer is not None else "faulted"
            verdicts.append(Verdict(c, outcome, dead_lettered, error))
            continue
        if answer is None and c.case_id in twins:
            verdicts.append(Verdict(c, "taken for a redelivery", dead_lettered))
        elif answer is None:
            verdicts.append(Verdict(c, "dead-lettered, no answer" if dead_lettered else "lost", dead_lettered))
        elif answer.queue_org != c.sender:
            verdicts.append(Verdict(c, "answered to another organisation", dead_lettered, answer.queue_org))
        elif answer.type == REJECTED:
            verdicts.append(Verdict(c, "rejected with an answer", dead_lettered))
        elif c.bad_item is not None and _item_rejected(answer, c.bad_item):
            verdicts.append(Verdict(c, "bad item rejected", dead_lettered))
        elif c.must_reject:
            verdicts.append(Verdict(c, "wrongly accepted", dead_lettered, f"{answer.type} {_gist(answer.body)}"))
        else:
            verdicts.append(Verdict(c, "accepted", dead_lettered))
    return verdicts


def _claim(
    c: FuzzCase,
    observer: Observer,
    taken: defaultdict[tuple[str, str], set[int]],
    orgs: Iterable[str],
    dead: bool,
    strict: bool = False,
) -> Answer | None:
    """The next answer correlated with this case that is still free on one of `orgs`' queues.

    Answers to messages without a usable id carry no correlation_id, so they are told apart only by
    the queue they reached. Of several answers sharing a key (a reused message_id: the hub takes
    whichever arrives first and refuses the other), a dead-lettered case takes a rejection and any
    other case an answer that is not one, when there is such.
    """
    correlation_id = _correlation_id(c)
    for org in orgs:
        key = (org, correlation_id)
        free = [i for i in range(len(observer.answers.get(key, []))) if i not in taken[key]]
        if not free:
            continue
        got = observer.answers[key]
        index = next((i for i in free if (got[i].type == REJECTED) == dead), None if strict else free[0])
        if index is None:
            continue
        taken[key].add(index)
        return got[index]
    return None


def _redeliveries(cases: list[FuzzCase]) -> set[str]:
    """Cases that repeat an earlier case's sender, message_id and bytes: the hub takes them for a
    redelivery of it (deduplication is per sender), and rightly answers them no more."""
    seen: set[tuple[str, str, bytes]] = set()
    twins = set()
    for c in cases:
        correlation_id = _correlation_id(c)
        if not correlation_id:
            continue
        key = (c.sender, correlation_id, c.body)
        if key in seen:
            twins.add(c.case_id)
        seen.add(key)
    return twins


def _logged_id(message_id: str) -> str:
    """The message_id as the hub logs it (adapters/rabbit/consumer.py escapes what is not printable ASCII)."""
    return message_id if message_id.isascii() and message_id.isprintable() else ascii(message_id)[:300]


def _dead_letters(c: FuzzCase, observer: Observer) -> list[DeadLetter]:
    if c.case_id in observer.dead:
        return observer.dead[c.case_id]
    undecodable = any(type(k).__name__ == "RawStr" for k in c.headers)  # the dead letter lost FUZZ_ID
    return observer.dead_without_headers.get(c.message_id or "", []) if undecodable else []


def _correlation_id(c: FuzzCase) -> str:
    """What the hub's answer to `c` carries: its message_id, if the hub may echo it (printable ASCII)."""
    usable = c.message_id is not None and re.fullmatch(r"[\x21-\x7e]{1,255}", c.message_id) is not None
    return c.message_id if usable and c.message_id else ""


def _item_rejected(answer: Answer, index: int) -> bool:
    items = answer.body.get("items", []) if isinstance(answer.body, dict) else []
    item = next((i for i in items if isinstance(i, dict) and i.get("index") == index), None)
    return item is not None and (item.get("outcome") == "rejected" or bool(item.get("errors")))


def _gist(body: Any) -> str:
    if isinstance(body, dict):
        return str(body.get("response_code") or body.get("outcome") or body.get("status") or list(body)[:3])
    return ""


def _example(case: FuzzCase) -> str:
    """A case in one line: its type, sender and what was broken, with the start of its body."""
    props = {k: getattr(case, k) for k in ("message_id", "amqp_type", "content_type")}
    body = case.body[:120] + (b"..." if len(case.body) > 120 else b"")
    headers = {
        k: (v if len(repr(v)) < 60 else f"{type(v).__name__} of {len(repr(v))}") for k, v in case.headers.items()
    }
    return (
        f"{case.base_type} from {case.sender}: {case.detail} | body {body!r} ({len(case.body)} B)"
        + (f" | headers {headers}" if headers else "")
        + (f" | {props}" if case.mutation.startswith("prop") else "")
    )


def summarise(verdicts: list[Verdict], observer: Observer, extra: dict[str, Any]) -> dict[str, Any]:
    outcomes = Counter(v.outcome for v in verdicts)
    hub_handled = [
        v for v in verdicts if v.case.expect in (HUB, NO_ANSWER) and not v.outcome.startswith(("refused", "unroutable"))
    ]
    known = [v for v in hub_handled if v.case.expect == HUB]
    fault_classes: dict[str, list[Verdict]] = defaultdict(list)
    wrong_classes: dict[str, list[Verdict]] = defaultdict(list)
    collateral: Counter[str] = Counter()
    for v in verdicts:
        if v.outcome == "faulted":
            fault_classes[f"{v.case.mutation}: {v.error}"].append(v)
        elif v.outcome == "faulted, answered on a retry":
            collateral[v.error] += 1
        elif v.outcome in WRONG:
            wrong_classes[v.case.mutation].append(v)
    db_rows = extra.get("db_rows_with_control_characters", {})
    return {
        "messages": len(verdicts),
        "published": sum(1 for v in verdicts if v.outcome not in ("refused by the broker",)),
        "outcomes": dict(sorted(outcomes.items())),
        "rejected_with_answer": outcomes["rejected with an answer"] + outcomes["bad item rejected"],
        "dead_lettered": sum(v.dead_lettered for v in verdicts),
        "dead_letter_bytes": observer.dead_bytes,
        "faulted": sum(outcomes[o] for o in FAULTED),
        "faulted_message_ids": len(observer.faults),
        "faulted_answered_on_retry": dict(collateral),
        "hub_tracebacks": dict(observer.tracebacks),
        "wrongly_applied": sum(outcomes[o] for o in WRONG) + sum(db_rows.values()),
        # A known sender's message must be answered, or at least dead-lettered with the hub's reason.
        "known_sender_unanswered": sum(1 for v in known if v.outcome in ("dead-lettered, no answer", "lost")),
        "known_sender_unanswered_examples": [
            _example(v.case) for v in known if v.outcome in ("dead-lettered, no answer", "lost")
        ][:5],
        "lost": outcomes["lost"],
        "lost_classes": dict(Counter(v.case.mutation for v in verdicts if v.outcome == "lost").most_common()),
        "rejected_not_dead_lettered": sum(
            1 for v in verdicts if v.outcome == "rejected with an answer" and not v.dead_lettered
        ),
        "rejected_not_dead_lettered_classes": dict(
            Counter(
                v.case.mutation for v in verdicts if v.outcome == "rejected with an answer" and not v.dead_lettered
            ).most_common()
        ),
        "broker_expectations_missed": sum(
            1 for v in verdicts if v.case.expect == BROKER_REFUSES and not v.outcome.startswith("refused")
        ),
        "fault_classes": {k: len(v) for k, v in sorted(fault_classes.items(), key=lambda kv: -len(kv[1]))},
        "fault_examples": {k: _example(min(v, key=lambda x: len(x.case.body)).case) for k, v in fault_classes.items()},
        "wrongly_applied_classes": {k: len(v) for k, v in sorted(wrong_classes.items(), key=lambda kv: -len(kv[1]))},
        "wrongly_applied_examples": {
            k: [f"{_example(x.case)} -> {x.error}" for x in _distinct(v)[:3]] for k, v in wrong_classes.items()
        },
        "mutations": len({v.case.mutation for v in verdicts}),
        "message_types": len({v.case.base_type for v in verdicts}),
        **extra,
    }


def _distinct(verdicts: list[Verdict]) -> list[Verdict]:
    seen, out = set(), []
    for v in sorted(verdicts, key=lambda x: len(x.case.body)):
        key = v.case.detail.split(" ")[0] + v.case.base_type
        if key not in seen:
            seen.add(key)
            out.append(v)
    return out


# ---- the campaign
async def campaign(opts: Options, s: Settings) -> dict[str, Any]:
    """Run the campaign against `hub serve` on the database and vhost of `s` (both must exist)."""
    started = time.monotonic()
    observer = Observer()
    # Importing adapters.rabbit made this process's AMQP client tolerate short strings that are not
    # UTF-8 too (adapters/rabbit/wire.py), so the campaign sees the dead letters of such messages.
    return await _campaign(opts, s, started, observer)


async def _campaign(opts: Options, s: Settings, started: float, observer: Observer) -> dict[str, Any]:
    async with AsyncExitStack() as stack:
        admin = BrokerAdmin(s.rabbit_management_url, "guest", "guest", s.vhost)
        stack.push_async_callback(admin.close)
        await asyncio.to_thread(apply_migrations, s.database_url)
        guest = await aio_pika.connect(s.amqp_url)
        stack.push_async_callback(guest.close)
        guest_channel = await guest.channel()
        await declare_topology(guest_channel, opts.delivery_limit)  # as the hub will: the same arguments
        orgs, passwords = await _organisations(stack, s, admin)
        proc = await _start_hub(stack, s, opts, observer)
        for queue in (REGISTRATION_QUEUE, RECORDS_QUEUE, SHARING_QUEUE):
            await wait_for_consumer(guest_channel, queue)
        await _consume(stack, s.amqp_url, DEAD_LETTER_QUEUE, partial(_on_dead, observer))
        publishers = {}
        for org in (*orgs.answering(), orgs.unregistered):
            url = s.amqp_url_for(org, passwords[org])
            publishers[org] = Publisher(url)
            stack.push_async_callback(publishers[org].close)
            if org in orgs.answering():
                await _consume(stack, url, outbound_queue_name(org), partial(_on_answer, observer, org))

        # The examples' learner, registered by the provider, so that a bad message that passes is applied.
        learner = valid_case("learner.register.v1", orgs, random.Random(0))
        example = examples.EXAMPLES["learner.register.v1"].model_dump(mode="json")["learner"]
        body = json.loads(learner.body) | {"learner": example}
        learner = replace(learner, body=json.dumps(body).encode(), message_id=str(uuid.uuid4()))
        answer = await _ask(publishers[orgs.provider], observer, learner, 60)
        if answer is None or not isinstance(answer.body, dict) or not answer.body.get("uln"):
            raise RuntimeError(f"the hub did not register the campaign's learner: {answer}")
        orgs = replace(orgs, uln=answer.body["uln"])

        cases = generate(opts.count, opts.seed, orgs, opts.huge_bytes, opts.only)
        print(f"{len(cases)} cases generated in {time.monotonic() - started:.0f}s; publishing", file=sys.stderr)
        # Cases that break the AMQP framing go last, on their own: each one drops the hub's connection,
        # which returns everything then in flight to the queue, and would hide what the others do.
        sent: dict[str, str] = {}
        for phase in ([c for c in cases if not _has_raw_strings(c)], [c for c in cases if _has_raw_strings(c)]):
            sent |= await _publish_all(phase, publishers, opts.window)
            await _wait(phase, sent, observer, opts, started)

        alive_case = valid_case("learner.find_by_uln.v1", orgs, random.Random(1), "alive")
        alive_case = replace(alive_case, message_id=str(uuid.uuid4()))
        alive = proc.returncode is None and await _ask(publishers[orgs.provider], observer, alive_case, 30) is not None
        peak = _peak_memory_mb(proc.pid)
        conn = await asyncpg.connect(s.database_url)
        stack.push_async_callback(conn.close)
        stored = await control_characters_stored(conn)
        learners = await conn.fetchval("SELECT count(*) FROM learner")
    verdicts = classify(cases, sent, observer)
    extra = {
        "hub_alive": alive,
        "hub_peak_memory_mb": peak,
        "db_rows_with_control_characters": stored,
        "learners_stored": learners,
        "dead_letters_unmatched": observer.dead_unmatched,
        "concurrent_twins_retried": observer.concurrent_twins,
        "elapsed_s": round(time.monotonic() - started, 1),
        "seed": opts.seed,
    }
    return summarise(verdicts, observer, extra)


async def _publish_all(cases: list[FuzzCase], publishers: dict[str, Publisher], window: int) -> dict[str, str]:
    sent: dict[str, str] = {}
    slots = asyncio.Semaphore(window)

    async def one(case: FuzzCase) -> None:
        try:
            sent[case.case_id] = await publishers[case.sender].publish(case)
        finally:
            slots.release()

    tasks = []
    for i, case in enumerate(cases):
        await slots.acquire()
        tasks.append(asyncio.create_task(one(case)))
        if i % 2000 == 1999:
            print(f"published {i + 1}", file=sys.stderr)
    await asyncio.gather(*tasks)
    return sent


async def _wait(cases: list[FuzzCase], sent: dict[str, str], observer: Observer, opts: Options, started: float) -> None:
    """Until every published case was answered or dead-lettered (or nothing arrives any more)."""
    expected = [c for c in cases if sent[c.case_id] == "sent"]
    while True:
        pending = [c for c in expected if not _seen(c, observer)]
        idle = time.monotonic() - observer.last_arrival
        if (not pending and idle > opts.settle_s) or idle > opts.quiet_s or time.monotonic() - started > opts.timeout_s:
            print(f"done waiting: {len(pending)} cases without an outcome", file=sys.stderr)
            return
        await asyncio.sleep(0.5)


def _seen(c: FuzzCase, observer: Observer) -> bool:
    if _dead_letters(c, observer):
        return True
    return c.expect != NO_ANSWER and (c.sender, _correlation_id(c)) in observer.answers


# ---- the bench: a fresh database and vhost, a table
async def run(opts: Options) -> dict[str, Any]:
    run_id = secrets.token_hex(4)
    db, vhost = f"lrs_fuzz_{run_id}", f"fuzz_{run_id}"
    s = Settings(
        database_url=f"postgresql://postgres@127.0.0.1:5432/{db}",
        amqp_url=f"{AMQP}{vhost}",
        rabbit_management_url=MANAGEMENT,
    )
    async with AsyncExitStack() as stack:  # everything below is undone, in reverse, even on failure
        pg = await asyncpg.connect(PG_ADMIN)
        stack.push_async_callback(pg.close)
        await pg.execute(f'CREATE DATABASE "{db}"')
        stack.push_async_callback(pg.execute, f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')
        admin = BrokerAdmin(MANAGEMENT, "guest", "guest", vhost)
        stack.push_async_callback(admin.close)
        await admin.ensure_vhost()
        stack.push_async_callback(admin.delete_vhost)
        await admin.grant_full_access("guest")
        print(f"database {db}, vhost {vhost}", file=sys.stderr)
        return await campaign(opts, s)


def show(r: dict[str, Any]) -> None:
    console = Console(width=200)
    table = Table(
        "outcome",
        "messages",
        title=f"fuzz: {r['messages']} bad messages, {r['mutations']} mutations x "
        f"{r['message_types']} message types, seed {r['seed']}",
    )
    for outcome, n in r["outcomes"].items():
        table.add_row(outcome, str(n))
    for key in (
        "rejected_with_answer",
        "dead_lettered",
        "dead_letter_bytes",
        "faulted",
        "faulted_message_ids",
        "faulted_answered_on_retry",
        "hub_tracebacks",
        "lost_classes",
        "wrongly_applied",
        "known_sender_unanswered",
        "rejected_not_dead_lettered",
        "rejected_not_dead_lettered_classes",
        "broker_expectations_missed",
        "hub_alive",
        "hub_peak_memory_mb",
        "learners_stored",
        "elapsed_s",
    ):
        table.add_row(f"[bold]{key}[/bold]", str(r[key]))
    console.print(table)
    for title, counts, examples_ in (
        ("faulted", r["fault_classes"], r["fault_examples"]),
        ("wrongly applied", r["wrongly_applied_classes"], r["wrongly_applied_examples"]),
    ):
        if counts:
            console.print(f"[bold]{title}, by class[/bold] (count, then the smallest example)")
            for k, n in counts.items():
                shown = examples_[k] if isinstance(examples_[k], list) else [examples_[k]]
                console.print(f"  {n:5d}  {k}", highlight=False)
                for e in shown:
                    console.print(f"         e.g. {e}", highlight=False, markup=False)
    if r["db_rows_with_control_characters"]:
        console.print(f"control characters stored, rows per table: {r['db_rows_with_control_characters']}")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    d = Options()
    p.add_argument("--count", type=int, default=d.count, help="bad messages to send")
    p.add_argument("--seed", type=int, default=d.seed)
    p.add_argument(
        "--huge-kib",
        type=int,
        default=d.huge_bytes // 1024,
        help="body size above which the hub should refuse a body (assumed); oversized bodies go to twice it",
    )
    p.add_argument("--delivery-limit", type=int, default=d.delivery_limit, help="the hub's LRS_DELIVERY_LIMIT")
    p.add_argument("--window", type=int, default=d.window, help="messages in flight from the publishers")
    p.add_argument("--quiet-s", type=float, default=d.quiet_s, help="stop waiting after this long without news")
    p.add_argument("--timeout-s", type=float, default=d.timeout_s, help="the whole campaign at most")
    p.add_argument("--hub-log", default=d.hub_log, help="where the hub's own log lines go")
    p.add_argument("--only", nargs="*", default=[], help="only mutations whose names start with these")
    a = p.parse_args()
    opts = Options(
        a.count, a.seed, a.huge_kib * 1024, a.delivery_limit, a.window, a.quiet_s, d.settle_s, a.timeout_s, a.hub_log,
        tuple(a.only),
    )  # fmt: skip
    result = asyncio.run(run(opts))
    show(result)
    print(json.dumps(result, default=str))


if __name__ == "__main__":
    main()
