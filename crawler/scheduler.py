"""The crawl scheduler: one APScheduler job per source, on the source's cron, persisted in SQLite.

Each job crawls its source and then indexes what is new. Jobs coalesce (a backlog of missed runs becomes
one run), tolerate a late start (misfire grace time) and never overlap (max_instances=1). SIGTERM/SIGINT
stop the scheduler gracefully: a running crawl is asked to stop, ends its current batch, and is resumed
by the next run.
"""

from __future__ import annotations

import logging
import signal
import sys
import threading
from types import FrameType

import click
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.base import BaseScheduler
from apscheduler.triggers.cron import CronTrigger

from crawler.cron import TIMEZONE, cron_trigger
from crawler.sources import Source, SourcesError, load_sources_leniently
from nianbao.settings import Settings

log = logging.getLogger(__name__)

JOB_PREFIX = "crawl:"
MISFIRE_GRACE_SECONDS = 6 * 3600  # a crawl that could not start on time still runs within six hours
_stop = threading.Event()  # set on shutdown; running crawls poll it


class SchedulerError(click.ClickException):
    """The scheduler cannot start; the message is for the user (the CLI prints it without a traceback)."""


def run_source_job(settings: Settings, source_id: str) -> str:
    """The job body (module-level so the persistent job store can reference it by name)."""
    from crawler.run import crawl

    summary = crawl(settings, source_id=source_id, progress=sys.stderr.isatty(), stop=_stop)
    print(summary.describe(), flush=True)
    if summary.interrupted:
        return summary.describe()
    from indexer.pipeline import index_archive  # imported late: the indexer is a separate stage

    stats = index_archive(settings)
    print(stats.describe(), flush=True)
    return summary.describe()


def _trigger(source: Source) -> CronTrigger:
    try:
        return cron_trigger(source.schedule)
    except ValueError as exc:
        raise SchedulerError(f"source {source.id}: bad schedule {source.schedule!r}: {exc}") from exc


def build_scheduler(settings: Settings, scheduler: BaseScheduler | None = None) -> BaseScheduler:
    """A configured (not started) scheduler with one job per source; stale jobs of removed sources dropped."""
    if settings.sources_file is None:
        raise SchedulerError("no sources file: set sources_file (NIANBAO_SOURCES_FILE) to schedule crawls")
    try:
        sources, problems = load_sources_leniently(settings.sources_file)
    except SourcesError as exc:
        raise SchedulerError(str(exc)) from exc
    triggers: dict[str, CronTrigger] = {}
    for source in sources:  # one bad source never stops the others
        try:
            triggers[source.id] = _trigger(source)
        except SchedulerError as exc:
            problems.append(exc.message)
    for problem in problems:
        log.error("not scheduled: %s", problem)
        print(f"not scheduled: {problem}", file=sys.stderr, flush=True)
    sources = [s for s in sources if s.id in triggers]
    if not sources:
        raise SchedulerError(f"{settings.sources_file}: no source can be scheduled: {'; '.join(problems) or 'none'}")
    settings.scheduler_path.parent.mkdir(parents=True, exist_ok=True)
    scheduler = scheduler or BackgroundScheduler()
    scheduler.configure(
        jobstores={"default": SQLAlchemyJobStore(url=f"sqlite:///{settings.scheduler_path}")},
        job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": MISFIRE_GRACE_SECONDS},
        timezone=TIMEZONE,
    )
    scheduler.start(paused=True)  # the job store must be live to add and prune jobs
    wanted = {JOB_PREFIX + s.id for s in sources}
    for job in scheduler.get_jobs():
        if job.id.startswith(JOB_PREFIX) and job.id not in wanted:
            job.remove()
    for source in sources:
        scheduler.add_job(
            run_source_job,
            trigger=triggers[source.id],
            args=[settings, source.id],
            id=JOB_PREFIX + source.id,
            name=f"crawl {source.name}",
            replace_existing=True,
        )
    return scheduler


def run_scheduler(settings: Settings) -> None:
    """Run the scheduler in the foreground until SIGTERM/SIGINT."""
    _stop.clear()
    done = threading.Event()
    scheduler = build_scheduler(settings)

    def _shutdown(signum: int, _frame: FrameType | None) -> None:
        log.info("signal %s: stopping after the current batch", signum)
        _stop.set()
        done.set()

    previous = {sig: signal.signal(sig, _shutdown) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        scheduler.resume()
        for job in scheduler.get_jobs():
            print(f"scheduled {job.name}: next run {job.next_run_time}", flush=True)
        while not done.wait(1.0):  # a timed wait lets the signal handler run promptly
            pass
    finally:
        scheduler.shutdown(wait=True)  # waits for a running crawl, which stops at its next batch
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        print("scheduler stopped", flush=True)
