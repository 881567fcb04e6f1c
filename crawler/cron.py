"""A source's crontab as an APScheduler trigger: one parser for validating a sources file (and the admin
endpoint that appends to it) and for scheduling, so a schedule accepted is a schedule that runs."""

from __future__ import annotations

import re

from apscheduler.triggers.cron import CronTrigger

TIMEZONE = "Asia/Shanghai"  # the sites' own clock: "03:00" means 03:00 in China
_DOW_NAMES = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")


def cron_trigger(schedule: str) -> CronTrigger:
    """The crontab in China time; ValueError (APScheduler's reason) when APScheduler cannot run it.

    Like ``CronTrigger.from_crontab`` but crontab counts weekdays from Sunday = 0 and APScheduler 3 from
    Monday = 0, so numbers in the day-of-week field become names, which both read the same way."""
    fields = schedule.split()
    if len(fields) != 5:
        raise ValueError(f"a crontab has 5 fields (minute hour day month day-of-week), not {len(fields)}")
    minute, hour, day, month, dow = fields
    dow = re.sub(r"\d+", lambda m: _DOW_NAMES[int(m.group()) % 7] if int(m.group()) <= 7 else m.group(), dow)
    return CronTrigger(minute=minute, hour=hour, day=day, month=month, day_of_week=dow, timezone=TIMEZONE)
