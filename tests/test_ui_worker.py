"""The worker thread: engine events arrive in the GUI thread, in order; Stop and crashes end it cleanly.

These tests drive the real QThread machinery with small event generators (plain data), not the
model; the full generation through the window is in test_ui_main_window.py.
"""
import gc
import threading

import numpy as np
import pytest
from PySide6.QtCore import QObject, QThread, Slot

from framepack_desktop.engine.events import Cancelled, Failed, Finished, Status, StepProgress
from framepack_desktop.engine.job import Job
from framepack_desktop.ui.worker import JobThread

JOB = Job(image="a.png", prompt="p", output="o.mp4")


@pytest.fixture(autouse=True)
def collect_in_the_gui_thread():
    """Dead Qt wrappers of earlier tests are collected here, not by a collection in a worker thread
    (see ui/gc_policy.py)."""
    gc.collect()


class Sink(QObject):
    """Receives the relayed events; records which thread it ran in."""

    def __init__(self):
        super().__init__()
        self.events, self.threads, self.done = [], set(), False

    @Slot(object)
    def on_event(self, e):
        self.events.append(e)
        self.threads.add(QThread.currentThread())

    @Slot()
    def on_finished(self):
        self.done = True


def run(qtbot, gen, stop_after=None):
    sink = Sink()
    t = JobThread(JOB, None, gen)
    t.event.connect(sink.on_event)
    t.finished.connect(sink.on_finished)
    t.start()
    if stop_after is not None:
        qtbot.waitUntil(lambda: len(sink.events) >= stop_after, timeout=5000)
        t.stop()
    qtbot.waitUntil(lambda: sink.done, timeout=5000)
    assert t.wait(1000) and not t.running
    return sink


def test_events_arrive_in_order_in_the_gui_thread(qtbot):
    worker_threads = []

    def gen(job, cancel, session):
        worker_threads.append(threading.current_thread())
        for i in range(1, 6):
            yield StepProgress(0, 0, i, 5, False, np.zeros((4, 4, 3), np.uint8), i * 0.1, None)
        yield Finished("o.mp4", "o.json", 37, 1.0)

    sink = run(qtbot, gen)
    assert [e.step for e in sink.events[:5]] == [1, 2, 3, 4, 5]
    assert isinstance(sink.events[-1], Finished)
    assert sink.threads == {QThread.currentThread()}           # the GUI thread, not the worker's
    assert worker_threads[0] is not threading.main_thread()


def test_stop_sets_the_cancel_event_the_runner_checks(qtbot):
    def gen(job, cancel, session):
        yield Status("working")
        assert cancel.wait(5), "stop() never reached the runner"
        yield Cancelled(None, 0)

    sink = run(qtbot, gen, stop_after=1)
    assert isinstance(sink.events[-1], Cancelled)


def test_an_engine_crash_becomes_a_failed_event(qtbot):
    def gen(job, cancel, session):
        yield Status("about to break")
        raise RuntimeError("boom")

    sink = run(qtbot, gen)
    last = sink.events[-1]
    assert isinstance(last, Failed) and "boom" in last.message and "RuntimeError" in last.detail


def test_wait_returns_while_the_gui_thread_is_blocked(qtbot):
    """Shutdown path: stop, then block in wait(); the thread must end without the GUI's help."""
    def gen(job, cancel, session):
        yield Status("working")
        cancel.wait(5)
        yield Cancelled(None, 0)

    sink = Sink()
    t = JobThread(JOB, None, gen)
    t.event.connect(sink.on_event)
    t.start()
    qtbot.waitUntil(lambda: len(sink.events) == 1, timeout=5000)
    t.stop()
    assert t.wait(5000)
