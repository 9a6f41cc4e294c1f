"""Handling one inbound message, whatever it is: the steps every consumer takes.

Validate, check the sender, apply the effect, queue the answer through the disclosure gate,
and record the message in the inbox, all in one unit of work. Bad input becomes a rejection
to its sender and a dead-letter reason for the adapter; it never half-applies.
"""

import hashlib
import re
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import partial

import pydantic_core
from pydantic import ValidationError

from contracts import EVENTS
from contracts.codes import BatchReturnCode
from contracts.learner import MessageRejected, RejectionError
from hub.disclosure import send_draft, send_rejection
from hub.kernel import clock
from hub.kernel.model import Organisation
from hub.kernel.ports import BatchRowOutcome, InboxKey, InboxRecord, UnitOfWork, UnitOfWorkFactory
from hub.pipeline.batch_rows import mis_identifier_of
from hub.pipeline.drafts import AnswerDraft, Draft
from hub.pipeline.events import publish_event
from hub.pipeline.items import judge_items, validation_errors
from hub.pipeline.routes import EVENT_HANDLERS, HANDLERS
from hub.pipeline.routing import BATCH_ID_HEADER, BATCH_ROW_HEADER, BATCH_ROWS_HEADER


@dataclass(frozen=True)
class BatchRef:
    """The LRS batch file row a message carries (from its headers)."""

    batch_id: str
    row_number: int
    total_rows: int

    def belongs_to(self, org_id: str) -> bool:
        """A batch file's name carries its provider's UKPRN: LRB_<UKPRN>_DDMMYYYYHHMM."""
        return self.batch_id.startswith(f"LRB_{org_id}_")

    def headers(self) -> dict[str, str]:
        return {
            BATCH_ID_HEADER: self.batch_id,
            BATCH_ROW_HEADER: str(self.row_number),
            BATCH_ROWS_HEADER: str(self.total_rows),
        }


# An LRS batch file holds at most 5,000 learners (DOMAIN.md); its name is LRB_<UKPRN>_DDMMYYYYHHMM.
MAX_BATCH_ROWS = 5000
_BATCH_ID = re.compile(r"LRB_[0-9]{8}_[0-9]{12}")


class HeaderError(ValueError):
    """Raised by `read_batch` when an AMQP header is present but not what the contract says."""

    def __init__(self, header: str, message: str) -> None:
        super().__init__(f"{header}: {message}")
        self.header, self.message = header, message


def _row_number(headers: Mapping[str, object], name: str) -> int:
    value = headers[name]
    if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) <= 5:
        value = int(value)
    if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= MAX_BATCH_ROWS:
        raise HeaderError(name, f"must be a whole number from 1 to {MAX_BATCH_ROWS}")
    return value


def read_batch(headers: Mapping[str, object]) -> BatchRef | None:
    """The batch file row named by a message's headers; None when it names none.

    Headers are validated like bodies: any of the three present means all three must be right.
    """
    names = (BATCH_ID_HEADER, BATCH_ROW_HEADER, BATCH_ROWS_HEADER)
    present = [n for n in names if n in headers]
    if not present:
        return None
    if len(present) < len(names):
        missing = ", ".join(n for n in names if n not in headers)
        raise HeaderError(missing, "a batch row carries all three batch headers")
    batch_id = headers[BATCH_ID_HEADER]
    if not isinstance(batch_id, str) or not _BATCH_ID.fullmatch(batch_id):
        raise HeaderError(BATCH_ID_HEADER, "must be a batch file name, LRB_<UKPRN>_DDMMYYYYHHMM")
    row, rows = _row_number(headers, BATCH_ROW_HEADER), _row_number(headers, BATCH_ROWS_HEADER)
    if row > rows:
        raise HeaderError(BATCH_ROW_HEADER, f"row {row} of a file of {rows} rows")
    return BatchRef(batch_id, row, rows)


@dataclass(frozen=True)
class InboundMessage:
    """A message as delivered; `sender` is the broker-validated AMQP user_id, nothing else."""

    consumer: str
    message_id: str
    message_type: str | None
    sender: str | None
    body: bytes
    routing_key: str = ""
    batch: BatchRef | None = None
    replay: bool = False  # an operator replayed it from the dead letters
    invalid_header: HeaderError | None = None  # what `read_batch` found wrong, answered as a rejection

    @property
    def usable_id(self) -> bool:
        """Whether `message_id` may be looked up, recorded and echoed (see _PRINTABLE_ID)."""
        return _PRINTABLE_ID.fullmatch(self.message_id) is not None

    @property
    def shown_type(self) -> str | None:
        """`message_type` if it may be echoed in a rejection (printable ASCII, like an id), else None."""
        kind = self.message_type
        return kind if kind is not None and _PRINTABLE_ID.fullmatch(kind) else None

    @property
    def inbox_key(self) -> InboxKey:
        return InboxKey(self.consumer, self.sender or "", self.message_id)


@dataclass(frozen=True)
class Handled:
    """What the adapter must do next: dead-letter with `reason`, or just acknowledge."""

    dead_letter_reason: str | None = None
    duplicate: bool = False
    answer_code: str | None = None
    uln: str | None = None


class _Rejected(Exception):
    def __init__(self, rejection: MessageRejected) -> None:
        self.rejection = rejection


def _reject(reason: str, message: str, request_type: str | None, loc: str = "") -> _Rejected:
    error = RejectionError(loc=loc, message=message)
    return _Rejected(MessageRejected(reason=reason, request_type=request_type, errors=[error]))


# The largest message the hub takes, a verify batch of 5,000 learners (or a bulk of 1,000
# achievements) with every field at its longest, is about 3 MB; larger bodies are refused
# before they are parsed.
MAX_BODY_BYTES = 4 * 1024 * 1024
# A message_id is the sender's own, echoed as correlation_id and kept in the audit log: printable
# ASCII only (a UUID is what the README asks for; AMQP's short string allows 255 bytes).
_PRINTABLE_ID = re.compile(r"[\x21-\x7e]{1,255}")
# Control characters (C0, DEL, C1) are valid JSON as escapes, but no field holds one: NUL cannot
# even be stored by PostgreSQL, and the rest would reach logs, files and partners' screens.
# Tab, line feed and carriage return are text.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
# How one can appear in a JSON body at all (raw C0 is not valid JSON): escaped as \u00XX, \b
# or \f, DEL, or C1 in UTF-8. Most bodies hold none, and are not walked.
_MAYBE_CONTROL = re.compile(rb"\\u00|\\[bf]|\x7f|\xc2[\x80-\x9f]")


def _control_character_at(value: object, path: tuple[str, ...] = ()) -> str | None:
    """The location of the first string (key or value) holding a control character, or None."""
    if isinstance(value, str):
        return ".".join(path) if _CONTROL.search(value) else None
    if isinstance(value, list):
        items: Iterable[tuple[str, object]] = ((str(i), v) for i, v in enumerate(value))
    elif isinstance(value, dict):
        items = value.items()
    else:
        return None
    for key, item in items:
        if _CONTROL.search(key):
            return ".".join(path) or "body"  # the key itself is not repeated back
        found = _control_character_at(item, (*path, key))
        if found is not None:
            return found
    return None


def _json(body: bytes, kind: str | None) -> object:
    """Parse a body with limits checked first: size, nesting depth, UTF-8, control characters."""
    if len(body) > MAX_BODY_BYTES:
        raise _reject("too_large", f"body is {len(body)} bytes; at most {MAX_BODY_BYTES} are accepted", kind)
    try:
        # pydantic-core's parser refuses invalid UTF-8 and nesting past 200 levels, where
        # Python's json module would raise RecursionError (a fault, not an answer).
        raw = pydantic_core.from_json(body)
    except ValueError as e:
        raise _reject("malformed_json", f"body is not JSON: {e}", kind) from e
    where = _control_character_at(raw) if _MAYBE_CONTROL.search(body) else None
    if where is not None:
        raise _reject("invalid_contract", "control characters are not accepted (tab and line breaks are)", kind, where)
    return raw


def _parse(message: InboundMessage, sender: Organisation) -> tuple[object, str]:
    kind = message.shown_type
    route = HANDLERS.get(kind or "")
    if route is None:
        unknown = f"no contract is named {kind!r}"
        if message.message_type and kind is None:  # not repeated back: it would reach logs and screens
            unknown = "no contract is named so: a type is printable ASCII"
        raise _reject("unknown_message_type", unknown, kind, "type")
    if message.routing_key and message.routing_key != f"{sender.org_id}.{kind}":
        raise _reject("sender_mismatch", "routing key must be '<your org id>.<message type>'", kind, "routing_key")
    if sender.kind not in route.senders:
        raise _reject("sender_not_allowed", f"an organisation of kind {sender.kind} may not send {kind}", kind)
    raw = _json(message.body, kind)
    if not isinstance(raw, dict):
        raise _reject("invalid_contract", "body must be a JSON object", kind)
    try:
        # Strict: a JSON true or "2" is not a gender code, a number is not a date.
        request = route.contract.model_validate_json(message.body, strict=True)
    except ValidationError as e:
        # A bulk message with bad items is still applied: each bad item is answered on its own.
        items = judge_items(e, message.body, route.items) if route.items is not None else None
        if items is None:
            errors = list(validation_errors(e))
            raise _Rejected(MessageRejected(reason="invalid_contract", request_type=kind, errors=errors)) from e
        return items, kind or ""
    if getattr(request, "ukprn", sender.org_id) != sender.org_id:
        raise _reject("sender_mismatch", "ukprn in the body is not the sending organisation", kind, "ukprn")
    return request, kind or ""


async def handle_inbound(new_uow: UnitOfWorkFactory, message: InboundMessage) -> Handled:
    """Handle one message exactly once, in its own transaction; safe to call again with a redelivery."""
    async with new_uow() as uow:
        handled = await _handle(uow, message)
        await uow.commit()
        return handled


# What handling one message of several came to: its outcome, or the fault it alone raised.
Outcome = Handled | Exception


async def handle_batch(new_uow: UnitOfWorkFactory, messages: Sequence[InboundMessage]) -> list[Outcome]:
    """Handle several messages in one transaction, one commit: the same outcomes, less overhead.

    Each message is still exactly-once (the inbox is checked and written inside the same
    transaction, so even two copies in one batch are told apart). If anything faults, the
    batch rolls back whole and each message is retried in a transaction of its own, so one bad
    message never takes the others down: only its own outcome is the fault.
    """
    return await _together(new_uow, messages, _handle)


HandleOne = Callable[[UnitOfWork, InboundMessage], Awaitable[Handled]]


async def _together(new_uow: UnitOfWorkFactory, messages: Sequence[InboundMessage], handle: HandleOne) -> list[Outcome]:
    """Handle `messages` in one transaction; on any fault, each again in a transaction of its own."""
    try:
        return list(await _in_one_transaction(new_uow, messages, handle))
    except Exception as e:  # noqa: BLE001 - isolate the fault to its own message below
        if len(messages) == 1:
            return [e]
    outcomes: list[Outcome] = []
    for message in messages:
        try:
            outcomes.extend(await _in_one_transaction(new_uow, [message], handle))
        except Exception as e:  # noqa: BLE001 - this message's fault is its outcome alone
            outcomes.append(e)
    return outcomes


async def _in_one_transaction(
    new_uow: UnitOfWorkFactory, messages: Sequence[InboundMessage], handle: HandleOne
) -> list[Handled]:
    async with new_uow() as uow:
        await uow.inbox.prefetch([m.inbox_key for m in messages if m.usable_id])
        outcomes = [await handle(uow, message) for message in messages]
        await uow.commit()
        return outcomes


async def _handle(uow: UnitOfWork, message: InboundMessage) -> Handled:
    body_sha256 = hashlib.sha256(message.body).hexdigest()
    now = clock.now()
    # An id PostgreSQL cannot even look up (a NUL in it) is refused below, never looked up.
    seen = await uow.inbox.get(message.inbox_key) if message.usable_id else None
    if seen is not None and message.replay and seen.dead_letter_reason:
        # A dead letter replayed after the cause was fixed is handled afresh.
        await uow.inbox.forget(message.inbox_key)
        seen = None
    if seen is not None and seen.body_sha256 == body_sha256:
        # A redelivery of what we already handled: its answer is already queued.
        return Handled(seen.dead_letter_reason, duplicate=True)
    sender = await uow.organisations.get(message.sender) if message.sender else None
    if sender is None:
        reason = f"unknown sender {message.sender!r}"
        if seen is None and message.usable_id:
            await uow.inbox.record(message.inbox_key, InboxRecord(body_sha256, reason))
        return Handled(reason)
    headers = message.batch.headers() if message.batch else {}
    try:
        if not message.message_id:
            raise _reject("invalid_contract", "message_id property is required", message.shown_type, "message_id")
        if not message.usable_id:
            raise _reject("invalid_contract", "message_id must be printable ASCII", message.shown_type, "message_id")
        if message.invalid_header is not None:
            bad = message.invalid_header
            raise _reject("invalid_header", bad.message, message.shown_type, bad.header)
        if seen is not None:
            raise _reject("duplicate_message_id", "message_id was already used for a different message", None)
        if message.batch and not message.batch.belongs_to(sender.org_id):
            raise _reject("sender_mismatch", "the batch file is not the sender's", message.shown_type, "batch")
        if not sender.active:
            raise _reject("sender_not_allowed", "the sending organisation is suspended", message.shown_type)
        request, kind = _parse(message, sender)
    except _Rejected as rejected:
        # An id with control characters is not echoed: it would reach the sender's logs and ours.
        echo = message.message_id if message.usable_id else None
        await send_rejection(uow, sender, rejected.rejection, echo, now, headers)
        reason = f"{rejected.rejection.reason}: " + "; ".join(
            f"{e.loc} {e.message}".strip() for e in rejected.rejection.errors
        )
        if seen is None and echo:
            await uow.inbox.record(message.inbox_key, InboxRecord(body_sha256, reason))
        await _record_batch_row(uow, message, sender, None, reason)
        return Handled(reason)
    draft = await HANDLERS[kind].handler(uow, sender, request, now)
    await send_draft(uow, sender, draft, message.message_id, now, headers)
    await _publish_events(uow, draft)
    if isinstance(draft, AnswerDraft):
        await _record_batch_row(uow, message, sender, draft, "")
    await uow.inbox.record(message.inbox_key, InboxRecord(body_sha256, None))
    if isinstance(draft, AnswerDraft):
        return Handled(answer_code=draft.code.value, uln=draft.uln)
    return Handled()


async def _publish_events(uow: UnitOfWork, draft: Draft) -> None:
    for event in draft.events:
        await publish_event(uow, event)


async def _record_batch_row(
    uow: UnitOfWork, message: InboundMessage, sender: Organisation, draft: AnswerDraft | None, reason: str
) -> None:
    if message.batch is None or not message.batch.belongs_to(sender.org_id):
        return  # no batch, or another provider's: a rejected row never writes into it
    b = message.batch
    await uow.batches.record_row(
        BatchRowOutcome(
            batch_id=b.batch_id,
            org_id=sender.org_id,
            row_number=b.row_number,
            total_rows=b.total_rows,
            return_code=(draft.batch_code if draft else BatchReturnCode.INCORRECT_FORMAT).value,
            response_code=draft.code.value if draft else None,
            uln=draft.uln if draft else None,
            reason=draft.text if draft else reason,
            mis_identifier=draft.mis_identifier if draft else mis_identifier_of(message.body),
        )
    )


async def handle_events(new_uow: UnitOfWorkFactory, messages: Sequence[InboundMessage], hub_user: str) -> list[Outcome]:
    """Handle the hub's own events (offered to partners' feeds), exactly once, several per transaction.

    Only the hub publishes events (`user_id` = the hub's user); anything else, or an event that
    does not parse, is dead-lettered with the reason.
    """
    return await _together(new_uow, messages, partial(_handle_event, hub_user=hub_user))


async def _handle_event(uow: UnitOfWork, message: InboundMessage, *, hub_user: str) -> Handled:
    body_sha256 = hashlib.sha256(message.body).hexdigest()
    seen = await uow.inbox.get(message.inbox_key)
    if seen is not None:
        return Handled(seen.dead_letter_reason, duplicate=True)
    kind = message.message_type or ""
    contract, handler = EVENTS.get(kind), EVENT_HANDLERS.get(kind)
    reason = None
    if message.replay:
        reason = "events are never accepted from a replay"
    elif message.sender != hub_user:
        reason = f"events come only from the hub, not {message.sender!r}"
    elif contract is None or handler is None:
        reason = f"no event handled by the hub is named {message.message_type!r}"
    else:
        try:
            event = contract.model_validate_json(message.body)
        except ValidationError as e:
            reason = "invalid event: " + "; ".join(f"{x.loc} {x.message}" for x in validation_errors(e))
        else:
            await handler(uow, event, clock.now(), message.message_id)
    if message.message_id:
        await uow.inbox.record(message.inbox_key, InboxRecord(body_sha256, reason))
    return Handled(reason)
