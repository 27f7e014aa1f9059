"""What the window's tests watch: every engine event the window applied, in order (GUI thread)."""
from PySide6.QtCore import QObject, Slot

from framepack_desktop.engine import events as ev


class Probe(QObject):
    def __init__(self, window, on_event=None):
        super().__init__()
        self.events, self.on_event, self.window = [], on_event, window
        window.controller.eventApplied.connect(self.seen)

    @Slot(object)
    def seen(self, e):
        self.events.append(e)
        if self.on_event is not None:
            self.on_event(e)

    def of(self, kind):
        return [e for e in self.events if isinstance(e, kind)]

    def sampled(self):
        return {e.section for e in self.of(ev.StepProgress)}

    def wait_outcome(self, qtbot, kind=ev.Finished, timeout_ms=120_000):
        """Until the run ended (and the window's background reads are done); a failure fails the test."""
        qtbot.waitUntil(lambda: bool(self.of(kind) or self.of(ev.Failed)) and not self.window.controller.running
                        and self.window.tasks.idle, timeout=timeout_ms)
        assert not self.of(ev.Failed), self.of(ev.Failed)[0].detail
