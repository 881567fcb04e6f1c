"""Background jobs for admin endpoints (crawl, reindex): one at a time across every worker process, status
kept in the data directory's ``service.sqlite3`` so that any worker answers for any job."""

from __future__ import annotations

import fcntl
import logging
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from service.statedb import StateDB, is_alive, process_identity

log = logging.getLogger(__name__)

MAX_KEPT = 200
LOCK_NAME = "jobs.lock"  # held (flock) by the process running a job: crawls and rebuilds never overlap


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


@dataclass
class Job:
    id: str
    kind: str
    status: str = "queued"
    created: str = ""
    finished: str | None = None
    result: str | None = None
    error: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {**self.__dict__, "url": f"/api/v1/admin/jobs/{self.id}"}


class JobRunner:
    """Crawls and rebuilds write the same archive and index, so they run one after another: in this process
    by one thread, and against the other workers' jobs by a lock file next to the status table."""

    def __init__(self, db: StateDB) -> None:
        self.db = db
        self._lock_path = db.path.with_name(LOCK_NAME)
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="nianbao-job")

    def submit(self, kind: str, fn: Callable[[], Any]) -> Job:
        job = Job(id=uuid.uuid4().hex[:12], kind=kind, created=_now())
        with self.db.transaction() as conn:
            conn.execute(
                "INSERT INTO jobs (id, kind, status, created, owner) VALUES (?, ?, ?, ?, ?)",
                (job.id, job.kind, job.status, job.created, process_identity()),
            )
            conn.execute("DELETE FROM jobs WHERE seq <= (SELECT max(seq) FROM jobs) - ?", (MAX_KEPT,))
        self._pool.submit(self._run, job, fn)
        return job

    def _set(self, job_id: str, **values: Any) -> None:
        with self.db.transaction() as conn:
            assignments = ", ".join(f"{k} = ?" for k in values)
            conn.execute(f"UPDATE jobs SET {assignments} WHERE id = ?", (*values.values(), job_id))

    def _run(self, job: Job, fn: Callable[[], Any]) -> None:
        self._lock_path.parent.mkdir(parents=True, exist_ok=True)
        with open(self._lock_path, "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)  # waits (status "queued") while another worker runs a job
            self._set(job.id, status="running")
            try:
                outcome = fn()
                describe = getattr(outcome, "describe", None)
                result = describe() if callable(describe) else (None if outcome is None else str(outcome))
                self._set(job.id, status="done", result=result, finished=_now())
            except Exception as exc:  # a failed job is reported through its status, never lost silently
                log.exception("%s job %s failed", job.kind, job.id)
                self._set(job.id, status="failed", error=f"{type(exc).__name__}: {exc}", finished=_now())

    def get(self, job_id: str) -> Job | None:
        columns = "id, kind, status, created, finished, result, error, owner"
        row = self.db.conn().execute(f"SELECT {columns} FROM jobs WHERE id = ?", (job_id,)).fetchone()
        if row is None:
            return None
        job = Job(*row[:7])
        if job.status in ("queued", "running") and not is_alive(row[7]):
            job.status, job.error = "failed", "the server process that ran this job exited before it finished"
        return job

    def shutdown(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
        self.db.close()
