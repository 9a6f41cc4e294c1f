"""The audit log's words: why something was disclosed (`Purpose`) and what it was (`What`).

One list, so that an operator reading `hub audit show` and a learner reading who saw their
data meet the same names for the same things. A partner's item is named by its feed and the
event (`feed_item`), a notice by its kind and the events it names (`notice_item`).
"""

from collections.abc import Sequence
from enum import StrEnum


class Purpose(StrEnum):
    REGISTRATION = "registration"  # answering a provider's own Learner Register request
    REJECTION = "rejection"  # telling a sender what was wrong with its message
    VERIFICATION = "verification"  # an awarding organisation checking a learner before sending results
    RECEIPT = "receipt"  # telling a sender what became of the records it sent
    CHALLENGE = "challenge"  # a learner's challenge of a PLR entry, to its sender and back
    OPERATOR_SUPPORT = "operator_support"  # an operator reading a record to support a learner
    RECALL = "recall"  # telling a partner to delete or re-key what it holds
    LEARNER_ACCESS = "learner_access"  # a learner reading their own record, choices and log
    OPERATIONS = "operations"  # an operator running the hub (reading or replaying dead letters)


class What(StrEnum):
    REGISTER_VIEW = "learner.register_view"
    MATCH_CANDIDATE = "learner.match_candidate"
    ANSWER = "learner.answer"  # the answer itself: response code, no learner data
    REJECTION = "message.rejected"
    VERIFICATION = "learner.verification"  # a response code and the (master) ULN, nothing else
    RECEIPT = "plr.receipt"  # the outcome of a record the recipient sent, and the ULN it is held under
    CHALLENGE_NOTICE = "plr.challenge_notice"
    CHALLENGE_ANSWER = "plr.challenge_answer"
    CHALLENGE_OUTCOME = "plr.challenge_outcome"
    FULL_RECORD = "plr.full_record"
    UPDATE = "learner.update"  # not a disclosure: a provider changed (or tried to) the learner's details
    # The learner's own data, to the learner portal that speaks for them.
    CONSENT_ANSWER = "consent.answer"
    OWN_RECORD = "learner.record"
    PREVIEW = "learner.preview"  # what an organisation would see today
    DISCLOSURES = "learner.disclosures"  # the learner's reading of this log
    # An operator's readings.
    AUDIT_LOG = "audit.log"
    DEAD_LETTER_PEEK = "dead_letter.peek"
    DEAD_LETTER_REPLAY = "dead_letter.replay"


def feed_item(feed: str, event_id: str | None) -> str:
    """An item offered to a partner: `feed.<feed>:<event id>`, or `:details` for the learner's details."""
    return f"feed.{feed}:{event_id or 'details'}"


def notice_item(kind: str, event_ids: Sequence[str]) -> str:
    """A recall, correction or re-key notice to a partner: `notice.<kind>:<event ids>`."""
    return f"notice.{kind}:{','.join(event_ids)}"
