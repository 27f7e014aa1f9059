"""The "continue unfinished jobs?" offer shown at start, above the player.

Not a modal dialog: the window is usable at once, and a job the user does not want stays in its
folder (Dismiss only hides the row for this session). One row per job: its name, how far it
got, why it stopped, and Continue / Dismiss.
"""
from __future__ import annotations

import time
from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QFrame, QGridLayout, QLabel, QPushButton, QToolButton, QVBoxLayout, QWidget

from . import theme

_WHY = {"interrupted": "interrupted (the app or computer stopped)", "stopped": "stopped", "failed": "failed"}


def describe(u) -> str:
    """One line about an UnfinishedJob: name, sections kept, why it stopped, when."""
    when = time.strftime("%d %b %H:%M", time.localtime(u.updated))
    why = _WHY.get(u.state, u.state)
    if u.state == "failed" and u.message:
        why += f": {u.message}"
    return (f"<b>{Path(u.job.output).name}</b> — {u.finished_sections} of {u.num_sections} sections "
            f"done, {why} · {when}")


class ResumeBanner(QFrame):
    continueRequested = Signal(object)      # the UnfinishedJob to run again

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("NoticeBanner")
        self.jobs: list = []
        self.title = QLabel()
        self.title.setObjectName("NoticeTitle")
        close = QToolButton()
        close.setIcon(theme.icon("close"))
        close.setToolTip("Dismiss all (the job folders stay on disk)")
        close.setAutoRaise(True)
        close.clicked.connect(self.dismiss_all)
        self.rows = QGridLayout()
        self.rows.setHorizontalSpacing(8)
        self.rows.setVerticalSpacing(4)
        self.rows.setColumnStretch(0, 1)
        head = QGridLayout()
        head.addWidget(self.title, 0, 0)
        head.addWidget(close, 0, 1, Qt.AlignmentFlag.AlignRight)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(12, 8, 8, 8)
        lay.setSpacing(6)
        lay.addLayout(head)
        lay.addLayout(self.rows)
        self.hide()

    def set_jobs(self, jobs: list) -> None:
        self.jobs = list(jobs)
        self._rebuild()

    def continue_job(self, u) -> None:
        self._drop(u)
        self.continueRequested.emit(u)

    def dismiss(self, u) -> None:
        self._drop(u)

    def dismiss_all(self) -> None:
        self.jobs = []
        self._rebuild()

    def _drop(self, u) -> None:
        self.jobs = [j for j in self.jobs if j is not u]
        self._rebuild()

    def _rebuild(self) -> None:
        while self.rows.count():
            item = self.rows.takeAt(0)
            if item.widget() is not None:
                item.widget().deleteLater()
        n = len(self.jobs)
        self.title.setText(f"{n} unfinished job{'s' if n != 1 else ''} can continue where "
                           f"{'they' if n != 1 else 'it'} stopped; finished sections are kept.")
        for row, u in enumerate(self.jobs):
            text = QLabel(describe(u))
            text.setToolTip(str(u.job_dir))
            text.setWordWrap(True)          # a narrow window wraps the line instead of cutting it
            go = QPushButton("Continue")
            go.setObjectName("Primary")
            go.clicked.connect(lambda _=False, u=u: self.continue_job(u))
            skip = QPushButton("Dismiss")
            skip.clicked.connect(lambda _=False, u=u: self.dismiss(u))
            self.rows.addWidget(text, row, 0)
            self.rows.addWidget(go, row, 1)
            self.rows.addWidget(skip, row, 2)
        self.setVisible(bool(self.jobs))
