"""Python's cycle collector, run on the GUI thread only.

Automatic collection runs in whichever thread happens to allocate. If that is
an engine thread and the garbage includes Qt widgets (a closed window, a
dialog), their C++ destructors run off the GUI thread, which deadlocks or
crashes Qt. So automatic collection is switched off and a timer collects on
the GUI thread, honouring the collector's usual thresholds.
"""

from __future__ import annotations

import gc

from PySide6.QtCore import QObject, QTimer

_guard: GuiThreadCollector | None = None


class GuiThreadCollector(QObject):
    """Collects generations whose allocation counts passed their thresholds."""

    def __init__(self, interval_ms: int = 500) -> None:
        super().__init__()
        gc.disable()
        self.timer = QTimer(self)
        self.timer.timeout.connect(self.check)
        self.timer.start(interval_ms)

    def check(self) -> None:
        """Collect what gc itself would have collected by now."""
        counts, thresholds = gc.get_count(), gc.get_threshold()
        for generation in (2, 1, 0):
            if counts[generation] > thresholds[generation]:
                gc.collect(generation)
                return


def install() -> GuiThreadCollector:
    """Install the collector once per process (call on the GUI thread)."""
    global _guard
    if _guard is None:
        _guard = GuiThreadCollector()
    return _guard
