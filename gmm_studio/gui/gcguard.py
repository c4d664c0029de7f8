"""Python's cycle collector, run on the GUI thread only.

Automatic collection runs in whichever thread happens to allocate. If that is
an engine thread and the garbage includes Qt widgets (a closed window, a
dialog), their C++ destructors run off the GUI thread, which deadlocks or
crashes Qt. So while the window runs, automatic collection is off and a timer
collects on the GUI thread instead.

pyqtgraph ships the same idea (``pyqtgraph.util.garbage_collector``), but it
decides what to collect from ``gc.get_count()`` against the generation
thresholds, and what those counters mean changed with the incremental
collector of Python 3.14 (and is an implementation detail anyway). This one
reads no counters: the young generation every tick, the middle one every few
seconds, everything every minute. That is right on any Python, and costs a
fraction of a millisecond per tick.
"""

from __future__ import annotations

import gc

from PySide6.QtCore import QCoreApplication, QObject, QTimer

_guard: GuiThreadCollector | None = None

TICK_MS = 500
MIDDLE_EVERY = 10   # ticks: 5 s
FULL_EVERY = 120    # ticks: 60 s


class GuiThreadCollector(QObject):
    """Collects on a timer on the GUI thread while automatic collection is off."""

    def __init__(self, interval_ms: int = TICK_MS) -> None:
        super().__init__()
        self.was_enabled = gc.isenabled()
        gc.disable()
        self.ticks = 0
        self.timer = QTimer(self)
        self.timer.timeout.connect(self.check)
        self.timer.start(interval_ms)

    def check(self) -> None:
        """One tick: the young generation, and older ones now and then."""
        self.ticks += 1
        if self.ticks % FULL_EVERY == 0:
            gc.collect()
        elif self.ticks % MIDDLE_EVERY == 0:
            gc.collect(1)
        else:
            gc.collect(0)

    def stop(self) -> None:
        """Give collection back to Python (once no engine thread can hold Qt garbage)."""
        self.timer.stop()
        gc.collect()
        if self.was_enabled:
            gc.enable()


def install() -> GuiThreadCollector:
    """Install the collector once per process (call on the GUI thread).

    It stops, and Python collects by itself again, when the application quits.
    """
    global _guard
    if _guard is None:
        _guard = GuiThreadCollector()
        app = QCoreApplication.instance()
        if app is not None:
            app.aboutToQuit.connect(uninstall)
    return _guard


def uninstall() -> None:
    """Stop collecting on the timer and re-enable automatic collection."""
    global _guard
    if _guard is not None:
        _guard.stop()
        _guard = None
