"""Run, Step and Stop: the fit's jobs, their live progress and their results.

Half-steps of big data and fits run off the GUI thread; every result is
checked against the data on screen (through the window's state) before it
is shown.
"""

from __future__ import annotations

import time

import numpy as np
from PySide6.QtCore import QObject

from ..core import GMMStudioError
from ..core.teaching.step_session import StepSession
from ..jobs import fit_job, step_in_background
from .controller import JobController
from .lectures import collapse_message, step_note
from .status import finished_status, progress_status, step_status

# From this many values (rows x features) a half-step runs off the GUI thread.
STEP_IN_BACKGROUND_VALUES = 200_000


class Fitting(QObject):
    """The window's Run / Step / Stop and what they draw."""

    def __init__(self, window) -> None:
        super().__init__(window)
        self.w = window
        self.stepper: StepSession | None = None
        self.last_run_start = None  # the model the last Run went on from (None: its own start)
        self._before_run = None  # what a failed run gives back
        self._histories: dict[int, np.ndarray] = {}
        self._drawn_at, self._draw_cost = 0.0, 0.0
        self.controller = JobController(self)
        self.controller.progress.connect(self._on_progress)
        self.controller.finished.connect(self._on_finished)
        self.controller.failed.connect(self._on_failed)
        self.controller.running_changed.connect(self._on_running)
        self.step_controller = JobController(self)  # half-steps of big data
        self.step_controller.finished.connect(self._step_done)
        self.step_controller.failed.connect(self._step_failed)
        self.step_controller.running_changed.connect(self._on_running)

    def _busy(self) -> bool:
        return self.controller.running or self.step_controller.running

    def run_fit(self) -> None:
        """Fit ▸ Run: fit in the background, drawing as it goes.

        After stepping, Run goes on from the stepped model instead of
        starting over (Reset starts over).
        """
        config = self.w._config()
        if config is None or self.w.dataset is None or self._busy():
            return
        ds = self.w.dataset
        try:  # data the cluster holds is fitted there, whole; else the rows in memory
            on_cluster = self.w.cluster.fit_input(ds)
        except GMMStudioError as exc:
            self.w.messages.show_messages("error", [str(exc)])
            return
        start = self._continuable(self.stepper.model if self.stepper else None, config)
        self.stepper = None
        self.last_run_start = start
        self.w.messages.clear()
        self.w.ll_plot.clear_curves()
        self._before_run = self.w.state.fitted
        X, weights = (ds.X, ds.weights) if on_cluster is None else (on_cluster, None)
        self.controller.start(fit_job(X, weights, config, start,
                                      pace=self.w.fit_panel.pace()), tag=ds.data_id)
        self.w._set_status("fitting…" if start is None else "fitting on from the stepped model…")

    @staticmethod
    def _continuable(model, config):
        """``model`` if a fit with ``config`` can start from it, else None."""
        if model is None or model.n_components != config.n_components:
            return None
        if config.algorithm == "soft_kmeans":
            return model if model.covariance_type == "spherical" else None
        if config.algorithm != "kmeans" and model.covariance_type != config.covariance_type:
            return None
        return model

    def start_stepping(self, model, config, note: str = "") -> None:
        """Step mode from ``model`` (a lecture's starting values) on the data on screen."""
        ds = self.w.dataset
        self.stepper = StepSession(ds.X, config, ds.weights, model=model)
        self.w.state.set_model(model, ds.data_id)
        self.w._draw_model(model)
        self.w.ll_plot.clear_curves()
        self.w.ll_plot.set_step_trace(self.stepper.trace, self._ll_offset())
        self.w.step_view.clear(note)
        self.w.step_view.show_session(self.stepper, ds)
        self.w.step_view.say(step_note(self.stepper))
        self.w._set_status("starting values of the example · press Step (Space) for the "
                           "E-step")

    def stop_fit(self, wait: bool = False) -> None:
        """Fit ▸ Stop."""
        self.controller.stop(wait=wait)

    def step(self) -> None:
        """Fit ▸ Step: the next half-step (E, then M).

        After a Run, stepping goes on from the fitted model. On big data the
        half-step runs off the GUI thread, so the window stays responsive.
        """
        config = self.w._config()
        ds = self.w.dataset
        if config is None or ds is None or self._busy():
            return
        if self.w.cluster.holds(ds):
            self.w.messages.show_messages("info", [
                "step mode works on data in memory; Run fits the data on the cluster."])
            return
        if self.stepper is None or self.stepper.config != config:
            start = self._continuable(self.w.model, config)
            self.stepper = StepSession(ds.X, config, ds.weights, model=start)
            self.w.ll_plot.clear_curves()
            self.w.step_view.clear()
            if start is not None:
                self.w.ll_plot.set_step_trace(self.stepper.trace, self._ll_offset())
        if ds.X.size >= STEP_IN_BACKGROUND_VALUES:
            self.w._set_status("computing the next half-step…")
            self.step_controller.start(step_in_background(self.stepper), tag=ds.data_id)
            return
        try:
            phase = self.stepper.step()
        except GMMStudioError as exc:
            self._step_failed(str(exc))
            return
        self._step_done(phase)

    def _step_done(self, phase: str) -> None:
        s = self.stepper
        if s is None or s.X is not self.w.dataset.X:
            return  # the data changed while the step ran
        self.w._set_status(step_status(phase, s, self._ll_offset()))
        self.w.ll_plot.set_step_trace(s.trace, self._ll_offset())
        self.w.step_view.show_session(s, self.w.dataset)
        if s.config.variance_floor == 0:
            self.w.step_view.say(step_note(s))
        if phase == "E":
            self.w.plot.set_responsibilities(s.resp[self.w.plot.rows])
            return
        self.w.state.set_model(s.model, self.w.dataset.data_id)
        resp = None if s.resp is None else s.resp[self.w.plot.rows]
        self.w._draw_model(s.model, resp)
        self.w.linked.model_settled()

    def _step_failed(self, message: str) -> None:
        s = self.stepper
        if s is not None and s.config.variance_floor == 0 and "positive definite" in message:
            explained = collapse_message(s, message)
            self.w.step_view.say(explained)
            self.w.messages.show_messages("warning", [explained])
            return
        self.w.messages.show_messages("error", [message])

    def _ll_offset(self) -> float:
        """What turns a log-likelihood of X into one in the data file's units."""
        return 0.0 if self.w.dataset is None else self.w.dataset.log_likelihood_offset()

    def _in_file_units(self, log_likelihood: float) -> float:
        return log_likelihood + self._ll_offset()

    def _on_progress(self, progress) -> None:
        snap = progress.snapshot
        if not self.w.state.belongs(self.controller.tag):
            return  # from a fit of other data
        self.w.state.set_model(snap.model, self.controller.tag)
        offset = self._ll_offset()
        self._histories = {r: h + offset for r, h in progress.histories.items()}
        now = time.perf_counter()
        # Adaptive throttle: with big data a redraw costs more, so draw less often
        # and leave the event loop free; a restart's last snapshot is always drawn.
        if not snap.done and now - self._drawn_at < 3 * (self._draw_cost + self.w.plot.paint_cost):
            return
        self.w._draw_model(snap.model, live=not snap.done)
        self._drawn_at = time.perf_counter()
        self._draw_cost = self._drawn_at - now
        self.w.ll_plot.set_histories(self._histories, None)
        self.w._set_status(progress_status(progress, self.w.fit_panel.restarts.value(), offset))

    def _on_finished(self, result) -> None:
        if not self.w.state.set_model(result.model, self.controller.tag, result):
            return  # a fit of other data: never shown
        self.w._draw_model(result.model)
        self.w.linked.model_settled()
        self.w.ll_plot.set_histories(self._histories, result.best_restart)
        self.w._set_status(finished_status(result, self._ll_offset()))
        if result.warnings:
            self.w.messages.show_messages("warning", list(result.warnings))

    def _on_failed(self, message: str) -> None:
        self.w.messages.show_messages("error", [message])
        before = self._before_run
        if before is None or not self.w.state.belongs(before.data_id):
            self.w.state.set_model(None, None)
        else:
            self.w.state.set_model(before.model, before.data_id, before.result)
        self.w.plot.clear_model()
        self.w._draw_model(self.w.model)
        self.w._set_status("fit failed — previous results kept")

    def _on_running(self, _running: bool) -> None:
        running = self._busy()
        self.w.fit_panel.set_running(running)
        for key in ("run", "step", "reset"):
            self.w.acts[key].setEnabled(not running)
        self.w.acts["stop"].setEnabled(running)
