"""Background jobs for admin endpoints (crawl, reindex): one at a time, status kept in memory."""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

log = logging.getLogger(__name__)

MAX_KEPT = 200


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
    """Crawls and rebuilds write the same archive and index, so they run one after another."""

    def __init__(self) -> None:
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="nianbao-job")
        self._jobs: dict[str, Job] = {}
        self._lock = threading.Lock()

    def submit(self, kind: str, fn: Callable[[], Any]) -> Job:
        job = Job(id=uuid.uuid4().hex[:12], kind=kind, created=_now())
        with self._lock:
            self._jobs[job.id] = job
            if len(self._jobs) > MAX_KEPT:
                for old in list(self._jobs)[: len(self._jobs) - MAX_KEPT]:
                    self._jobs.pop(old)
        self._pool.submit(self._run, job, fn)
        return job

    def _run(self, job: Job, fn: Callable[[], Any]) -> None:
        job.status = "running"
        try:
            outcome = fn()
            describe = getattr(outcome, "describe", None)
            job.result = describe() if callable(describe) else (None if outcome is None else str(outcome))
            job.status = "done"
        except Exception as exc:  # a failed job is reported through its status, never lost silently
            log.exception("%s job %s failed", job.kind, job.id)
            job.error = f"{type(exc).__name__}: {exc}"
            job.status = "failed"
        finally:
            job.finished = _now()

    def get(self, job_id: str) -> Job | None:
        return self._jobs.get(job_id)

    def shutdown(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
