"""The playhead: position, play/pause, loop, stepping; it works while the video is still growing.

Playing advances through the frames that exist; at the end of them it loops back to the first
existing frame (loop on) or stops. Seeking is allowed anywhere, also onto sections still being
sampled: the player then shows their latent preview. `ready` is asked for the current span of
existing frames each tick, so the span can grow underneath (backwards for the original model).
"""
from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QObject, QTimer, Signal, Slot


class Playback(QObject):
    positionChanged = Signal(int)
    playingChanged = Signal(bool)
    loopChanged = Signal(bool)

    def __init__(self, ready: Callable[[], tuple[int, int]], parent: QObject | None = None):
        super().__init__(parent)
        self._ready = ready
        self.position = 0
        self.num_frames = 0
        self.loop = True
        self._timer = QTimer(self)
        self._timer.timeout.connect(self._tick)
        self.fps, self.speed = 30, 1.0
        self.set_fps(30)

    @property
    def playing(self) -> bool:
        return self._timer.isActive()

    def set_fps(self, fps: int) -> None:
        self.fps = fps
        self._timer.setInterval(max(1, round(1000 / max(fps * self.speed, 1e-3))))

    def set_speed(self, speed: float) -> None:
        """Play slower or faster than real time (0.25× to watch motion closely)."""
        self.speed = speed
        self.set_fps(self.fps)

    def set_length(self, num_frames: int) -> None:
        self.num_frames = num_frames
        if self.position >= num_frames:
            self.seek(max(num_frames - 1, 0))

    @Slot(int)
    def seek(self, frame: int) -> None:
        frame = min(max(frame, 0), max(self.num_frames - 1, 0))
        if frame != self.position:
            self.position = frame
            self.positionChanged.emit(frame)

    def step(self, delta: int) -> None:
        self.pause()
        self.seek(self.position + delta)

    def home(self) -> None:
        start, end = self._ready()
        self.seek(start if end > start else 0)

    def end(self) -> None:
        start, end = self._ready()
        self.seek(end - 1 if end > start else self.num_frames - 1)

    @Slot()
    def toggle(self) -> None:
        self.pause() if self.playing else self.play()

    def play(self) -> None:
        start, end = self._ready()
        if end <= start or self.playing:
            return
        if not start <= self.position < end - 1:
            self.seek(start)
        self._timer.start()
        self.playingChanged.emit(True)

    def pause(self) -> None:
        if self.playing:
            self._timer.stop()
            self.playingChanged.emit(False)

    @Slot(bool)
    def set_loop(self, on: bool) -> None:
        if on != self.loop:
            self.loop = on
            self.loopChanged.emit(on)

    @Slot()
    def _tick(self) -> None:
        start, end = self._ready()
        nxt = self.position + 1
        if start <= nxt < end:
            self.seek(nxt)
        elif self.loop and end > start:
            self.seek(start)
        else:
            self.pause()
