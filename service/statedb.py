"""The service's own small SQLite file in the data directory (``service.sqlite3``): what every worker process
of ``nianbao serve`` must see alike — the rate limiter's recent requests and the admin jobs' status.

Each process and thread opens its own connection on first use: a connection is never inherited across a
fork (gunicorn forks its workers) nor shared between threads.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

FILE_NAME = "service.sqlite3"

SCHEMA = """
CREATE TABLE IF NOT EXISTS rate_hits (client TEXT NOT NULL, t REAL NOT NULL);
CREATE INDEX IF NOT EXISTS rate_hits_client ON rate_hits (client, t);
CREATE TABLE IF NOT EXISTS jobs (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL,
    status TEXT NOT NULL,
    created TEXT NOT NULL,
    finished TEXT,
    result TEXT,
    error TEXT,
    owner TEXT NOT NULL
);
"""


class StateDB:
    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._local = threading.local()
        self._lock = threading.Lock()
        self._conns: list[tuple[int, sqlite3.Connection, Any]] = []  # (opening process, connection, lock file)

    def conn(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None or self._local.pid != os.getpid():
            self.path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(self.path, timeout=30, isolation_level=None, check_same_thread=False)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=OFF")  # recent requests and job status: nothing to fsync for
            conn.executescript(SCHEMA)
            # Writers queue on a lock file, which the kernel hands over at once, not on SQLite's busy handler,
            # which sleeps 1, 2, 5 … 100 ms between tries and lets a process that writes back to back starve
            # the others (seconds with two workers under load).
            lock = open(self.path.with_name(self.path.name + ".lock"), "a")  # noqa: SIM115 (kept open, like conn)
            self._local.conn, self._local.lock, self._local.pid = conn, lock, os.getpid()
            with self._lock:
                self._conns.append((os.getpid(), conn, lock))
        return conn

    @contextlib.contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """A write transaction (taken at once, so two workers never both read-then-write the same rows)."""
        conn = self.conn()
        lock = self._local.lock
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)

    def close(self) -> None:
        """Close this process's connections (those inherited from a parent are left to it)."""
        with self._lock:
            conns, self._conns = self._conns, []
        for pid, conn, lock in conns:
            if pid == os.getpid():  # closing a parent's connection in a child could release the parent's locks
                with contextlib.suppress(sqlite3.Error):
                    conn.close()
                lock.close()
        self._local = threading.local()


def process_identity(pid: int | None = None) -> str:
    """``pid:start time`` — tells a live process from a later one that reused its pid (after a restart)."""
    pid = os.getpid() if pid is None else pid
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            fields = fh.read().rsplit(b")", 1)[1].split()
        return f"{pid}:{int(fields[19])}"  # field 22 of stat: start time in clock ticks after boot
    except (OSError, IndexError, ValueError):
        return str(pid)


def is_alive(identity: str) -> bool:
    pid = int(identity.split(":", 1)[0])
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    return process_identity(pid) == identity
