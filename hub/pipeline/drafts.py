"""What a handler decides to answer, before the disclosure gate projects it onto the wire.

Every draft carries the domain `events` to publish and the `notices` to send to organisations
other than the sender; the gate decides and audits each message that leaves.
"""

from dataclasses import dataclass

from contracts.base import Contract
from contracts.codes import BatchReturnCode, ResponseCode
from contracts.learner import RejectionError
from contracts.plr import ItemOutcome
from hub.kernel.model import Learner
from hub.kernel.vocabulary import What
from hub.register.matching import ScoredLearner
from hub.sharing.policy import Feed, Grant, Offer

DESCRIPTIONS = {
    ResponseCode.NO_MATCH: "No match",
    ResponseCode.TOO_MANY_MATCHES: "Too many matches: more than 10 candidates, supply more detail",
    ResponseCode.POSSIBLE_MATCHES: "Possible matches: choose a candidate or supply more detail",
    ResponseCode.EXACT_MATCH: "Exact match",
    ResponseCode.LEARNER_REGISTERED: "Learner registered with a new ULN",
    ResponseCode.LEARNER_UPDATED: "Learner updated",
    ResponseCode.RECORD_CHANGED_SINCE: "ULN record updated since you last obtained it",
    ResponseCode.INSUFFICIENT_DATA: "Insufficient data",
    ResponseCode.ULN_NOT_FOUND: "ULN not found for update",
    ResponseCode.NO_CHANGES: "No changes, learner not updated",
    ResponseCode.SAME_MANDATORY_FIELDS_EXIST: "Cannot register: learners with the same mandatory fields exist",
    ResponseCode.LINKED_LEARNER: "Linked learner: master record substituted",
    ResponseCode.INVALID_ULN: "Supplied ULN invalid",
    ResponseCode.NOT_VERIFIED: "Learner could not be verified",
    ResponseCode.OPTED_OUT: "Learner opted not to share; no learning events returned",
    ResponseCode.UPDATE_NOT_PERMITTED: "Learner not updated: only the registering provider may change these fields",
}

# Batch output return codes. RC006, RC011, RC012 and RC013 are the LRS's; RC001-RC004 are the
# hub's own for the four counted outcomes (the LRS's codes for them are not public).
_BATCH_CODES = {
    ResponseCode.LEARNER_REGISTERED: BatchReturnCode.NEW,
    ResponseCode.EXACT_MATCH: BatchReturnCode.EXISTING,
    ResponseCode.LINKED_LEARNER: BatchReturnCode.EXISTING,
    ResponseCode.POSSIBLE_MATCHES: BatchReturnCode.POSSIBLE_MATCHES,
    ResponseCode.SAME_MANDATORY_FIELDS_EXIST: BatchReturnCode.POSSIBLE_MATCHES,
    ResponseCode.TOO_MANY_MATCHES: BatchReturnCode.POSSIBLE_MATCHES,
    ResponseCode.NO_MATCH: BatchReturnCode.NOT_FOUND,
    ResponseCode.INSUFFICIENT_DATA: BatchReturnCode.INSUFFICIENT_DATA,
    ResponseCode.INVALID_ULN: BatchReturnCode.INCORRECT_IDENTIFIER,
}


@dataclass(frozen=True)
class Notice:
    """A message for an organisation other than the sender, about a record `about_org` sent."""

    recipient: str
    about_org: str
    uln: str | None
    message: Contract


@dataclass(frozen=True)
class DetailsChange:
    """A provider's change of a learner's register details, applied or refused, for the learner's audit log."""

    uln: str
    fields: tuple[str, ...]
    refused: str = ""  # why it was not applied; empty when it was
    note: str = ""  # what the learner should know of an applied change (who made it)


@dataclass(frozen=True)
class AnswerDraft:
    """A handler's decision; `learner` and `candidates` are disclosed only as the gate allows."""

    request_type: str
    code: ResponseCode
    description: str = ""
    uln: str | None = None
    learner: Learner | None = None
    candidates: tuple[ScoredLearner, ...] = ()
    match: ScoredLearner | None = None  # how an exact match agreed, to explain it
    mis_identifier: str | None = None
    events: tuple[Contract, ...] = ()
    batch_return_code: BatchReturnCode | None = None
    notices: tuple[Notice, ...] = ()
    change: DetailsChange | None = None  # an update's, audited by the gate with the answer

    @property
    def text(self) -> str:
        return self.description or DESCRIPTIONS.get(self.code, self.code.value)

    @property
    def batch_code(self) -> BatchReturnCode:
        return self.batch_return_code or _BATCH_CODES.get(self.code, BatchReturnCode.INCORRECT_FORMAT)


@dataclass(frozen=True)
class Attempt:
    """A check of a learner's details, for the log of the learner it named (`about`, the master's
    ULN; None: no such learner): its code, the fields that `differing`, `refused` unchecked by the
    attempt limit, or a `note` saying why details that matched were answered as not verified."""

    about: str | None
    code: ResponseCode
    verified: bool = False
    differing: tuple[str, ...] = ()
    refused: bool = False
    note: str = ""


@dataclass(frozen=True)
class VerifiedItem:
    """One verified item; `learner` (the master when linked) only when it verified. For the
    audit: `about`, the master ULN of the learner it named, verified or not; the fields that
    `differing`; `refused` unchecked by the attempt limit."""

    index: int
    ref: str | None
    supplied_uln: str | None
    code: ResponseCode | None
    learner: Learner | None
    errors: tuple[RejectionError, ...] = ()
    about: str | None = None
    differing: tuple[str, ...] = ()
    refused: bool = False


@dataclass(frozen=True)
class VerificationDraft:
    request_type: str
    items: tuple[VerifiedItem, ...]
    events: tuple[Contract, ...] = ()
    notices: tuple[Notice, ...] = ()


@dataclass(frozen=True)
class OutcomesDraft:
    """Receipts for what an organisation sent: each item applied or rejected with a reason."""

    request_type: str
    items: tuple[ItemOutcome, ...]
    events: tuple[Contract, ...] = ()
    notices: tuple[Notice, ...] = ()
    attempts: tuple[Attempt, ...] = ()  # the learners' details checked, audited as verifications are


@dataclass(frozen=True)
class ReplyDraft:
    """A reply to the sender about one learner (e.g. a challenge answer)."""

    reply: Contract
    uln: str | None
    events: tuple[Contract, ...] = ()
    notices: tuple[Notice, ...] = ()


@dataclass(frozen=True)
class PortalDraft:
    """An answer to the learner portal about the learner it speaks for (`what` names it in the log)."""

    answer: Contract
    uln: str | None
    what: What
    events: tuple[Contract, ...] = ()
    notices: tuple[Notice, ...] = ()


@dataclass(frozen=True)
class PartnerDraft:
    """An answer to a partner about its own requests (subscriptions, backfill pages): no learner
    data in it; a backfill page's allowed items (already ruled on and audited) go before it."""

    answer: Contract
    events: tuple[Contract, ...] = ()
    notices: tuple[Notice, ...] = ()
    delivery: tuple[Feed, tuple[tuple[Offer, Grant, int | None], ...]] | None = None


@dataclass(frozen=True)
class RecordDraft:
    """A partner's record request, verified (`code`); the gate rules on each offer for the purpose."""

    code: ResponseCode
    purpose: str
    offers: tuple[Offer, ...]
    uln: str
    description: str | None = None
    events: tuple[Contract, ...] = ()
    notices: tuple[Notice, ...] = ()
    attempts: tuple[Attempt, ...] = ()


Draft = RecordDraft | AnswerDraft | VerificationDraft | OutcomesDraft | ReplyDraft | PortalDraft | PartnerDraft
