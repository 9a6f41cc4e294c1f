"""What the hub needs from the outside world, as Protocols the adapters (and fakes) implement."""

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from types import TracebackType
from typing import Any, Protocol, Self

from hub.kernel.model import Challenge, EventKind, Learner, LearningEvent, Organisation
from hub.register.frequencies import NameFrequencies
from hub.sharing.policy import Agreement, Consent, Feed


@dataclass(frozen=True)
class OutboundMessage:
    """A message to publish after commit; the relay sets `message_id` to the outbox row's id."""

    exchange: str
    routing_key: str
    message_type: str
    body: dict[str, Any]
    correlation_id: str | None = None
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class InboxKey:
    """Which message an inbox record is about: message ids are the sender's own namespace.

    Two organisations may pick the same `message_id` (by chance, or one copying the other's to
    swallow its request); each sender's ids are deduplicated apart from everyone else's.
    """

    consumer: str
    sender: str
    message_id: str


@dataclass(frozen=True)
class InboxRecord:
    """What the inbox remembers of a message already handled by a consumer."""

    body_sha256: str
    dead_letter_reason: str | None


@dataclass(frozen=True)
class AuditEntry:
    """One disclosure decision: who received (or was refused) what, about whom, why.

    A provider's change of a learner's details is an entry too (`what` "learner.update"):
    `recipient` is then the provider that made or attempted it and `fields` the fields changed.

    A decision for a partner also names the agreement version and the learner's consent
    version it relied on (None for the Learner Register's own answers).
    """

    at: datetime
    recipient: str
    uln: str | None
    what: str
    purpose: str
    decision: str  # "allowed" | "refused"
    reason: str
    fields: tuple[str, ...]
    correlation_id: str | None
    agreement_id: str | None = None
    agreement_version: int | None = None
    consent_version: int | None = None

    @classmethod
    def of(
        cls,
        *,
        allowed: bool,
        at: datetime,
        recipient: str,
        what: str,
        purpose: str,
        uln: str | None = None,
        reason: str = "",
        fields: tuple[str, ...] = (),
        correlation_id: str | None = None,
        agreement_id: str | None = None,
        agreement_version: int | None = None,
        consent_version: int | None = None,
    ) -> "AuditEntry":
        """The one way to make an entry: by name, `what` and `purpose` from hub/kernel/vocabulary.py.

        They are stored as plain strings (a StrEnum's value), so that an entry read back from the
        log equals the one written, and hashes the same."""
        return cls(
            at=at,
            recipient=recipient,
            uln=uln,
            what=str(what),
            purpose=str(purpose),
            decision="allowed" if allowed else "refused",
            reason=reason,
            fields=fields,
            correlation_id=correlation_id,
            agreement_id=agreement_id,
            agreement_version=agreement_version,
            consent_version=consent_version,
        )


@dataclass(frozen=True)
class Subscription:
    partner: str
    feed: Feed
    purpose: str


@dataclass(frozen=True)
class DeliveryRecord:
    """What a partner holds of one learner: an entry (or the learner's details) as last delivered.

    `key` names it: the event id of a learning event, or "details" for learner details.
    Recall, correction and re-key notices are built from these.
    """

    partner: str
    uln: str
    feed: Feed
    key: str
    version: int | None
    fields: tuple[str, ...]
    agreement_id: str
    agreement_version: int
    consent_version: int
    purpose: str
    at: datetime


@dataclass(frozen=True)
class NoticeRecord:
    """A recall, correction or re-key notice sent to a partner, acknowledged or not."""

    notice_id: str
    partner: str
    kind: str
    uln: str | None
    keys: tuple[str, ...]
    reason: str
    at: datetime
    acknowledged_at: datetime | None = None


@dataclass(frozen=True)
class BatchRowOutcome:
    """The outcome of one row of an LRS batch file."""

    batch_id: str
    org_id: str
    row_number: int
    total_rows: int
    return_code: str
    response_code: str | None
    uln: str | None
    reason: str
    mis_identifier: str | None = None


class LearnerRepository(Protocol):
    async def get(self, uln: str) -> Learner | None: ...
    async def get_many(self, ulns: Sequence[str]) -> dict[str, Learner]:
        """The learners of those ULNs that exist (linked ones too), in one round trip."""
        ...

    async def candidates(self, block_keys: set[str]) -> list[Learner]:
        """The active learners indexed under any of `block_keys` (hub/register/blocking.py)."""
        ...

    async def add(self, learner: Learner, registered_by: str) -> None: ...
    async def update(self, learner: Learner) -> None: ...
    async def link(self, uln: str, master_uln: str | None) -> None:
        """Make `uln` a linked ULN of `master_uln`, or (None) an active learner again."""
        ...

    async def name_frequencies(self) -> NameFrequencies:
        """How common each name is in the register (may lag behind it by minutes)."""
        ...

    async def record_override(self, uln: str, org_id: str, reason: str, candidate_ulns: list[str]) -> None:
        """Keep why a provider had a new ULN issued despite possible matches."""
        ...

    async def recent(self, limit: int) -> list[str]:
        """The ULNs of the most recently registered active learners."""
        ...

    async def next_issue_number(self) -> int: ...
    async def lock_births_on(self, born: date) -> None:
        """Serialise, until commit, registrations of learners born on `born`."""
        ...

    async def link_provider(self, uln: str, org_id: str) -> None: ...
    async def is_linked(self, uln: str, org_id: str) -> bool: ...
    async def registered_by(self, uln: str) -> str | None:
        """The provider that registered the learner (None: no such ULN)."""
        ...


class LearningEvents(Protocol):
    """The Personal Learning Records: learning events and the challenges against them."""

    async def by_source(self, source_org: str, kind: EventKind, refs: Sequence[str]) -> dict[str, LearningEvent]:
        """The sender's entries by its own ids, locked until commit so amendments apply in turn."""
        ...

    async def get(self, event_id: str) -> LearningEvent | None: ...
    async def save(self, event: LearningEvent) -> None:
        """Insert or replace an entry (the same `event_id`); written at commit."""
        ...

    async def for_learners(self, ulns: Sequence[str]) -> list[LearningEvent]:
        """Every entry recorded against any of `ulns`, oldest first."""
        ...

    async def changed_since(self, kind: EventKind, since: datetime, after: str, limit: int) -> list[LearningEvent]:
        """Entries of `kind` in order of (updated_at, event_id), after (`since`, `after`)."""
        ...

    async def open_challenges(self, event_ids: Sequence[str]) -> list[Challenge]: ...
    async def get_challenge(self, challenge_id: str) -> Challenge | None: ...
    async def save_challenge(self, challenge: Challenge) -> None: ...


class Sharing(Protocol):
    """Data sharing agreements, learners' choices, subscriptions, and what partners hold."""

    async def agreements(self) -> list[Agreement]:
        """The latest version of every agreement (revoked ones included)."""
        ...

    async def save_agreement(self, agreement: Agreement) -> None:
        """Add a version of an agreement (earlier versions stay, for the decisions that named them)."""
        ...

    async def consents(self, ulns: Sequence[str]) -> dict[str, Consent]:
        """The learners' recorded choices (a learner who never chose is absent)."""
        ...

    async def save_consent(self, consent: Consent) -> None: ...
    async def subscriptions(self, feed: Feed | None = None) -> list[Subscription]: ...
    async def subscribe(self, subscription: Subscription) -> None: ...
    async def unsubscribe(self, partner: str, feed: Feed) -> bool: ...
    async def held(
        self, *, partner: str | None = None, ulns: Sequence[str] | None = None, keys: Sequence[str] | None = None
    ) -> list[DeliveryRecord]:
        """What partners hold (delivered and not recalled), narrowed by partner, learners or keys."""
        ...

    async def delivered(self, records: Sequence[DeliveryRecord]) -> None:
        """Record deliveries (replacing what the partner held under the same key)."""
        ...

    async def recalled(self, partner: str, uln: str, keys: Sequence[str]) -> None:
        """The partner was told to delete these: it no longer holds them."""
        ...

    async def rekeyed(self, partner: str, old_uln: str, new_uln: str) -> None: ...
    async def add_notice(self, notice: NoticeRecord) -> None: ...
    async def acknowledge(self, partner: str, notice_ids: Sequence[str], at: datetime) -> list[str]:
        """Mark the partner's notices acknowledged; return the ids that were its own."""
        ...

    async def expired_nominations(self, today: date) -> list[tuple[str, str]]:
        """(uln, org) of nominations that ended before `today` while their partner still holds data."""
        ...


class OrganisationRepository(Protocol):
    async def get(self, org_id: str) -> Organisation | None: ...
    async def add(self, organisation: Organisation) -> None: ...


class Inbox(Protocol):
    async def prefetch(self, keys: Sequence[InboxKey]) -> None:
        """Look several messages up at once, so that `get` for each needs no round trip."""
        ...

    async def get(self, key: InboxKey) -> InboxRecord | None: ...
    async def record(self, key: InboxKey, record: InboxRecord) -> None: ...
    async def forget(self, key: InboxKey) -> None: ...


class Outbox(Protocol):
    async def add(self, message: OutboundMessage) -> None: ...


class AuditLog(Protocol):
    async def append(self, entry: AuditEntry) -> None: ...
    async def about(self, ulns: Sequence[str]) -> list[AuditEntry]:
        """Every entry about these learners, oldest first (this transaction's too)."""
        ...


class VerificationAttempts(Protocol):
    """Each sender's failed verifications of each learner, for the attempt limit (hub/records/attempts.py)."""

    async def failures(self, sender: str, ulns: Sequence[str], since: datetime) -> dict[str, int]:
        """How often `sender` failed to verify each of `ulns` after `since` (absent: never), this
        transaction's failures included. The counts are locked until commit, so that two
        messages counting for the same sender and learner count in turn."""
        ...

    async def failed(self, sender: str, uln: str, at: datetime) -> None:
        """Count one more failure (written at commit)."""
        ...


class Batches(Protocol):
    async def record_row(self, outcome: BatchRowOutcome) -> None: ...


class UnitOfWork(Protocol):
    """One transaction: rolls back on leaving unless `commit` was called.

    The repositories are read-only properties, so that an adapter's own classes (each checked
    against its port by mypy) satisfy the protocol, not only attributes typed as the ports.
    """

    @property
    def learners(self) -> LearnerRepository: ...
    @property
    def plr(self) -> LearningEvents: ...
    @property
    def sharing(self) -> Sharing: ...
    @property
    def organisations(self) -> OrganisationRepository: ...
    @property
    def inbox(self) -> Inbox: ...
    @property
    def outbox(self) -> Outbox: ...
    @property
    def audit(self) -> AuditLog: ...
    @property
    def attempts(self) -> VerificationAttempts: ...
    @property
    def batches(self) -> Batches: ...

    async def __aenter__(self) -> Self: ...
    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None: ...
    async def commit(self) -> None: ...


class UnitOfWorkFactory(Protocol):
    def __call__(self) -> UnitOfWork: ...
