"""Translate asyncpg's errors into the hub's at the adapter boundary."""

from collections.abc import Iterator
from contextlib import contextmanager

import asyncpg

from hub.kernel.errors import TransientError

_TRANSIENT = (
    OSError,  # connection refused or reset
    asyncpg.PostgresConnectionError,
    asyncpg.InterfaceError,
    asyncpg.CannotConnectNowError,  # starting up or shutting down
    asyncpg.AdminShutdownError,  # a restart (`-m fast`) ended the connection
    asyncpg.CrashShutdownError,  # another backend crashed: the server restarts
    asyncpg.TooManyConnectionsError,
    asyncpg.SerializationError,
    asyncpg.DeadlockDetectedError,
    # A failover: none of LRS_DATABASE_URL's hosts accepts writes yet (the replica is not yet
    # promoted), or a connection still reaches a server that has become a standby.
    asyncpg.exceptions.TargetServerAttributeNotMatched,
    asyncpg.ReadOnlySQLTransactionError,
)


@contextmanager
def translated() -> Iterator[None]:
    """Re-raise the database's passing faults as TransientError, so callers may retry."""
    try:
        yield
    except _TRANSIENT as e:
        raise TransientError(f"database unavailable: {type(e).__name__}") from e


def is_transient(e: BaseException) -> bool:
    """Whether a fault says nothing of the message being handled: the database away, or a
    concurrent change; translated or not (a query may fail before `translated` sees it)."""
    return isinstance(e, (TransientError, *_TRANSIENT))
