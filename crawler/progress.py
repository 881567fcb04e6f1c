"""Terminal progress for a long crawl: one self-overwriting line on a TTY, an occasional line otherwise."""

from __future__ import annotations

import sys
import time
from typing import TextIO


class Progress:
    def __init__(self, enabled: bool, stream: TextIO | None = None, *, interval: float | None = None) -> None:
        self.enabled = enabled
        self.stream = stream or sys.stderr
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self.interval = interval if interval is not None else (0.2 if self.tty else 10.0)
        self._last = 0.0
        self._width = 0

    def update(self, *, pages: int, reports: int, failed: int, queued: int, url: str = "", force: bool = False) -> None:
        if not self.enabled:
            return
        now = time.monotonic()
        if not force and now - self._last < self.interval:
            return
        self._last = now
        line = f"crawl: {pages} pages, {reports} new/changed reports, {failed} failed, {queued} queued"
        if self.tty:
            shown = f"{line}  {url}"[:150]
            self.stream.write("\r" + shown.ljust(self._width))
            self._width = len(shown)
        else:
            self.stream.write(line + "\n")
        self.stream.flush()

    def done(self) -> None:
        if self.enabled and self.tty and self._width:
            self.stream.write("\r" + " " * self._width + "\r")
            self.stream.flush()
