"""structlog, configured once: JSON lines when not on a terminal, and no learner data in clear.

Anything that identifies a learner is logged as `pseudonym(value)`, a short keyed hash: the
same learner gives the same pseudonym across lines, so an operator can follow a case without
reading a name, date of birth, postcode, email or ULN.
"""

import hashlib
import hmac
import logging
import sys

import structlog

_key = b""
# A pseudonym is only as secret as its key: the ULN space is small enough to hash in full.
MIN_HASH_KEY_LENGTH = 32
_PUBLIC_KEYS = frozenset({"change-me-in-production"})  # the old default, published in this repository


class WeakLogHashKeyError(Exception):
    """Raised when the hub would log learner pseudonyms under a key that is unset, known or short."""


def require_strong_hash_key(key: str) -> None:
    """Refuse a log hash key with which the pseudonyms in the logs could be computed."""
    if len(key) < MIN_HASH_KEY_LENGTH or key in _PUBLIC_KEYS:
        raise WeakLogHashKeyError(
            f"LRS_LOG_HASH_KEY must be a secret of at least {MIN_HASH_KEY_LENGTH} characters (e.g. `openssl rand "
            "-hex 32`): with a known or short key, the ULN pseudonyms in the logs can be computed"
        )


def use_hash_key(key: str) -> None:
    """Hash learner identifiers under `key` from now on (the hub sets the key it was checked with)."""
    global _key
    _key = key.encode()


def configure_logging(level: str = "INFO", json: bool | None = None, hash_key: str = "") -> None:
    """Set up structlog for the process (call once, from the composition root)."""
    global _key
    _key = hash_key.encode()
    as_json = (not sys.stdout.isatty()) if json is None else json
    renderer: structlog.typing.Processor = (
        structlog.processors.JSONRenderer() if as_json else structlog.dev.ConsoleRenderer(colors=False)
    )
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level.upper())),
        logger_factory=structlog.PrintLoggerFactory(sys.stderr),
        cache_logger_on_first_use=True,
    )


def pseudonym(value: str | None) -> str | None:
    """A short keyed hash standing in for a learner identifier in logs."""
    if value is None:
        return None
    return hmac.new(_key, value.encode(), hashlib.sha256).hexdigest()[:12]
