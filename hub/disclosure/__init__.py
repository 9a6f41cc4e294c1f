"""The disclosure gate: the one way anything leaves the hub for an organisation.

`decide` (decision.py) says whether a recipient of any kind may receive something about a
learner for a purpose, and projects exactly the permitted fields; every message that leaves is
built by the senders here from those decisions, each decision audited, allowed or refused, and
only outbox.py puts a message in the outbox for lrs.outbound.

- decision.py: `decide`, the rules for every kind of recipient, and `audit`
- drafts.py: `send_draft`, each kind of handler's draft to its sender
- register_answers.py: answers to providers' Learner Register requests, and rejections
- plr_messages.py: verifications, receipts, challenge replies and notices
- partner_items.py: what partners receive: items, answers, record requests, notices
- attempts_log.py: checks of a learner's details, in that learner's log
- operator_reads.py: an operator's readings of a learner's record and log
- outbox.py: the way out
"""

from hub.disclosure.decision import Allowed, Decision, Refused, SharingContext, decide, sharing_context
from hub.disclosure.drafts import send_draft, send_to_portal
from hub.disclosure.operator_reads import show_log, show_record
from hub.disclosure.partner_items import (
    DETAILS_KEY,
    answer_partner,
    deliver,
    delivered_item,
    held_record,
    notify_partner,
    rule,
)
from hub.disclosure.register_answers import send_answer, send_rejection

__all__ = [
    "DETAILS_KEY",
    "Allowed",
    "Decision",
    "Refused",
    "SharingContext",
    "answer_partner",
    "decide",
    "deliver",
    "delivered_item",
    "held_record",
    "notify_partner",
    "rule",
    "send_answer",
    "send_draft",
    "send_rejection",
    "send_to_portal",
    "sharing_context",
    "show_log",
    "show_record",
]
