"""Learner details at rest: contact details and free text are sealed in the `learner` table.

Sealed (SEALED_FIELDS): the email address, the address lines, town and county, the description
of an "other" verification, and notes: contact details and free text, which no query reads.
Names, date of birth, gender and postcode stay clear, because matching finds its candidates by
them in SQL (blocking keys, indexes, name frequencies); the rest of the details are codes.

A row's sealed fields are one Fernet token (`cryptography`: AES-128-CBC and HMAC-SHA256) under
a key derived by HKDF from LRS_DATA_KEY *and the learner's ULN*, so a token copied into another
learner's row does not open (SealedDetailsError): one learner's address can never be read as
another's. The row keeps the id of the data key that sealed it. A replaced key goes to
LRS_DATA_RETIRED_KEYS, under which rows sealed before still open, until `hub learners seal`
has re-sealed them under the current key. The keys live outside the database, in the
environment of the processes that need them.
"""

import base64
import json
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import asyncpg
from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from adapters.log import pseudonym
from hub.kernel.errors import HubError

SEALED_FIELDS = frozenset(
    {
        "email_address",
        "last_known_address_line1",
        "last_known_address_line2",
        "last_known_address_town",
        "last_known_address_county_or_city",
        "other_verification_description",
        "notes",
    }
)
MIN_DATA_KEY_LENGTH = 32
_PUBLIC_KEYS = frozenset({"change-me-in-production"})
_DETAILS_INFO = b"lrs learner details v1 uln="
_KEY_ID_INFO = b"lrs data key id v1"


class WeakDataKeyError(Exception):
    """Raised when learner details would be sealed or opened without a data key, or under a short or known one."""


def _row(uln: str) -> str:
    # The error reaches the logs (a message that faulted): the ULN only as its log pseudonym.
    return f"uln~{pseudonym(uln)}"


class SealedDetailsError(HubError):
    """Raised when a learner row's sealed details do not open: sealed under a key the hub does
    not hold, sealed for another learner (a token moved between rows), or changed."""


def require_strong_data_key(key: str) -> None:
    """Refuse a data key with which anyone could open the sealed details."""
    if len(key) < MIN_DATA_KEY_LENGTH or key in _PUBLIC_KEYS:
        raise WeakDataKeyError(
            f"LRS_DATA_KEY must be a secret of at least {MIN_DATA_KEY_LENGTH} characters (e.g. `openssl rand "
            "-hex 32`), kept outside the database: learners' contact details and notes are sealed under it"
        )


def _hkdf(secret: bytes, info: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=info).derive(secret)


@dataclass(frozen=True)
class Sealed:
    """What a row holds of its sealed fields: the token and the id of the key that sealed it."""

    token: str
    key_id: str


class _DataKey:
    def __init__(self, key: str) -> None:
        self._secret = key.encode()
        self.key_id = _hkdf(self._secret, _KEY_ID_INFO)[:8].hex()  # names the key, reveals nothing of it

    @lru_cache(maxsize=4096)  # noqa: B019 - a few keys per process, each lives as long as it
    def for_learner(self, uln: str) -> Fernet:
        return Fernet(base64.urlsafe_b64encode(_hkdf(self._secret, _DETAILS_INFO + uln.encode())))


class DetailsSealer:
    """Seals a learner's contact details and notes under the current data key; opens them under any it holds."""

    def __init__(self, key: str, retired: Sequence[str] = ()) -> None:
        require_strong_data_key(key)
        self._current = _DataKey(key)
        self._keys = {k.key_id: k for k in [*(_DataKey(r) for r in retired), self._current]}

    @property
    def key_id(self) -> str:
        return self._current.key_id

    def seal(self, uln: str, details: dict[str, Any]) -> tuple[dict[str, Any], Sealed]:
        """Split `details` (JSON-ready) into the fields kept clear and the token of the others."""
        clear = {k: v for k, v in details.items() if k not in SEALED_FIELDS}
        sealed = {k: v for k, v in details.items() if k in SEALED_FIELDS}
        plain = json.dumps(sealed, separators=(",", ":"), sort_keys=True).encode()
        return clear, Sealed(self._current.for_learner(uln).encrypt(plain).decode(), self._current.key_id)

    def open(self, uln: str, clear: dict[str, Any], sealed: Sealed | None) -> dict[str, Any]:
        """The whole details of learner `uln` from its clear fields and its token (None: a row never sealed)."""
        if sealed is None:
            return clear
        key = self._keys.get(sealed.key_id)
        if key is None:
            raise SealedDetailsError(
                f"the details of learner row {_row(uln)} are sealed under data key {sealed.key_id}, which is neither "
                "LRS_DATA_KEY nor one of LRS_DATA_RETIRED_KEYS"
            )
        try:
            plain = key.for_learner(uln).decrypt(sealed.token.encode())
        except InvalidToken as e:
            raise SealedDetailsError(
                f"the sealed details in learner row {_row(uln)} do not open for that learner: they were sealed for "
                "another learner (moved between rows) or changed"
            ) from e
        opened: dict[str, Any] = json.loads(plain)
        return clear | opened

    def is_current(self, key_id: str | None) -> bool:
        """Whether a row sealed under `key_id` (None: never sealed) is sealed under the current key."""
        return key_id == self._current.key_id


_process_sealer: DetailsSealer | None = None


def use_sealer(sealer: DetailsSealer) -> None:
    """Seal and open learner details with `sealer` wherever a unit of work is not given one."""
    global _process_sealer
    _process_sealer = sealer


def process_sealer() -> DetailsSealer:
    """The sealer set by `use_sealer`; WeakDataKeyError when none was (no LRS_DATA_KEY)."""
    if _process_sealer is None:
        require_strong_data_key("")  # raises, saying what to set
    assert _process_sealer is not None
    return _process_sealer


@dataclass(frozen=True)
class SealingReport:
    """What `seal_learner_rows` did: rows sealed that were clear, re-sealed from a retired key, that did not open."""

    sealed: int
    resealed: int
    unopened: list[str]


async def seal_learner_rows(pool: asyncpg.Pool, sealer: DetailsSealer, chunk: int = 500) -> SealingReport:
    """Seal, under the current key, every learner row written in clear or sealed under a retired key.

    Idempotent: rows already sealed under the current key are not touched, so a second run
    changes nothing. Each chunk is one transaction holding its rows' locks, so a hub updating
    one of them meanwhile waits rather than being overwritten. A row whose token does not open
    is left as it is and reported.
    """
    sealed = resealed = 0
    unopened: list[str] = []
    after = ""
    while True:
        async with pool.acquire() as conn, conn.transaction():
            rows = await conn.fetch(
                "SELECT uln, details, sealed_fields, sealed_key FROM learner"
                " WHERE uln > $1 AND sealed_key IS DISTINCT FROM $2 ORDER BY uln LIMIT $3 FOR UPDATE",
                after,
                sealer.key_id,
                chunk,
            )
            updates = []
            for r in rows:
                before = None if r["sealed_key"] is None else Sealed(r["sealed_fields"], r["sealed_key"])
                try:
                    details = sealer.open(r["uln"], json.loads(r["details"]), before)
                except SealedDetailsError:
                    unopened.append(r["uln"])
                    continue
                clear, token = sealer.seal(r["uln"], details)
                updates.append((r["uln"], json.dumps(clear, separators=(",", ":")), token.token, token.key_id))
                if before is None:
                    sealed += 1
                else:
                    resealed += 1
            await conn.executemany(
                "UPDATE learner SET details = $2, sealed_fields = $3, sealed_key = $4 WHERE uln = $1", updates
            )
        if len(rows) < chunk:
            return SealingReport(sealed, resealed, unopened)
        after = rows[-1]["uln"]
