"""The garbage-collection policy: collections happen in the GUI thread, also the engine's."""
import gc
import threading
import time

from framepack_desktop.engine import session
from framepack_desktop.ui import gc_policy
from framepack_desktop.ui.gc_policy import GcPolicy, GuiCollector


def collection_threads(qtbot, call):
    """The threads in which full collections ran while `call` ran in an engine-like thread."""
    ran_in = []

    def record(phase, info):
        if phase == "stop" and info["generation"] == 2:
            ran_in.append(threading.current_thread())

    done = threading.Event()

    def engine():
        call()
        done.set()

    gc.callbacks.append(record)
    try:
        t = threading.Thread(target=engine, name="engine")
        t.start()
        qtbot.waitUntil(done.is_set, timeout=5000)
        t.join()
    finally:
        gc.callbacks.remove(record)
    return {th.name for th in ran_in}


def test_an_engine_thread_collection_runs_in_the_gui_thread_and_waits_for_it(qtbot):
    assert collection_threads(qtbot, GuiCollector()) == {"MainThread"}


def test_the_engine_does_not_wait_forever_on_a_busy_gui_thread(qtbot, monkeypatch):
    monkeypatch.setattr(gc_policy, "ENGINE_WAIT_S", 0.2)
    collector = GuiCollector()
    t = threading.Thread(target=collector)
    start = time.perf_counter()
    t.start()
    t.join(5)                          # the GUI thread is "busy": it processes no events meanwhile
    assert not t.is_alive() and time.perf_counter() - start < 5


def test_install_hands_collection_to_the_gui_and_uninstall_restores_python_defaults(qtbot):
    policy = GcPolicy(lambda: False)
    policy.install()
    try:
        assert not gc.isenabled() and gc.get_freeze_count() > 0
        assert collection_threads(qtbot, session.free_memory) == {"MainThread"}
    finally:
        policy.uninstall()
    assert gc.isenabled() and gc.get_freeze_count() == 0
    assert collection_threads(qtbot, session.free_memory) == {"engine"}
