"""Apply the database migrations with yoyo-migrations (SQL files in ./migrations)."""

from pathlib import Path

import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo
from yarl import URL
from yoyo import get_backend, read_migrations

MIGRATIONS = Path(__file__).parent / "migrations"


def _yoyo_url(database_url: str) -> str:
    """The URL yoyo (through psycopg 3; the hub itself uses asyncpg) migrates: one host, the primary.

    LRS_DATABASE_URL may list several hosts (`postgresql://u@h1,h2/lrs?target_session_attrs=
    read-write`, for failover), which libpq and asyncpg read but yoyo does not: libpq finds the
    one that takes writes, and yoyo is given that one.
    """
    params = conninfo_to_dict(database_url)
    if "," in str(params.get("host", "")):
        with psycopg.connect(database_url) as conn:
            host, port = conn.info.host, conn.info.port
        url = URL.build(
            scheme="postgresql",
            user=str(params.get("user") or "") or None,
            password=str(params.get("password") or "") or None,
            host=host,
            port=port,
            path=f"/{params.get('dbname', '')}",
        )
        database_url = str(url)
    return database_url.replace("postgresql://", "postgresql+psycopg://", 1)


def _name(database_url: str) -> str:
    return str(conninfo_to_dict(database_url).get("dbname") or "")


def _server(database_url: str) -> str:
    """The server's own database, on the same host(s) as the hub's."""
    return make_conninfo(database_url, dbname="postgres")


def ensure_database(database_url: str) -> bool:
    """Create the hub's database if the server does not have it yet; say whether it did."""
    name = _name(database_url)
    with psycopg.connect(_server(database_url), autocommit=True) as conn:
        if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone():
            return False
        try:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        except (psycopg.errors.DuplicateDatabase, psycopg.errors.UniqueViolation):
            # Another hub process starting at the same moment created it between the check and
            # here (the catalogue's unique index is what tells the loser): it exists, as wanted.
            return False
        return True


class DatabaseNotReadyError(Exception):
    """Raised when a command that must not create or migrate finds the database missing or behind."""


def _applied(conn: psycopg.Connection) -> set[str]:
    # yoyo's own table of what it applied; absent until the first `hub migrate`.
    if conn.execute("SELECT to_regclass('_yoyo_migration')").fetchone() == (None,):
        return set()
    return {row[0] for row in conn.execute("SELECT migration_id FROM _yoyo_migration")}


def check_database(database_url: str) -> None:
    """Check, without changing anything, that the database exists and has every migration.

    Only `hub migrate`, `hub serve` and `hub demo` create or migrate; every other command
    calls this first, so that a mistyped LRS_DATABASE_URL is an error rather than a new,
    empty database. Raises DatabaseNotReadyError saying what to do.
    """
    name = _name(database_url)
    with psycopg.connect(_server(database_url)) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
    if not exists:
        raise DatabaseNotReadyError(
            f"database {name!r} does not exist: check LRS_DATABASE_URL, or run `hub migrate` to create it"
        )
    pending = pending_migrations(database_url)
    if pending:
        raise DatabaseNotReadyError(
            f"database {name!r} is not migrated ({len(pending)} migration(s) pending, from {pending[0]}): "
            "run `hub migrate`"
        )


def pending_migrations(database_url: str) -> list[str]:
    """The migrations the database has not had yet, oldest first (reads only)."""
    with psycopg.connect(database_url) as conn:
        applied = _applied(conn)
    return sorted(p.stem for p in MIGRATIONS.glob("*.sql") if p.stem not in applied)


def apply_migrations(database_url: str) -> int:
    """Bring the database up to date; return how many migrations were applied.

    yoyo takes a lock, so several hub processes starting at once apply each migration once.
    An up-to-date database is only read: the hub's own role (lrs_hub, migration 0018) may not
    create or alter tables, and need not, once the owner has run `hub migrate`.
    """
    if not pending_migrations(database_url):
        return 0
    backend = get_backend(_yoyo_url(database_url))
    try:
        migrations = read_migrations(str(MIGRATIONS))
        with backend.lock():
            pending = backend.to_apply(migrations)
            backend.apply_migrations(pending)
        return len(pending)
    finally:
        backend.connection.close()  # yoyo keeps it open otherwise
