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
