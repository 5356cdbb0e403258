"""A one-line progress bar for terminals, in plain text.

Drawn only on an interactive stderr: logs and pipes get no carriage-return noise.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TextIO

__all__ = ["ProgressBar", "render_progress"]


def render_progress(label: str, done: int, total: int, elapsed_s: float, width: int = 30) -> str:
    """``label [#######.......]  42/100 frames  1.9 s``; an unknown total shows a count only."""
    if total <= 0:
        if done == 0:
            return f"{label}: waiting for the service  {elapsed_s:.1f} s"
        return f"{label}  {done} frames  {elapsed_s:.1f} s"
    done = min(done, total)
    filled = round(width * done / total)
    bar = "#" * filled + "." * (width - filled)
    digits = len(str(total))
    return f"{label} [{bar}] {done:>{digits}}/{total} frames  {elapsed_s:.1f} s"


class ProgressBar:
    """Redraws one line in place; does nothing unless the stream is a terminal."""

    def __init__(
        self,
        stream: TextIO,
        label: str,
        *,
        enabled: bool | None = None,
        clock: Callable[[], float] = time.monotonic,
        min_interval_s: float = 0.05,
    ) -> None:
        self._stream = stream
        self._label = label
        self.enabled = stream.isatty() if enabled is None else enabled
        self._clock = clock
        self._start = clock()
        self._last_draw = -1.0
        self._min_interval_s = min_interval_s
        self._width = 0

    def update(self, done: int, total: int) -> None:
        if not self.enabled:
            return
        now = self._clock()
        if 0 < done < total and now - self._last_draw < self._min_interval_s:
            return
        self._last_draw = now
        line = render_progress(self._label, done, total, now - self._start)
        self._stream.write("\r" + line.ljust(self._width))
        self._stream.flush()
        self._width = len(line)

    def close(self) -> None:
        """Erases the bar so the final message starts on a clean line."""
        if self.enabled and self._width:
            self._stream.write("\r" + " " * self._width + "\r")
            self._stream.flush()
            self._width = 0
