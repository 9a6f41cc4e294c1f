"""In-memory fakes of hub.kernel.ports: a unit of work whose changes are staged and applied on commit.

`async with uow:` copies the committed state; every repository works on that copy, and only
`commit()` makes it the committed state. Leaving without a commit throws the copy away, so a
test can prove that a rejected or failed message leaves nothing half-written.

Units of work run one at a time: a second waits at `async with` until the first has ended.
PostgreSQL's locks (births, the PLR entries `by_source` reads, verification attempt counts)
make the transactions that touch the same rows wait like that; without it two copies would each
miss the other's changes, and the later commit would undo the earlier one.
"""

import asyncio
import copy
import itertools
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from types import TracebackType
from typing import Self

from hub.kernel.errors import TransientError
from hub.kernel.model import Challenge, ChallengeStatus, EventKind, Learner, LearnerStatus, LearningEvent, Organisation
from hub.kernel.ports import (
    AuditEntry,
    AuditLog,
    Batches,
    BatchRowOutcome,
    DeliveryRecord,
    Inbox,
    InboxKey,
    InboxRecord,
    LearnerRepository,
    LearningEvents,
    NoticeRecord,
    OrganisationRepository,
    OutboundMessage,
    Outbox,
    Sharing,
    Subscription,
    UnitOfWork,
    UnitOfWorkFactory,
    VerificationAttempts,
)
from hub.register.blocking import learner_block_keys
from hub.register.frequencies import NameFrequencies
from hub.sharing.policy import Agreement, Consent, Feed

_CANDIDATE_LIMIT = 200  # as the SQL's LIMIT
_NOT_YET_LOADED = datetime.max.replace(tzinfo=UTC)  # where an entry saved without a load date sorts


@dataclass
class FakeState:
    """Everything the database would hold; one copy is committed, one per open unit of work."""

    learners: dict[str, Learner] = field(default_factory=dict)
    registered_by: dict[str, str] = field(default_factory=dict)
    provider_links: set[tuple[str, str]] = field(default_factory=set)  # (uln, org_id)
    organisations: dict[str, Organisation] = field(default_factory=dict)
    inbox: dict[InboxKey, InboxRecord] = field(default_factory=dict)
    overrides: dict[str, tuple[str, str, list[str]]] = field(default_factory=dict)  # uln -> (org, reason, candidates)
    outbox: list[OutboundMessage] = field(default_factory=list)
    audit: list[AuditEntry] = field(default_factory=list)
    batch_rows: list[BatchRowOutcome] = field(default_factory=list)
    events: dict[str, LearningEvent] = field(default_factory=dict)  # the PLRs, by event_id
    agreements: list[Agreement] = field(default_factory=list)  # every version
    consents: dict[str, Consent] = field(default_factory=dict)
    subscriptions: dict[tuple[str, Feed], Subscription] = field(default_factory=dict)
    held: dict[tuple[str, str, str], DeliveryRecord] = field(default_factory=dict)  # (partner, uln, key)
    notices: dict[str, NoticeRecord] = field(default_factory=dict)
    challenges: dict[str, Challenge] = field(default_factory=dict)
    failed_verifications: dict[tuple[str, str], list[datetime]] = field(default_factory=dict)  # (sender, uln)


class FakeLearners:
    def __init__(self, uow: "FakeUnitOfWork") -> None:
        self._uow = uow

    async def get(self, uln: str) -> Learner | None:
        self._uow.maybe_fail("learners.get")
        return self._read(uln) if uln in self._uow.staged.learners else None

    def _read(self, uln: str) -> Learner:
        found = copy.deepcopy(self._uow.staged.learners[uln])  # callers must not change the register through it
        # As the SQL derives them: the learners linked to it now, whatever the Learner added said.
        found.linked_ulns = sorted(u for u, other in self._uow.staged.learners.items() if other.master_uln == uln)
        return found

    async def get_many(self, ulns: Sequence[str]) -> dict[str, Learner]:
        found = {uln: await self.get(uln) for uln in ulns}
        return {uln: learner for uln, learner in found.items() if learner is not None}

    async def candidates(self, block_keys: set[str]) -> list[Learner]:
        """Block as the register does: active learners sharing any blocking key; past the cap, those
        sharing the most keys (then by ULN), as the SQL keeps them."""
        self._uow.maybe_fail("learners.candidates")
        shared = {uln: len(learner_block_keys(x) & block_keys) for uln, x in self._uow.staged.learners.items()}
        blocked = sorted((u for u, n in shared.items() if n), key=lambda u: (-shared[u], u))[:_CANDIDATE_LIMIT]
        return [self._read(u) for u in blocked if self._uow.staged.learners[u].status == LearnerStatus.ACTIVE]

    async def add(self, learner: Learner, registered_by: str) -> None:
        self._uow.maybe_fail("learners.add")
        if learner.uln in self._uow.staged.learners:
            raise AssertionError(f"ULN {learner.uln} is already in the register (primary key violation)")
        self._uow.staged.learners[learner.uln] = copy.deepcopy(learner)
        self._uow.staged.registered_by[learner.uln] = registered_by

    async def update(self, learner: Learner) -> None:
        self._uow.maybe_fail("learners.update")
        stored = self._uow.staged.learners.get(learner.uln)
        if stored is None:
            raise AssertionError(f"ULN {learner.uln} is not in the register; update would change no row")
        # As PostgreSQL does: version n+1 replaces version n only (tests/ports/test_learners_port.py).
        if stored.version != learner.version - 1:
            raise TransientError(f"learner changed concurrently (version {learner.version} not applied)")
        self._uow.staged.learners[learner.uln] = copy.deepcopy(learner)

    async def link(self, uln: str, master_uln: str | None) -> None:
        self._uow.maybe_fail("learners.link")
        learner = self._uow.staged.learners[uln]
        learner.status = LearnerStatus.LINKED if master_uln else LearnerStatus.ACTIVE
        learner.master_uln = master_uln

    async def name_frequencies(self) -> NameFrequencies:
        active = [x.details for x in self._uow.staged.learners.values() if x.status == LearnerStatus.ACTIVE]
        return NameFrequencies.of_names((d.given_name, d.family_name, 1) for d in active)

    async def record_override(self, uln: str, org_id: str, reason: str, candidate_ulns: list[str]) -> None:
        if uln in self._uow.staged.overrides:
            raise AssertionError(f"ULN {uln} already has an override (primary key violation)")
        self._uow.staged.overrides[uln] = (org_id, reason, list(candidate_ulns))

    async def recent(self, limit: int) -> list[str]:
        active = [u for u, x in self._uow.staged.learners.items() if x.status == LearnerStatus.ACTIVE]
        return list(reversed(active))[:limit]

    async def next_issue_number(self) -> int:
        # Like a PostgreSQL sequence: never rolled back, so it is not part of the staged state.
        self._uow.maybe_fail("learners.next_issue_number")
        return next(self._uow.factory.issue_numbers)

    async def lock_births_on(self, born: date) -> None:
        self._uow.maybe_fail("learners.lock_births_on")  # one task at a time: nothing to serialise

    async def link_provider(self, uln: str, org_id: str) -> None:
        self._uow.maybe_fail("learners.link_provider")
        self._uow.staged.provider_links.add((uln, org_id))

    async def is_linked(self, uln: str, org_id: str) -> bool:
        self._uow.maybe_fail("learners.is_linked")
        return (uln, org_id) in self._uow.staged.provider_links

    async def registered_by(self, uln: str) -> str | None:
        return self._uow.staged.registered_by.get(uln)


class FakeLearningEvents:
    """The PLRs in memory; results are copies, as rows read from a database would be.

    As the SQL does at commit, an entry saved is stamped updated then, and loaded then unless
    it was loaded before (DateLoaded is kept from its first save) or says when it was."""

    def __init__(self, uow: "FakeUnitOfWork") -> None:
        self._uow = uow

    def stamp(self, committed: FakeState, now: datetime) -> None:
        """Date this transaction's saves as its commit writes them."""
        for event_id in self._uow.saved_events:
            event, before = self._uow.staged.events[event_id], committed.events.get(event_id)
            event.loaded_at = (before.loaded_at if before else None) or event.loaded_at or now
            event.updated_at = now
        self._uow.saved_events.clear()

    async def by_source(self, source_org: str, kind: EventKind, refs: Sequence[str]) -> dict[str, LearningEvent]:
        self._uow.maybe_fail("plr.by_source")
        wanted = set(refs)
        return {
            e.source_ref: copy.deepcopy(e)
            for e in self._uow.staged.events.values()
            if e.source_org == source_org and e.kind == kind and e.source_ref in wanted
        }

    async def get(self, event_id: str) -> LearningEvent | None:
        return copy.deepcopy(self._uow.staged.events.get(event_id))

    async def save(self, event: LearningEvent) -> None:
        self._uow.maybe_fail("plr.save")
        for other in self._uow.staged.events.values():
            same_name = (other.source_org, other.kind, other.source_ref) == (
                event.source_org,
                event.kind,
                event.source_ref,
            )
            if same_name and other.event_id != event.event_id:
                raise AssertionError("(source_org, kind, source_ref) is already taken (unique violation)")
        self._uow.staged.events[event.event_id] = copy.deepcopy(event)
        self._uow.saved_events.add(event.event_id)

    async def for_learners(self, ulns: Sequence[str]) -> list[LearningEvent]:
        found = [copy.deepcopy(e) for e in self._uow.staged.events.values() if e.uln in set(ulns)]
        return sorted(found, key=lambda e: (e.loaded_at or _NOT_YET_LOADED, e.event_id))  # as the SQL orders them

    async def changed_since(self, kind: EventKind, since: datetime, after: str, limit: int) -> list[LearningEvent]:
        # Committed entries only, as the SQL reads the table: this transaction's saves are not written yet.
        committed = self._uow.factory.state.events
        dated = [(e.updated_at, e.event_id, e) for e in committed.values() if e.kind == kind and e.updated_at]
        later = sorted((x for x in dated if (x[0], x[1]) > (since, after)), key=lambda x: (x[0], x[1]))
        return [copy.deepcopy(e) for _, _, e in later[:limit]]

    async def open_challenges(self, event_ids: Sequence[str]) -> list[Challenge]:
        return [
            copy.deepcopy(c)
            for c in self._uow.staged.challenges.values()
            if c.event_id in set(event_ids) and c.status == ChallengeStatus.OPEN
        ]

    async def get_challenge(self, challenge_id: str) -> Challenge | None:
        return copy.deepcopy(self._uow.staged.challenges.get(challenge_id))

    async def save_challenge(self, challenge: Challenge) -> None:
        if challenge.status == ChallengeStatus.OPEN and any(
            c.event_id == challenge.event_id and c.status == ChallengeStatus.OPEN and cid != challenge.challenge_id
            for cid, c in self._uow.staged.challenges.items()
        ):
            raise AssertionError(f"entry {challenge.event_id} already has an open challenge (unique violation)")
        self._uow.staged.challenges[challenge.challenge_id] = copy.deepcopy(challenge)


class FakeSharing:
    def __init__(self, uow: "FakeUnitOfWork") -> None:
        self._uow = uow

    async def agreements(self) -> list[Agreement]:
        latest: dict[str, Agreement] = {}
        for a in self._uow.staged.agreements:
            if a.agreement_id not in latest or a.version > latest[a.agreement_id].version:
                latest[a.agreement_id] = a
        return list(latest.values())

    async def save_agreement(self, agreement: Agreement) -> None:
        if any(
            (a.agreement_id, a.version) == (agreement.agreement_id, agreement.version)
            for a in self._uow.staged.agreements
        ):
            raise AssertionError(f"{agreement.agreement_id} version {agreement.version} exists (primary key violation)")
        self._uow.staged.agreements.append(agreement)

    async def consents(self, ulns: Sequence[str]) -> dict[str, Consent]:
        return {u: self._uow.staged.consents[u] for u in ulns if u in self._uow.staged.consents}

    async def save_consent(self, consent: Consent) -> None:
        # As PostgreSQL does: version n+1 replaces version n only (tests/ports/test_sharing_port.py).
        stored = self._uow.staged.consents.get(consent.uln)
        if stored is not None and stored.version != consent.version - 1:
            raise TransientError(f"consent of a learner changed concurrently (version {consent.version} not applied)")
        self._uow.staged.consents[consent.uln] = consent

    async def subscriptions(self, feed: Feed | None = None) -> list[Subscription]:
        found = [s for s in self._uow.staged.subscriptions.values() if feed is None or s.feed == feed]
        return sorted(found, key=lambda s: s.partner)

    async def subscribe(self, subscription: Subscription) -> None:
        self._uow.staged.subscriptions[(subscription.partner, subscription.feed)] = subscription

    async def unsubscribe(self, partner: str, feed: Feed) -> bool:
        return self._uow.staged.subscriptions.pop((partner, feed), None) is not None

    async def held(
        self, *, partner: str | None = None, ulns: Sequence[str] | None = None, keys: Sequence[str] | None = None
    ) -> list[DeliveryRecord]:
        return sorted(
            (
                h
                for h in self._uow.staged.held.values()
                if (partner is None or h.partner == partner)
                and (ulns is None or h.uln in ulns)
                and (keys is None or h.key in keys)
            ),
            key=lambda h: (h.partner, h.uln, h.key),
        )

    async def delivered(self, records: Sequence[DeliveryRecord]) -> None:
        for r in records:
            self._uow.staged.held[(r.partner, r.uln, r.key)] = r

    async def recalled(self, partner: str, uln: str, keys: Sequence[str]) -> None:
        for key in keys:
            self._uow.staged.held.pop((partner, uln, key), None)

    async def rekeyed(self, partner: str, old_uln: str, new_uln: str) -> None:
        held = self._uow.staged.held
        for (p, u, k), record in list(held.items()):
            if p == partner and u == old_uln:
                del held[(p, u, k)]
                held.setdefault((p, new_uln, k), replace(record, uln=new_uln))

    async def add_notice(self, notice: NoticeRecord) -> None:
        self._uow.staged.notices[notice.notice_id] = notice

    async def acknowledge(self, partner: str, notice_ids: Sequence[str], at: datetime) -> list[str]:
        acked = []
        for notice_id in dict.fromkeys(notice_ids):  # each once, as the UPDATE ... RETURNING has them
            notice = self._uow.staged.notices.get(notice_id)
            if notice is not None and notice.partner == partner:
                self._uow.staged.notices[notice_id] = replace(notice, acknowledged_at=notice.acknowledged_at or at)
                acked.append(notice_id)
        return acked

    async def expired_nominations(self, today: date) -> list[tuple[str, str]]:
        held = {(h.partner, h.uln) for h in self._uow.staged.held.values()}
        return sorted(
            (uln, org)
            for uln, consent in self._uow.staged.consents.items()
            for org, until in consent.nominations.items()
            if until < today and (org, uln) in held
        )


class FakeOrganisations:
    def __init__(self, uow: "FakeUnitOfWork") -> None:
        self._uow = uow

    async def get(self, org_id: str) -> Organisation | None:
        self._uow.maybe_fail("organisations.get")
        return self._uow.staged.organisations.get(org_id)

    async def add(self, organisation: Organisation) -> None:
        self._uow.maybe_fail("organisations.add")
        self._uow.staged.organisations[organisation.org_id] = organisation


class FakeInbox:
    def __init__(self, uow: "FakeUnitOfWork") -> None:
        self._uow = uow

    async def prefetch(self, keys: Sequence[InboxKey]) -> None:
        pass  # in memory, every get is already free

    async def get(self, key: InboxKey) -> InboxRecord | None:
        self._uow.maybe_fail("inbox.get")
        return self._uow.staged.inbox.get(key)

    async def record(self, key: InboxKey, record: InboxRecord) -> None:
        self._uow.maybe_fail("inbox.record")
        if key in self._uow.recorded:  # PostgreSQL keeps the last; the hub records a message once
            raise AssertionError(f"inbox already holds {key!r} from this transaction")
        if key in self._uow.staged.inbox:
            # As PostgreSQL's commit fails: a concurrent delivery of the message won; retried, it is found.
            raise TransientError("same message handled concurrently")
        self._uow.recorded.add(key)
        self._uow.staged.inbox[key] = record

    async def forget(self, key: InboxKey) -> None:
        self._uow.maybe_fail("inbox.forget")
        self._uow.staged.inbox.pop(key, None)


class FakeOutbox:
    def __init__(self, uow: "FakeUnitOfWork") -> None:
        self._uow = uow

    async def add(self, message: OutboundMessage) -> None:
        self._uow.maybe_fail("outbox.add")
        self._uow.staged.outbox.append(message)


class FakeAuditLog:
    def __init__(self, uow: "FakeUnitOfWork") -> None:
        self._uow = uow

    async def append(self, entry: AuditEntry) -> None:
        self._uow.maybe_fail("audit.append")
        self._uow.staged.audit.append(entry)

    async def about(self, ulns: Sequence[str]) -> list[AuditEntry]:
        return [e for e in self._uow.staged.audit if e.uln in ulns]


class FakeVerificationAttempts:
    def __init__(self, uow: "FakeUnitOfWork") -> None:
        self._uow = uow

    async def failures(self, sender: str, ulns: Sequence[str], since: datetime) -> dict[str, int]:
        self._uow.maybe_fail("attempts.failures")
        failed = self._uow.staged.failed_verifications
        counts = {u: sum(1 for at in failed.get((sender, u), []) if at > since) for u in ulns}
        return {u: n for u, n in counts.items() if n}

    async def failed(self, sender: str, uln: str, at: datetime) -> None:
        self._uow.staged.failed_verifications.setdefault((sender, uln), []).append(at)


class FakeBatches:
    def __init__(self, uow: "FakeUnitOfWork") -> None:
        self._uow = uow

    async def record_row(self, outcome: BatchRowOutcome) -> None:
        self._uow.maybe_fail("batches.record_row")
        rows = self._uow.staged.batch_rows
        # One outcome per row, as the table's key has it: a row handled again (a replay) keeps its last.
        same = [i for i, r in enumerate(rows) if (r.batch_id, r.row_number) == (outcome.batch_id, outcome.row_number)]
        if same:
            rows[same[0]] = outcome
        else:
            rows.append(outcome)


class FakeUnitOfWork:
    """One transaction over the factory's committed state: copy on enter, apply on commit."""

    def __init__(self, factory: "FakeUnitOfWorkFactory") -> None:
        self.factory = factory
        self._staged: FakeState | None = None
        # What this transaction wrote, for what its commit does as PostgreSQL's does (see the repositories).
        self.saved_events: set[str] = set()
        self.recorded: set[InboxKey] = set()
        # Typed as the ports: the Protocol's attributes are mutable, hence invariant.
        self.learners: LearnerRepository = FakeLearners(self)
        self._plr = FakeLearningEvents(self)
        self.plr: LearningEvents = self._plr
        self.sharing: Sharing = FakeSharing(self)
        self.organisations: OrganisationRepository = FakeOrganisations(self)
        self.inbox: Inbox = FakeInbox(self)
        self.outbox: Outbox = FakeOutbox(self)
        self.audit: AuditLog = FakeAuditLog(self)
        self.attempts: VerificationAttempts = FakeVerificationAttempts(self)
        self.batches: Batches = FakeBatches(self)

    @property
    def staged(self) -> FakeState:
        if self._staged is None:
            raise AssertionError("unit of work used outside `async with`")
        return self._staged

    def maybe_fail(self, operation: str) -> None:
        fault = self.factory.faults.get(operation)
        if fault is not None:
            raise fault

    async def __aenter__(self) -> Self:
        await self.factory.take_turn()
        self._staged = copy.deepcopy(self.factory.state)
        self.saved_events, self.recorded = set(), set()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._staged = None  # rolled back: whatever was not committed is gone
        self.factory.rollbacks += 1
        self.factory.end_turn()

    async def commit(self) -> None:
        self._plr.stamp(self.factory.state, datetime.now(UTC))
        committed = copy.deepcopy(self.staged)
        # Update in place, so a test holding `factory.state` sees the commit.
        for name in vars(committed):
            setattr(self.factory.state, name, getattr(committed, name))
        self.factory.commits += 1


class FakeUnitOfWorkFactory:
    """Makes units of work on one shared in-memory state; pass it to hub.pipeline.inbound.handle_inbound.

    `faults` maps an operation ("outbox.add", "learners.add", ...) to an exception it raises,
    to prove a fault midway leaves nothing behind.
    """

    def __init__(self, first_issue_number: int = 1) -> None:
        self.state = FakeState()
        self.issue_numbers = itertools.count(first_issue_number)
        self.faults: dict[str, BaseException] = {}
        self.commits = 0
        self.rollbacks = 0
        self._turn = asyncio.Lock()
        self._turn_of: asyncio.Task[object] | None = None

    async def take_turn(self) -> None:
        """Wait until no other unit of work is open (see the module's docstring)."""
        task = asyncio.current_task()
        if task is not None and task is self._turn_of:
            raise AssertionError("a unit of work opened inside another in the same task would wait for itself")
        await self._turn.acquire()
        self._turn_of = task

    def end_turn(self) -> None:
        self._turn_of = None
        self._turn.release()

    def __call__(self) -> FakeUnitOfWork:
        return FakeUnitOfWork(self)

    def add_organisation(self, organisation: Organisation) -> Organisation:
        """Put an organisation straight into the committed state."""
        self.state.organisations[organisation.org_id] = organisation
        return organisation

    def add_learner(self, learner: Learner, *linked_providers: str) -> Learner:
        """Put a learner straight into the committed state, linked to the given providers."""
        self.state.learners[learner.uln] = copy.deepcopy(learner)
        self.state.registered_by[learner.uln] = linked_providers[0] if linked_providers else "seed"
        self.state.provider_links.update((learner.uln, org_id) for org_id in linked_providers)
        return learner


def _implements_the_ports(factory: FakeUnitOfWorkFactory) -> tuple[UnitOfWorkFactory, UnitOfWork]:
    """Never called: mypy checks here that the fakes satisfy hub.kernel.ports' Protocols."""
    return factory, factory()
