"""The verification attempt limit, so that verifying cannot be used as an oracle.

Without it, one verify batch of 5,000 items with a learner's ULN and names and 5,000 dates of
birth tells the sender her date of birth: only the right one verifies. So each sender's failed
verifications of each learner are counted over a rolling `ATTEMPT_WINDOW`; once there are
`ATTEMPT_LIMIT`, the sender's further attempts for that learner are refused without being
checked (even a right guess is not confirmed) with the same answer whatever was guessed.

The rules chosen, and why:
- A learner is counted under the master's ULN, so a linked ULN gives no extra tries; a valid
  ULN no learner has is counted under itself, so the refusal does not tell which ULNs exist.
- A verified attempt does not reset the count: the names alone verify, so a reset between
  guesses would let a guesser go on for ever. A refused attempt does not add to it: the sender
  gets `ATTEMPT_LIMIT` checks per window at most, and a sender that stops is let in again once
  its oldest failure leaves the window.
- The items of one batch count one by one, in order.
- A ULN failing its check digit (WSEC0136) says nothing about any learner and is not counted.
"""

from collections.abc import Iterable
from datetime import datetime, timedelta

from hub.kernel.ports import UnitOfWork

ATTEMPT_LIMIT = 5  # failed verifications of one learner by one sender within the window
ATTEMPT_WINDOW = timedelta(hours=24)
TOO_MANY_ATTEMPTS = "too_many_attempts"
REFUSAL = (
    f"Learner could not be verified: your organisation failed to verify this learner {ATTEMPT_LIMIT} times "
    f"within {ATTEMPT_WINDOW.total_seconds() / 3600:.0f} hours, so attempts are not checked until the oldest "
    "of those failures is that old"
)


class Attempts:
    """One message's count of its sender's failed verifications per learner, item by item."""

    def __init__(self, uow: UnitOfWork, sender: str, counts: dict[str, int], now: datetime) -> None:
        self._uow = uow
        self._sender = sender
        self._counts = counts
        self._now = now

    @classmethod
    async def load(cls, uow: UnitOfWork, sender: str, ulns: Iterable[str], now: datetime) -> "Attempts":
        """The sender's failures for these learners within the window, in one round trip."""
        counts = await uow.attempts.failures(sender, sorted(set(ulns)), now - ATTEMPT_WINDOW)
        return cls(uow, sender, counts, now)

    def exhausted(self, uln: str) -> bool:
        """Whether the sender's attempts for this learner are refused unchecked."""
        return self._counts.get(uln, 0) >= ATTEMPT_LIMIT

    async def failed(self, uln: str) -> None:
        """Count a failed verification of this learner."""
        self._counts[uln] = self._counts.get(uln, 0) + 1
        await self._uow.attempts.failed(self._sender, uln, self._now)
