"""Background jobs: a worker QObject per run, and the fit job the window runs.

A job is a plain function ``job(cancel, report) -> result``: it checks the
``threading.Event`` ``cancel`` and calls ``report(progress)`` as it goes.
"""

from __future__ import annotations

import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from PySide6.QtCore import QObject, Signal, Slot

from ..core import FitConfig, GMMStudioError, MixtureModel, fit
from ..core.parallel import lower_current_thread
from ..core.results import Snapshot

Job = Callable[[threading.Event, Callable[[object], None]], object]

# Fit jobs forward at most this many snapshots per second (plus every
# restart's last one); the controller redraws at most ~30 times per second.
_EMIT_HZ = 60.0


class JobWorker(QObject):
    """Runs one job in its own thread; every signal carries the run id."""

    progress = Signal(int, object)
    finished = Signal(int, object)
    failed = Signal(int, str)        # message for the user
    done = Signal()                  # always last: lets the thread quit

    def __init__(self, run_id: int, job: Job):
        super().__init__()
        self.run_id, self.job = run_id, job
        self.cancel = threading.Event()

    @Slot()
    def run(self) -> None:
        """Run the job; emit finished or failed, then done."""
        lower_current_thread()  # the window's thread must win the CPU
        try:
            result = self.job(self.cancel, lambda p: self.progress.emit(self.run_id, p))
            self.finished.emit(self.run_id, result)
        except GMMStudioError as exc:
            self.failed.emit(self.run_id, str(exc))
        except Exception as exc:  # never let a bug kill the app: report it instead
            traceback.print_exc()
            self.failed.emit(self.run_id, f"the task failed unexpectedly ({exc!r}); "
                                          "please report this with the data that caused it.")
        finally:
            self.done.emit()


@dataclass(frozen=True)
class Progress:
    """A snapshot plus every restart's log-likelihood history so far."""

    snapshot: Snapshot
    histories: dict[int, tuple[float, ...]]

    @property
    def urgent(self) -> bool:
        """A restart's last snapshot is always drawn."""
        return self.snapshot.done


def fit_job(X: np.ndarray, weights: np.ndarray | None, config: FitConfig,
            initial_model: MixtureModel | None = None) -> Job:
    """The job behind Run: fit, reporting throttled Progress."""
    def job(cancel, report):
        histories: dict[int, list[float]] = {}
        last_emit = [0.0]

        def on_snapshot(snap: Snapshot) -> None:
            histories.setdefault(snap.restart, []).append(snap.log_likelihood)
            now = time.perf_counter()
            if snap.done or now - last_emit[0] >= 1.0 / _EMIT_HZ:
                last_emit[0] = now
                report(Progress(snap, {r: tuple(h) for r, h in histories.items()}))

        return fit(X, config, sample_weight=weights, initial_model=initial_model,
                   callback=on_snapshot, cancel=cancel)
    return job
