"""The generation settings form: the few choices everyone makes, and the rest folded away.

It edits the Job's fields (all but the images, the prompt and the output file, which the window
fills in) and hands them back as a dict, so the form never needs to know how a Job is built.
"""
from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox, QComboBox, QDoubleSpinBox, QFileDialog, QFormLayout, QHBoxLayout, QLabel, QLineEdit,
    QPlainTextEdit, QPushButton, QSpinBox, QToolButton, QVBoxLayout, QWidget,
)

from ..engine.choices import MEMORY_MODES, PRECISIONS, RESOLUTIONS, SAMPLERS, SEED_MAX, SEED_MIN, VARIANTS
from ..engine.job import Job
from .step_cache_field import StepCacheField


def _narrow(box: QComboBox) -> QComboBox:
    """Combo boxes may shrink with a narrow sidebar (long labels are elided)."""
    box.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
    box.setMinimumContentsLength(8)
    return box


def _combo(labels: dict[str, str]) -> QComboBox:
    box = _narrow(QComboBox())
    for value, label in labels.items():
        box.addItem(label, value)
    return box


def _set_combo(box: QComboBox, value) -> None:
    i = box.findData(value)
    if i >= 0:
        box.setCurrentIndex(i)


def _dspin(lo: float, hi: float, step: float, decimals: int, suffix: str = "") -> QDoubleSpinBox:
    s = QDoubleSpinBox()
    s.setRange(lo, hi)
    s.setSingleStep(step)
    s.setDecimals(decimals)
    s.setSuffix(suffix)
    s.setAlignment(Qt.AlignmentFlag.AlignRight)
    s.setMinimumWidth(64)
    return s


def _spin(lo: int, hi: int, suffix: str = "") -> QSpinBox:
    s = QSpinBox()
    s.setRange(lo, hi)
    s.setSuffix(suffix)
    s.setAlignment(Qt.AlignmentFlag.AlignRight)
    s.setMinimumWidth(64)
    return s


class Fold(QWidget):
    """A titled section that opens and closes (the "Advanced" settings)."""

    def __init__(self, title: str, body: QWidget, parent: QWidget | None = None):
        super().__init__(parent)
        self.button = QToolButton(text=title, checkable=True, objectName="Fold")
        self.button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.button.setArrowType(Qt.ArrowType.RightArrow)
        self.button.toggled.connect(self.set_open)
        self.body = body
        body.setVisible(False)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(4)
        lay.addWidget(self.button)
        lay.addWidget(body)

    def set_open(self, on: bool) -> None:
        self.button.setChecked(on)
        self.button.setArrowType(Qt.ArrowType.DownArrow if on else Qt.ArrowType.RightArrow)
        self.body.setVisible(on)


COMPILE_TIP = ("Compile the video model's blocks with torch.compile: faster steps. The first video waits while "
               "the blocks compile; the compiled kernels are kept for later starts.")
FP8_TIP = ("Run the video model's matrix products in fp8 on Ada, Hopper or Blackwell GPUs: faster and less GPU "
           "memory, slightly different results. Offered after a quality check against bf16 on this GPU.")


class SettingsPanel(QWidget):
    changed = Signal()

    def __init__(self, default_output: Path, parent: QWidget | None = None):
        super().__init__(parent)
        defaults = Job(image="", prompt="", output="")
        self.variant = _combo(VARIANTS.labels())
        self.variant.setToolTip("Original: generates from the end of the video towards the start and keeps "
                                "the start image as an anchor (least drift). F1: generates forwards; more motion.")
        self.seconds = _dspin(0.5, 600, 0.5, 1, " s")
        self.length_hint = QLabel(objectName="Hint")
        self.length_hint.setWordWrap(True)
        self.resolution = _narrow(QComboBox())
        for r in RESOLUTIONS:
            self.resolution.addItem(f"{r} class", r)
        self.steps = _spin(1, 200)
        self.gs = _dspin(0, 32, 0.5, 1)
        self.gs.setToolTip("Distilled guidance: how strongly the prompt steers the video (default 10).")
        self.seed = _spin(SEED_MIN, SEED_MAX)
        self.random_seed = QCheckBox("Random")
        self.random_seed.setToolTip("Pick a new seed for every Generate; the seed used is saved with the video.")

        self.sampler = _combo(SAMPLERS.labels())
        self.step_cache = StepCacheField()
        self.precision = _combo(PRECISIONS.labels())
        self.memory = _combo(MEMORY_MODES.labels())
        self.keep_free = _dspin(0, 128, 0.5, 1, " GB")
        self.keep_free.setToolTip("GPU memory the app leaves free for other programs; more means more offloading.")
        self.compile = QCheckBox("Compile")
        self.compile.setToolTip(COMPILE_TIP)
        self.fp8_compute = QCheckBox("fp8 compute")
        self.fp8_compute.setToolTip(FP8_TIP)
        self.crf = _spin(0, 51)
        self.crf.setToolTip("H.264 quality: lower is better and bigger (16 is visually lossless).")
        self.output_dir = QLineEdit()
        self.output_dir.setPlaceholderText(str(default_output))
        browse = QPushButton("…")
        browse.setFixedWidth(36)
        browse.setToolTip("Choose the folder videos are saved to")
        browse.clicked.connect(self._browse_output)
        self.negative = QPlainTextEdit()
        self.negative.setPlaceholderText("Negative prompt (used only when real CFG is above 1)")
        self.negative.setFixedHeight(self.fontMetrics().height() * 3 + 14)
        self.cfg = _dspin(1, 32, 0.1, 1)
        self.rescale = _dspin(0, 1, 0.05, 2)
        self.window = _spin(1, 33)
        self.window.setToolTip("Latent frames per section (9 ≈ 1.2 s). Larger sections: fewer, longer steps.")
        self.end_influence = _dspin(0, 1, 0.05, 2)
        self.prompt_blend = _spin(0, 20, " sections")
        self.prompt_blend.setSpecialValueText("Off: switch at once")
        self.prompt_blend.setToolTip("Timed prompts: blend the text from one prompt to the next over this many "
                                     "sections instead of switching at the boundary.")

        main = QFormLayout()
        _form_style(main)
        main.addRow("Model", self.variant)
        main.addRow("Length", _row(self.seconds, self.length_hint))
        main.addRow("Resolution", self.resolution)
        main.addRow("Steps", self.steps)
        main.addRow("Distilled CFG", self.gs)
        main.addRow("Seed", _row(self.seed, self.random_seed))

        adv_body = QWidget()
        adv = QFormLayout(adv_body)
        _form_style(adv)
        adv.setContentsMargins(0, 0, 0, 0)
        adv.addRow("Sampler", self.sampler)
        adv.addRow("Step cache", self.step_cache)
        adv.addRow("Precision", self.precision)
        adv.addRow("Memory", self.memory)
        adv.addRow("Keep free", self.keep_free)
        adv.addRow("Speed", _row(self.compile, self.fp8_compute))
        adv.addRow("Video CRF", self.crf)
        adv.addRow("Save to", _row(self.output_dir, browse, stretch_first=True))
        adv.addRow("Real CFG", self.cfg)
        adv.addRow("CFG rescale", self.rescale)
        adv.addRow("Window", self.window)
        adv.addRow("End influence", self.end_influence)
        adv.addRow("Blend prompts", self.prompt_blend)
        adv.addRow(self.negative)
        self.advanced = Fold("Advanced", adv_body)

        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(8)
        lay.addLayout(main)
        lay.addWidget(self.advanced)

        self.set_values(defaults.to_dict())
        for w in (self.variant, self.resolution, self.sampler, self.precision, self.memory):
            w.currentIndexChanged.connect(self._emit)
        for w in (self.seconds, self.steps, self.gs, self.seed, self.keep_free, self.crf,
                  self.cfg, self.rescale, self.window, self.end_influence, self.prompt_blend):
            w.valueChanged.connect(self._emit)
        for w in (self.random_seed, self.compile, self.fp8_compute):
            w.toggled.connect(self._emit)
        self.step_cache.changed.connect(self._emit)
        self.output_dir.textChanged.connect(self._emit)
        self.negative.textChanged.connect(self._emit)
        self._emit()

    def _emit(self) -> None:
        self.seed.setEnabled(not self.random_seed.isChecked())
        self.end_influence.setEnabled(self.variant.currentData() == "original")
        probe = Job(image="", prompt="", output="", seconds=self.seconds.value(), window=self.window.value())
        self.length_hint.setText(f"{probe.num_sections} sections · {probe.num_frames} frames")
        self.changed.emit()

    def _browse_output(self) -> None:
        start = self.output_dir.text() or self.output_dir.placeholderText()
        folder = QFileDialog.getExistingDirectory(self, "Save videos to", start)
        if folder:
            self.output_dir.setText(folder)

    # ----- values -----
    def values(self) -> dict:
        """The Job fields this form edits."""
        return {
            "variant": self.variant.currentData(),
            "seconds": self.seconds.value(),
            "resolution": self.resolution.currentData(),
            "steps": self.steps.value(),
            "gs": self.gs.value(),
            "seed": self.seed.value(),
            "sampler": self.sampler.currentData(),
            **self.step_cache.values(),
            "precision": self.precision.currentData(),
            "memory": self.memory.currentData(),
            "keep_free_gb": self.keep_free.value(),
            "compile": self.compile.isChecked(),
            "fp8_compute": self.fp8_compute.isChecked() and self.fp8_compute.isEnabled(),
            "crf": self.crf.value(),
            "negative_prompt": self.negative.toPlainText(),
            "cfg": self.cfg.value(),
            "rescale": self.rescale.value(),
            "window": self.window.value(),
            "end_influence": self.end_influence.value(),
            "prompt_blend": self.prompt_blend.value(),
        }

    def set_values(self, d: dict) -> None:
        """Fill the form from Job fields (a job loaded from a video, the last session's form)."""
        combos = {"variant": self.variant, "resolution": self.resolution, "sampler": self.sampler,
                  "precision": self.precision, "memory": self.memory}
        spins = {"seconds": self.seconds, "steps": self.steps, "gs": self.gs, "seed": self.seed,
                 "keep_free_gb": self.keep_free, "crf": self.crf, "cfg": self.cfg, "rescale": self.rescale,
                 "window": self.window, "end_influence": self.end_influence,
                 "prompt_blend": self.prompt_blend}
        for name, box in combos.items():
            if name in d:
                _set_combo(box, d[name])
        for name, spin in spins.items():
            if name in d:
                spin.setValue(d[name])
        self.step_cache.set_values(d)
        if "negative_prompt" in d:
            self.negative.setPlainText(d["negative_prompt"])
        for name in ("compile", "fp8_compute"):
            if name in d:
                getattr(self, name).setChecked(bool(d[name]))

    def set_speed_support(self, compile_problem: str | None, fp8_problem: str | None) -> None:
        """Offer only the speed settings this computer can run; the tooltip says why one is not."""
        for box, problem, tip in ((self.compile, compile_problem, COMPILE_TIP), (self.fp8_compute, fp8_problem, FP8_TIP)):
            box.setEnabled(problem is None)
            box.setToolTip(tip if problem is None else f"Not available: {problem}.")

    def set_cpu_only(self, first_start: bool) -> None:
        """No GPU here: nothing GPU-only is offered, and a first start begins at the 320 class
        (640 takes many minutes a second of video on a CPU)."""
        self.keep_free.setEnabled(False)
        self.keep_free.setToolTip("GPU memory to leave free: this computer has no GPU the app can use.")
        if first_start:
            _set_combo(self.resolution, 320)

    @property
    def output_folder(self) -> str:
        return self.output_dir.text().strip()


def _form_style(form: QFormLayout) -> None:
    form.setLabelAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
    form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
    form.setHorizontalSpacing(10)
    form.setVerticalSpacing(7)


def _row(*widgets: QWidget, stretch_first: bool = False) -> QWidget:
    w = QWidget()
    lay = QHBoxLayout(w)
    lay.setContentsMargins(0, 0, 0, 0)
    lay.setSpacing(8)
    for i, widget in enumerate(widgets):
        lay.addWidget(widget, 1 if (i == 0 and stretch_first) or isinstance(widget, (QSpinBox, QDoubleSpinBox)) else 0)
    return w

