"""Apply the database migrations with yoyo-migrations (SQL files in ./migrations)."""

from pathlib import Path

from yoyo import get_backend, read_migrations

MIGRATIONS = Path(__file__).parent / "migrations"


def _yoyo_url(database_url: str) -> str:
    # yoyo drives PostgreSQL through psycopg 3; the hub itself uses asyncpg.
    return database_url.replace("postgresql://", "postgresql+psycopg://", 1)


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
