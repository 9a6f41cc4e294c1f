"""Hub processes started together (a deployment's replicas, a supervisor's restarts) create the
database once between them, and none of them fails for it."""

import secrets
import threading

import psycopg
from psycopg import sql

from adapters.postgres.migrate import ensure_database

SERVER = "postgresql://postgres@127.0.0.1:5432"


def _start_hubs(name: str, count: int) -> tuple[list[bool], list[Exception]]:
    """`count` threads calling ensure_database at the same moment, as hubs starting together."""
    start, created, failed = threading.Barrier(count), list[bool](), list[Exception]()

    def hub() -> None:
        start.wait()
        try:
            created.append(ensure_database(f"{SERVER}/{name}"))
        except Exception as e:  # noqa: BLE001 - what the test is about
            failed.append(e)

    threads = [threading.Thread(target=hub) for _ in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return created, failed


def test_hubs_starting_at_once_create_the_database_once_and_none_fails() -> None:
    for _ in range(5):  # the race is narrow: a few rounds of eight find it on the old code
        name = f"lrs_t_race_{secrets.token_hex(4)}"
        created, failed = _start_hubs(name, 8)
        with psycopg.connect(f"{SERVER}/postgres", autocommit=True) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(name)))
        assert failed == []
        assert sorted(created) == [False] * 7 + [True]
