"""The connection type the PostgreSQL adapters take."""

from typing import TypeAlias

import asyncpg
from asyncpg.pool import PoolConnectionProxy

# A connection of its own (`asyncpg.connect`) or one lent by a pool (`pool.acquire()`): alike at
# run time, where asyncpg makes the proxy pass for a Connection, but apart in asyncpg-stubs.
AnyConnection: TypeAlias = asyncpg.Connection | PoolConnectionProxy
