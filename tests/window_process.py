"""A window in a process of its own, for the crash test: the user types a prompt, presses Generate,
and the process prints READY once a section is on disk and the form was saved, then keeps running
until the test kills it (kill -9: no clean shutdown, nothing saved on the way out).

Usage: python tests/window_process.py <app home> <start image> <prompt>
"""
import os
import sys

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import Qt  # noqa: E402
from PySide6.QtTest import QTest  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from framepack_desktop.engine.events import SectionDecoded  # noqa: E402
from framepack_desktop.engine.runner import run_job  # noqa: E402
from framepack_desktop.engine.session import ModelSession  # noqa: E402
from framepack_desktop.settings import AppPaths, load_settings  # noqa: E402
from framepack_desktop.ui.main_window import MainWindow  # noqa: E402


def main(home: str, image: str, prompt: str) -> int:
    app = QApplication.instance() or QApplication([])
    paths = AppPaths.under(home).ensure()
    w = MainWindow(paths, load_settings(paths), run_job=run_job, session_factory=ModelSession)
    w.show()
    w.sidebar.start.load(image)
    w.sidebar.prompt.edit.setFocus()
    QTest.keyClicks(w.sidebar.prompt.edit, prompt)
    s = w.sidebar.settings
    s.seconds.setValue(1.6)
    s.window.setValue(3)
    s.steps.setValue(2)
    decoded = []

    def seen(e):
        if isinstance(e, SectionDecoded):
            decoded.append(e.section)
            if len(decoded) == 2:
                w.save_timer.timeout.connect(lambda: print("READY", flush=True))
                if not w.save_timer.isActive():
                    print("READY", flush=True)

    w.controller.eventApplied.connect(seen)
    QTest.mouseClick(w.sidebar.generate, Qt.MouseButton.LeftButton)
    return app.exec()


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:4]))
