"""The hub's clock. Everything in the core that asks "when is now?" asks here.

It can be moved forward by whole days (`LRS_CLOCK_SHIFT_DAYS`), so that a rehearsal or an
end-to-end test can see nominations and agreements expire without waiting for tomorrow.
"""

from datetime import UTC, date, datetime, timedelta

_shift = timedelta()


def now() -> datetime:
    return datetime.now(UTC) + _shift


def today() -> date:
    return now().date()


def shift_days(days: int) -> None:
    """Move the clock `days` ahead of the real one (0: the real time). Set once, at start."""
    global _shift
    _shift = timedelta(days=days)
