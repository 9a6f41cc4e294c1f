"""What a handler decides to answer, before the disclosure gate projects it onto the wire."""

from dataclasses import dataclass

from contracts.base import Contract
from contracts.codes import BatchReturnCode, ResponseCode
from hub.matching import ScoredLearner
from hub.model import Learner

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

    @property
    def text(self) -> str:
        return self.description or DESCRIPTIONS.get(self.code, self.code.value)

    @property
    def batch_code(self) -> BatchReturnCode:
        return self.batch_return_code or _BATCH_CODES.get(self.code, BatchReturnCode.INCORRECT_FORMAT)
