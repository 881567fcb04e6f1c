"""Per-client-address request limit over a sliding one-minute window, shared by every worker process: the
recent requests are rows of the data directory's ``service.sqlite3`` (``service.statedb``)."""

from __future__ import annotations

import time
from collections.abc import Callable

from service.statedb import StateDB

WINDOW_SECONDS = 60.0
SWEEP_EVERY = 1_000  # requests of one process between sweeps of every client's expired rows


class RateLimiter:
    def __init__(self, per_minute: int, db: StateDB, clock: Callable[[], float] = time.time) -> None:
        # Wall-clock time: the rows outlive a process, and every worker must read the same clock.
        self.per_minute = per_minute
        self.db = db
        self.clock = clock
        self._calls = 0

    def allow(self, client: str) -> tuple[bool, int]:
        """Record a request; (allowed, seconds until the next one would be allowed)."""
        if self.per_minute <= 0:  # 0 or less disables the limit
            return True, 0
        now = self.clock()
        self._calls += 1
        with self.db.transaction() as conn:
            if self._calls % SWEEP_EVERY == 0:  # forget idle clients so the table stays small
                conn.execute("DELETE FROM rate_hits WHERE t <= ? OR t > ?", (now - WINDOW_SECONDS, now + 1))
            # Rows from the future come from a clock set back: they would block the client, so they go too.
            conn.execute(
                "DELETE FROM rate_hits WHERE client = ? AND (t <= ? OR t > ?)", (client, now - WINDOW_SECONDS, now + 1)
            )
            count, oldest = conn.execute(
                "SELECT count(*), min(t) FROM rate_hits WHERE client = ?", (client,)
            ).fetchone()
            if count >= self.per_minute:
                return False, max(1, int(oldest + WINDOW_SECONDS - now + 0.999))
            conn.execute("INSERT INTO rate_hits (client, t) VALUES (?, ?)", (client, now))
        return True, 0
