"""Owns a job's thread: start, cancel, stale-run filtering and redraw throttling.

superqt's ``thread_worker`` runs a generator in a QThread too, and would do
for starting and quitting. What it does not do is what the window relies on:
a run id on every signal so results of a replaced run are dropped (even one
already queued when the data changed: ``discard``), a tag saying which data
a run belongs to, coalescing progress to ~30 redraws a second while always
delivering a restart's last snapshot, and relaying a child process. So the
window keeps this one small class (and no extra dependency).
"""

from __future__ import annotations

import contextlib
import weakref

from PySide6.QtCore import QObject, QThread, QTimer, Signal

from ..jobs import Job
from .worker import JobWorker

REDRAW_MS = 33  # ~30 redraws per second; the last snapshot is always drawn

# Every QThread this module starts, so tests can fail any that is left running.
LIVE_THREADS: weakref.WeakSet[QThread] = weakref.WeakSet()


class JobController(QObject):
    """Run one job at a time in the background; hand throttled progress to the views."""

    progress = Signal(object)          # progress of the current run
    finished = Signal(object)          # result of the current run
    failed = Signal(str)
    running_changed = Signal(bool)

    def __init__(self, parent: QObject | None = None, redraw_ms: int = REDRAW_MS,
                 result_supersedes: bool = False):
        """``result_supersedes``: a run's result holds all its progress said (the
        sweep's rows), so progress still pending when it ends is dropped, not
        drawn just before the result is drawn again."""
        super().__init__(parent)
        self.result_supersedes = result_supersedes
        self.run_id = 0
        self.tag: object = None  # what the current run was started for (e.g. a data id)
        self._thread: QThread | None = None
        self._worker: JobWorker | None = None
        self._pending: object | None = None
        self._timer = QTimer(self)
        self._timer.setInterval(redraw_ms)
        self._timer.timeout.connect(self._flush)

    @property
    def running(self) -> bool:
        """True while a fit thread is alive."""
        return self._thread is not None

    def start(self, job: Job, tag: object = None) -> int:
        """Cancel any run in progress and start ``job``; returns its run id.

        ``tag`` says what the run belongs to (``self.tag`` while it is current),
        so receivers can check a result against what is on screen.
        """
        self.discard()
        self.run_id += 1
        self.tag = tag
        thread = QThread()
        worker = JobWorker(self.run_id, job)
        worker.moveToThread(thread)
        thread.started.connect(worker.run)
        worker.progress.connect(self._on_progress)
        worker.finished.connect(self._on_finished)
        worker.failed.connect(self._on_failed)
        worker.done.connect(thread.quit)
        thread.finished.connect(self._on_thread_finished)
        self._thread, self._worker = thread, worker
        LIVE_THREADS.add(thread)
        thread.start()
        self._timer.start()
        self.running_changed.emit(True)
        return self.run_id

    def stop(self, wait: bool = False) -> None:
        """Ask the current run to stop; with ``wait``, block until its thread ends."""
        if self._worker is not None:
            self._worker.cancel.set()
        if wait and self._thread is not None:
            self._thread.quit()
            self._thread.wait()
            self._release()

    def discard(self) -> None:
        """Cancel and join the current run and drop whatever it still sends.

        Unlike ``stop``, even a result already on its way (queued before the
        thread ended) is never delivered: use it when the run's data is gone.
        """
        self.run_id += 1  # from here on, the old run's signals are stale
        self.tag = None
        self._pending = None
        self.stop(wait=True)

    def shutdown(self) -> None:
        """Cancel and join: call before the window closes."""
        self.discard()
        self._timer.stop()

    def _on_progress(self, run_id: int, progress: object) -> None:
        if run_id != self.run_id:
            return  # a stale run: its results must not be drawn
        self._pending = progress
        if getattr(progress, "urgent", False):
            self._flush()

    def _flush(self) -> None:
        if self._pending is not None:
            pending, self._pending = self._pending, None
            self.progress.emit(pending)

    def _on_finished(self, run_id: int, result) -> None:
        if run_id == self.run_id:
            if self.result_supersedes:
                self._pending = None
            self._flush()
            self.finished.emit(result)

    def _on_failed(self, run_id: int, message: str) -> None:
        if run_id == self.run_id:
            self._flush()
            self.failed.emit(message)

    def _on_thread_finished(self) -> None:
        thread = self.sender()
        if thread is not None and thread is self._thread:
            thread.wait()
            self._release()

    def _release(self) -> None:
        if self._thread is None:
            return
        for signal in (self._worker.progress, self._worker.finished, self._worker.failed):
            with contextlib.suppress(RuntimeError, TypeError):  # already disconnected
                signal.disconnect()
        self._thread, self._worker = None, None
        self._timer.stop()
        self._flush()
        self.running_changed.emit(False)
