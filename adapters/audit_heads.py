"""The audit chain's heads, published outside the database: one JSON line each, appended to a
file the database's users cannot rewrite. A head (the log's length and last hash at a moment)
that the log no longer holds shows it was rewritten or cut after that moment, even by someone
who could recompute every hash."""

import json
import os
from datetime import datetime
from pathlib import Path

from hub.kernel.audit import ChainHead


class HeadsFileError(Exception):
    """Raised when a heads file cannot be read as heads (a line that is not one)."""


def publish_head(path: Path, head: ChainHead, at: datetime) -> None:
    """Append `head` to the file, and make it durable before returning."""
    line = json.dumps({"at": at.isoformat(), "entries": head.entries, "hash": head.hash}) + "\n"
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
    try:
        os.write(fd, line.encode())
        os.fsync(fd)
    finally:
        os.close(fd)


def read_heads(path: Path) -> list[ChainHead]:
    """Every head in the file, oldest first."""
    heads = []
    for number, line in enumerate(path.read_text().splitlines(), 1):
        if not line.strip():
            continue
        try:
            held = json.loads(line)
            heads.append(ChainHead(int(held["entries"]), str(held["hash"])))
        except (ValueError, KeyError, TypeError) as e:
            raise HeadsFileError(f"{path}: line {number} is not a chain head") from e
    return heads
