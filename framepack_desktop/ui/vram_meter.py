"""The status bar's memory meter: GPU name, VRAM used/total with the app's share, system RAM.

Sampled once a second by a timer in the GUI thread; a sample costs microseconds (NVML, or the
CUDA driver through torch, and psutil), so it never stalls the window. Without a GPU it says CPU.
"""
from __future__ import annotations

from PySide6.QtCore import QRectF, QSize, Qt, QTimer
from PySide6.QtGui import QPainter, QPaintEvent
from PySide6.QtWidgets import QHBoxLayout, QLabel, QWidget

from ..engine.telemetry import Telemetry, TelemetrySampler
from . import theme


class UsageBar(QWidget):
    """A small horizontal bar: total used, with the app's own part drawn brighter."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.used = self.app = 0.0
        self.setFixedSize(QSize(70, 8))

    def set_fractions(self, used: float, app: float) -> None:
        self.used, self.app = min(max(used, 0.0), 1.0), min(max(app, 0.0), 1.0)
        self.update()

    def paintEvent(self, e: QPaintEvent) -> None:
        pal = theme.current()
        with QPainter(self) as p:       # ended even when painting raises (an unended one crashes later)
            p.setRenderHint(QPainter.RenderHint.Antialiasing)
            p.setPen(Qt.PenStyle.NoPen)
            r = QRectF(self.rect())
            p.setBrush(pal.color("field"))
            p.drawRoundedRect(r, 3, 3)
            color = "error" if self.used > 0.92 else "accent"
            p.setBrush(pal.color(color, 110))
            p.drawRoundedRect(QRectF(0, 0, r.width() * self.used, r.height()), 3, 3)
            p.setBrush(pal.color(color))
            p.drawRoundedRect(QRectF(0, 0, r.width() * min(self.app, self.used), r.height()), 3, 3)


class MemoryMeter(QWidget):
    def __init__(self, sampler: TelemetrySampler | None = None, interval_ms: int = 1000, parent: QWidget | None = None):
        super().__init__(parent)
        self.sampler = sampler or TelemetrySampler()
        self.last: Telemetry | None = None
        self.device = QLabel()
        self.vram = QLabel()
        self.vram_bar = UsageBar()
        self.ram = QLabel()
        self.ram_bar = UsageBar()
        lay = QHBoxLayout(self)
        lay.setContentsMargins(0, 0, 6, 0)
        lay.setSpacing(8)
        for w in (self.device, self.vram_bar, self.vram, self.ram_bar, self.ram):
            lay.addWidget(w)
        self.timer = QTimer(self)
        self.timer.setInterval(interval_ms)
        self.timer.timeout.connect(self.tick)
        self.timer.start()
        self.tick()

    def stop(self) -> None:
        """Stop sampling (the window closes)."""
        self.timer.stop()

    def tick(self) -> None:
        t = self.sampler.sample()
        self.last = t
        self.device.setText(t.device if t.has_gpu else "CPU (no GPU)")
        self.vram.setVisible(t.has_gpu)
        self.vram_bar.setVisible(t.has_gpu)
        if t.has_gpu:
            self.vram.setText(t.vram_text())
            self.vram_bar.set_fractions(t.vram_used / t.vram_total, (t.app_reserved or 0) / t.vram_total)
        self.ram.setText(t.ram_text())
        self.ram_bar.set_fractions(t.ram_used / t.ram_total if t.ram_total else 0.0,
                                   t.app_rss / t.ram_total if t.ram_total else 0.0)
        self.setToolTip(f"{t.device}\n{t.vram_text()}\n{t.ram_text()}\nsource: {t.source}")
