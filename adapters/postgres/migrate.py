"""Apply the database migrations with yoyo-migrations (SQL files in ./migrations)."""

from pathlib import Path

import psycopg
from psycopg import sql
from yarl import URL as make_url
from yoyo import get_backend, read_migrations

MIGRATIONS = Path(__file__).parent / "migrations"


def _yoyo_url(database_url: str) -> str:
    # yoyo drives PostgreSQL through psycopg 3; the hub itself uses asyncpg.
    return database_url.replace("postgresql://", "postgresql+psycopg://", 1)


def ensure_database(database_url: str) -> bool:
    """Create the hub's database if the server does not have it yet; say whether it did."""
    url = make_url(database_url)
    name = url.path.lstrip("/")
    with psycopg.connect(str(url.with_path("/postgres")), autocommit=True) as conn:
        if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone():
            return False
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        return True


def apply_migrations(database_url: str) -> int:
    """Bring the database up to date; return how many migrations were applied.

    yoyo takes a lock, so several hub processes starting at once apply each migration once.
    """
    backend = get_backend(_yoyo_url(database_url))
    try:
        migrations = read_migrations(str(MIGRATIONS))
        with backend.lock():
            pending = backend.to_apply(migrations)
            backend.apply_migrations(pending)
        return len(pending)
    finally:
        backend.connection.close()  # yoyo keeps it open otherwise
