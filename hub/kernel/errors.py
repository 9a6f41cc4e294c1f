"""Faults of the hub. Expected business outcomes are values, not exceptions."""


class HubError(Exception):
    """Base of every fault the hub raises."""


class TransientError(HubError):
    """Raised by an adapter when a service (database, broker) is away; retrying may succeed."""


class UlnSpaceExhaustedError(HubError):
    """Raised when no further ULN can be issued from the issue-number space."""


class ConcurrentAttemptsError(TransientError):
    """Raised at commit when another transaction began counting the same sender's failed
    verifications of the same learner first; retried, the message counts after it."""
