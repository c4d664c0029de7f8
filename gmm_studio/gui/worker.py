"""A worker QObject per run: runs a job (see gmm_studio.jobs) in its own thread."""

from __future__ import annotations

import threading
import traceback

from PySide6.QtCore import QObject, Signal, Slot

from ..core import GMMStudioError
from ..core.engine.parallel import lower_current_thread
from ..jobs import Job


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
            first = (str(exc).splitlines() or [""])[0]
            self.failed.emit(self.run_id, f"the task failed unexpectedly ({type(exc).__name__}: "
                                          f"{first}); please report this with the data that "
                                          "caused it.")
        finally:
            self.done.emit()
