"""A time budget for parsing one document: a report file that would take minutes (a DOCX of two million empty
paragraphs, a pathological table) is flagged ``parse_failed`` with the reason instead of stalling a run.

The budget interrupts Python code with SIGALRM, so it applies where parsing runs on a main thread (the
indexer and its helper processes); elsewhere (a request thread) it is not armed and size limits apply.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator


class ParseBudgetExceeded(Exception):
    """Parsing one document took longer than its budget."""


@contextlib.contextmanager
def time_budget(seconds: float) -> Iterator[None]:
    """Raise ParseBudgetExceeded inside the block once ``seconds`` have passed (0: no budget)."""
    if seconds <= 0 or threading.current_thread() is not threading.main_thread():
        yield
        return
    armed = True

    def expire(_signum: int, _frame: object) -> None:
        if armed:
            raise ParseBudgetExceeded(f"parsing took longer than {seconds:g} s (setting parse_seconds)")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        armed = False
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
