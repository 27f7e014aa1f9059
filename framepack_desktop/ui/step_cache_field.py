"""The "Step cache" row of the Advanced settings: which cache, and its threshold.

Each cache keeps its own threshold while the user switches between them (they mean different
things: TeaCache's 0.15 is MagCache's 0.06). Jobs are written the way job files always held
TeaCache, so settings loaded from an older video round-trip unchanged: TeaCache's threshold in
`teacache`, and "Off" as TeaCache at 0; MagCache's and First-Block Cache's in `step_cache_threshold`.
"""
from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QComboBox, QDoubleSpinBox, QHBoxLayout, QWidget

from ..engine.choices import STEP_CACHE_DEFAULTS

LABELS = {"teacache": "TeaCache", "magcache": "MagCache", "fbcache": "First-block cache", "off": "Off"}
TIPS = {
    "teacache": "Skip transformer passes whose input barely changed: about 2× faster, slightly less detail. "
                "Threshold 0.10 ≈ 1.6×, 0.15 ≈ 2.1×.",
    "magcache": "Skip passes using the model's calibrated change per step (framepack-desktop models "
                "calibrate-magcache, once per model). Higher threshold: faster, less detail.",
    "fbcache": "Run the first block every step and skip the rest while its result barely changes. "
               "Higher threshold: faster, less detail.",
    "off": "Compute every step (slowest, the model's exact result).",
}


class StepCacheField(QWidget):
    changed = Signal()

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.kind = QComboBox()
        for value, label in LABELS.items():
            self.kind.addItem(label, value)
        self.threshold = QDoubleSpinBox()
        self.threshold.setRange(0.01, 1.0)
        self.threshold.setSingleStep(0.01)
        self.threshold.setDecimals(2)
        self.threshold.setAlignment(Qt.AlignmentFlag.AlignRight)
        self.threshold.setMinimumWidth(64)
        self._thresholds = dict(STEP_CACHE_DEFAULTS)
        self._shown = "teacache"
        self.threshold.setValue(self._thresholds["teacache"])
        lay = QHBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self.kind, 1)
        lay.addWidget(self.threshold)
        self.kind.currentIndexChanged.connect(self._kind_changed)
        self.threshold.valueChanged.connect(self._threshold_changed)
        self._kind_changed()

    def _kind_changed(self) -> None:
        kind = self.kind.currentData()
        self._shown = kind
        self.threshold.setEnabled(kind != "off")
        if kind != "off":
            self.threshold.blockSignals(True)
            self.threshold.setValue(self._thresholds[kind])
            self.threshold.blockSignals(False)
        self.kind.setToolTip(TIPS[kind])
        self.threshold.setToolTip(TIPS[kind])
        self.changed.emit()

    def _threshold_changed(self, value: float) -> None:
        if self._shown != "off":
            self._thresholds[self._shown] = value
        self.changed.emit()

    def values(self) -> dict:
        kind = self.kind.currentData()
        return {
            "step_cache": "teacache" if kind == "off" else kind,
            "teacache": 0.0 if kind == "off" else self._thresholds["teacache"],
            "step_cache_threshold": None if kind in ("off", "teacache") else self._thresholds[kind],
        }

    def set_values(self, d: dict) -> None:
        kind = d.get("step_cache", "teacache")
        if d.get("teacache", 0) > 0:
            self._thresholds["teacache"] = d["teacache"]
        if kind in ("magcache", "fbcache") and d.get("step_cache_threshold") is not None:
            self._thresholds[kind] = d["step_cache_threshold"]
        if kind == "teacache" and "teacache" in d and d["teacache"] == 0:
            kind = "off"
        if "step_cache" in d or "teacache" in d:
            self.kind.setCurrentIndex(self.kind.findData(kind))
            self._kind_changed()
