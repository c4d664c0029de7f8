"""Runs the engine off the GUI thread: one worker QObject per run in a QThread."""

from __future__ import annotations

import threading
import time
import traceback
from dataclasses import dataclass

import numpy as np
from PySide6.QtCore import QObject, Signal, Slot

from ..core import FitConfig, GMMStudioError, MixtureModel, fit
from ..core.parallel import lower_current_thread
from ..core.results import Snapshot

# The worker forwards at most this many snapshots per second (plus every
# restart's last one); the controller redraws at most ~30 times per second.
_EMIT_HZ = 60.0


@dataclass(frozen=True)
class Progress:
    """A snapshot plus every restart's log-likelihood history so far."""

    snapshot: Snapshot
    histories: dict[int, tuple[float, ...]]


class FitWorker(QObject):
    """Fits in its own thread; every signal carries the run id."""

    progress = Signal(int, object)   # run id, Progress
    finished = Signal(int, object)   # run id, FitResult
    failed = Signal(int, str)        # run id, message for the user
    done = Signal()                  # always last: lets the thread quit

    def __init__(self, run_id: int, X: np.ndarray, weights: np.ndarray | None,
                 config: FitConfig, initial_model: MixtureModel | None = None):
        super().__init__()
        self.run_id = run_id
        self.X, self.weights, self.config = X, weights, config
        self.initial_model = initial_model
        self.cancel = threading.Event()
        self._histories: dict[int, list[float]] = {}
        self._last_emit = 0.0

    def _on_snapshot(self, snap: Snapshot) -> None:
        self._histories.setdefault(snap.restart, []).append(snap.log_likelihood)
        now = time.perf_counter()
        if snap.done or now - self._last_emit >= 1.0 / _EMIT_HZ:
            self._last_emit = now
            histories = {r: tuple(h) for r, h in self._histories.items()}
            self.progress.emit(self.run_id, Progress(snap, histories))

    @Slot()
    def run(self) -> None:
        """Fit; emit finished or failed, then done."""
        lower_current_thread()  # the window's thread must win the CPU
        try:
            result = fit(self.X, self.config, sample_weight=self.weights,
                         initial_model=self.initial_model, callback=self._on_snapshot,
                         cancel=self.cancel)
            self.finished.emit(self.run_id, result)
        except GMMStudioError as exc:
            self.failed.emit(self.run_id, str(exc))
        except Exception as exc:  # never let a bug kill the app: report it instead
            traceback.print_exc()
            self.failed.emit(self.run_id, f"the fit failed unexpectedly ({exc!r}); "
                                          "please report this with the data that caused it.")
        finally:
            self.done.emit()
