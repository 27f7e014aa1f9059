"""The headless progress display: one updating bar while sampling, one line per finished section;
and what every long command does with Ctrl+C (render, post, downloads, calibration)."""
from __future__ import annotations

import contextlib
import signal
import sys
import threading
import time
from collections.abc import Iterator
from typing import TextIO

from .engine import events as ev
from .engine.printable import printable


def format_seconds(seconds: float | None) -> str:
    if seconds is None:
        return "--:--"
    seconds = int(round(seconds))
    h, rest = divmod(seconds, 3600)
    m, s = divmod(rest, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m:02d}:{s:02d}"


@contextlib.contextmanager
def stop_on_ctrl_c(message: str) -> Iterator[threading.Event]:
    """Within the block, the first Ctrl+C sets the yielded event (the work stops at its next check)
    and prints `message`; a second one raises KeyboardInterrupt at once. Signals reach only the main
    thread: elsewhere (a test's thread) the event is yielded with no handler."""
    cancel = threading.Event()

    def on_interrupt(signum, frame):
        if cancel.is_set():
            raise KeyboardInterrupt
        print(f"\n{message}", file=sys.stderr)
        cancel.set()

    previous = signal.signal(signal.SIGINT, on_interrupt) if threading.current_thread() is threading.main_thread() else None
    try:
        yield cancel
    finally:
        if previous is not None:
            signal.signal(signal.SIGINT, previous)


class Throttle:
    """At most one progress line per `seconds`, and always the last one."""

    def __init__(self, seconds: float = 0.5):
        self.seconds, self._shown = seconds, 0.0

    def due(self, final: bool) -> bool:
        now = time.monotonic()
        if now - self._shown < self.seconds and not final:
            return False
        self._shown = now
        return True


class Progress:
    def __init__(self, stream: TextIO, width: int = 30):
        self.stream = stream
        self.width = width
        self.sections = 0
        self.finished: set[int] = set()     # sections whose frames are made (kept ones count once)
        self.tty = stream.isatty()
        self._bar_open = False

    def _line(self, text: str) -> None:
        if self._bar_open:
            self.stream.write("\n")
            self._bar_open = False
        self.stream.write(printable(text, keep="\n") + "\n")
        self.stream.flush()

    def show(self, event: ev.Event) -> None:
        if isinstance(event, ev.JobStarted):
            self.sections = event.num_sections
            self.finished = set(event.resumed_sections)
            resumed = f", {len(self.finished)} already done" if self.finished else ""
            self._line(f"{event.num_sections} sections, {event.num_frames} frames at {event.width}x{event.height}{resumed}")
            if event.plan:
                self._line(f"plan: {event.plan}")
        elif isinstance(event, ev.Status):
            self._line(f"note: {event.text}" if event.notice else event.text)
        elif isinstance(event, ev.StepProgress):
            filled = int(self.width * event.step / event.steps)
            bar = "#" * filled + "." * (self.width - filled)
            text = (f"section {event.order + 1}/{self.sections} [{bar}] step {event.step}/{event.steps}"
                    f"{' (cached)' if event.cached else ''}  ETA {format_seconds(event.eta_s)}")
            if self.tty:
                self.stream.write("\r" + text)
                self.stream.flush()
                self._bar_open = True
            elif event.step == event.steps:
                self._line(text)
        elif isinstance(event, ev.SectionDecoded):
            self.finished.add(event.section)
            self._line(f"section {len(self.finished)}/{self.sections} done: frames {event.start_frame}-"
                       f"{event.start_frame + len(event.frames) - 1}"
                       f"{f', {event.skipped_steps} steps cached' if event.skipped_steps else ''}"
                       f"{f', ready {event.latency_s:.1f} s after sampling' if event.latency_s is not None else ''}")
        elif isinstance(event, ev.Finished):
            self._line(f"done in {format_seconds(event.seconds)}: {event.video}")
        elif isinstance(event, ev.Cancelled):
            self._line(f"stopped; partial video: {event.video}" if event.video else "stopped before any frame was made")
        elif isinstance(event, ev.Failed):
            self._line(f"error: {event.message}")
