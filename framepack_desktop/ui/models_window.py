"""Help → Models: what the models folder holds, component by component, and what to do about it.

The first-start dialog (models_dialog.py) is for getting models at all; this window is for
looking at them later: each component installed or missing, its size on disk and its kind of
files (repository safetensors, a single-file checkpoint, GGUF), a Verify that checks sizes and
downloaded checksums off the GUI thread, Download… (the first-start dialog) and Choose folder….
The optional finishing models (RIFE, Real-ESRGAN) are listed under the others, with a button that
fetches them (`engine.models.finishing`, ~150 MB, off the GUI thread).
"""
from __future__ import annotations

import os
from pathlib import Path

from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtWidgets import (
    QDialog, QFileDialog, QHBoxLayout, QHeaderView, QLabel, QPushButton, QTreeWidget, QTreeWidgetItem, QVBoxLayout,
    QWidget,
)

from ..engine.choices import VARIANTS
from ..engine.errors import UserError
from ..engine.models.finishing import FINISHING_FILES, download_finishing
from ..engine.models.layout import COMPONENT_NAMES, is_demo, missing_files, transformer_files, weight_files
from ..engine.models.verify import verify_models
from .background import Tasks
from .disk import human


def component_rows(models_dir: Path) -> list[tuple[str, str, str, str]]:
    """(component, state, size, files) per component; the transformer once per variant."""
    rows = []
    for variant in VARIANTS.names:
        for name in COMPONENT_NAMES:
            if name != "transformer" and variant != VARIANTS.names[0]:
                continue                        # shared by both variants: listed once
            label = f"transformer ({VARIANTS.labels()[variant]})" if name == "transformer" else name
            missing = missing_files(models_dir, name, variant)
            singles = transformer_files(models_dir, variant) if name == "transformer" else []
            files = singles or [p for p in weight_files(models_dir, name, variant) if p.is_file()]
            size = sum(p.stat().st_size for p in files if p.is_file())
            kind = ("GGUF" if any(p.suffix == ".gguf" for p in singles) else "single file" if singles else
                    "safetensors" if files else "configuration")
            state = f"missing {len(missing)} file{'s' if len(missing) != 1 else ''}" if missing else "installed"
            rows.append((label, state, human(size) if size else "—", kind))
    for f in FINISHING_FILES:
        path = models_dir / f.final()
        state = "installed" if path.is_file() else "optional, not downloaded"
        rows.append((f"{f.label} (Finish)", state, human(path.stat().st_size) if path.is_file() else "—", "torch file"))
    return rows


class ModelsWindow(QDialog):
    folderChosen = Signal(str)          # the user picked another models folder
    downloadRequested = Signal()        # open the download (first-start) dialog

    def __init__(self, models_dir: str, tasks: Tasks, parent: QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle("Models")
        self.setMinimumSize(520, 360)
        self.tasks = tasks
        self.folder = QLabel()
        self.folder.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.folder.setWordWrap(True)
        self.table = QTreeWidget()
        self.table.setRootIsDecorated(False)
        self.table.setHeaderLabels(["Component", "State", "Size", "Files"])
        self.table.header().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        self.status = QLabel(objectName="Hint")
        self.status.setWordWrap(True)
        self.verify = QPushButton("Verify")
        self.verify.setToolTip("Check every file's size and, for downloaded ones, its recorded size and checksum")
        self.verify.clicked.connect(self.start_verify)
        download = QPushButton("Download…")
        download.clicked.connect(self.downloadRequested)
        self.get_finishing = QPushButton("Get finishing models")
        self.get_finishing.setToolTip("Download RIFE and Real-ESRGAN ×2/×4 (about 150 MB) for the Finish tab")
        self.get_finishing.clicked.connect(self.start_finishing_download)
        choose = QPushButton("Choose folder…")
        choose.clicked.connect(self._choose)
        close = QPushButton("Close")
        close.clicked.connect(self.accept)
        buttons = QHBoxLayout()
        for b in (self.verify, download, self.get_finishing, choose):
            buttons.addWidget(b)
        buttons.addStretch(1)
        buttons.addWidget(close)
        lay = QVBoxLayout(self)
        lay.addWidget(self.folder)
        lay.addWidget(self.table, 1)
        lay.addWidget(self.status)
        lay.addLayout(buttons)
        self.show_folder(models_dir)

    def show_folder(self, models_dir: str) -> None:
        self.models_dir = Path(models_dir) if models_dir else None
        self.table.clear()
        self.status.clear()
        if self.models_dir is None or not self.models_dir.is_dir():
            self.folder.setText("No models folder chosen yet: Download… or Choose folder….")
            self.verify.setEnabled(False)
            self.get_finishing.setEnabled(False)
            return
        demo = " — demo models: random weights, the videos are noise" if is_demo(self.models_dir) else ""
        self.folder.setText(f"Models folder: {self.models_dir}{demo}")
        self.folder.setToolTip(str(self.models_dir))
        for row in component_rows(self.models_dir):
            item = QTreeWidgetItem(list(row))
            item.setTextAlignment(2, Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            self.table.addTopLevelItem(item)
        self.verify.setEnabled(True)
        self.get_finishing.setEnabled(not is_demo(self.models_dir))

    def rows(self) -> list[list[str]]:
        return [[self.table.topLevelItem(k).text(c) for c in range(4)] for k in range(self.table.topLevelItemCount())]

    def start_verify(self) -> None:
        self.verify.setEnabled(False)
        self.status.setText("Checking the files…")
        self.tasks.run(verify_models, self.models_dir, returned=self._verified, errored=self._verify_failed)

    @Slot(object)
    def _verified(self, problems: list) -> None:
        self.verify.setEnabled(True)
        self.status.setText("Every file checked: no problems found." if not problems else
                            f"{len(problems)} problem{'s' if len(problems) != 1 else ''}: " +
                            "; ".join(str(p) for p in problems[:5]) + (" …" if len(problems) > 5 else ""))
        self.status.setToolTip("\n".join(str(p) for p in problems))

    @Slot(object)
    def _verify_failed(self, error: BaseException) -> None:
        if not isinstance(error, OSError):
            raise error
        self.verify.setEnabled(True)
        self.status.setText(f"Could not check the files: {error}")

    def start_finishing_download(self) -> None:
        self.get_finishing.setEnabled(False)
        self.status.setText("Downloading the finishing models…")
        self.tasks.run(download_finishing, self.models_dir, None, None, os.environ.get("HF_ENDPOINT") or None,
                       returned=self._finishing_done, errored=self._finishing_failed)

    @Slot(object)
    def _finishing_done(self, placed: list) -> None:
        self.show_folder(str(self.models_dir))
        self.status.setText(f"Finishing models ready in {self.models_dir}.")

    @Slot(object)
    def _finishing_failed(self, error: BaseException) -> None:
        if not isinstance(error, (UserError, OSError)):
            raise error
        self.get_finishing.setEnabled(True)
        self.status.setText(str(error))

    def ask_folder(self) -> str:
        """A models folder picked by the user, or "". Tests replace this with an answer."""
        return QFileDialog.getExistingDirectory(self, "Models folder", str(self.models_dir or ""))

    def _choose(self) -> None:
        folder = self.ask_folder()
        if folder:
            self.show_folder(folder)
            self.folderChosen.emit(folder)
