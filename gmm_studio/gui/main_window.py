"""The studio window: composes panels and views and wires signals. No maths here."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pandas as pd
from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QDockWidget,
    QFileDialog,
    QLabel,
    QMainWindow,
    QMessageBox,
    QScrollArea,
    QSplitter,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from .. import __version__
from ..core import GMMStudioError
from ..core.data.dataset import Dataset, file_sha256, make_dataset, numeric_columns
from ..core.data.readers import read_table
from ..core.data.samples import GENERATED, generate
from ..core.teaching.step_session import StepSession
from ..core.text import plural
from ..jobs import fit_job, step_in_background
from .anomaly_view import AnomalyView
from .compare_view import CompareInput, CompareView
from .controller import JobController
from .exports import ExportActions
from .linking import LinkedViews
from .loading import BackgroundLoading
from .menus import build_menus, fill_recent
from .panels import DataPanel, FitPanel
from .plots import LikelihoodPlot, MainPlot
from .resources import ABOUT_TEXT, sample_path
from .select_view import SelectView
from .sessions import SessionActions
from .settings import add_recent, load_config, make_settings, recent_files, save_config
from .state import StudioState
from .status import finished_status, progress_status, step_status
from .table_view import DataTableView
from .widgets import MessageBar, ParameterTable, TopOverlay

# From this many values (rows x features) a half-step runs off the GUI thread.
STEP_IN_BACKGROUND_VALUES = 200_000

FILE_FILTER = ("Data files (*.csv *.tsv *.txt *.xlsx *.parquet *.pq);;"
               "CSV / TSV (*.csv *.tsv *.txt);;Excel (*.xlsx);;Parquet (*.parquet *.pq);;All (*)")


class MainWindow(BackgroundLoading, SessionActions, LinkedViews, ExportActions, QMainWindow):
    """Data and Fit docks, the main plot, tabs below it and a status line."""

    def __init__(self) -> None:
        super().__init__()
        self.setWindowTitle("GMM Studio")
        self.setAcceptDrops(True)
        self.settings = make_settings()
        self.state = StudioState(self)
        self.frame: pd.DataFrame | None = None
        self.source: str | None = None
        self.sha256: str | None = None
        self.stepper: StepSession | None = None
        self.title = ""
        self._before_run = None  # what a failed run gives back
        self.data_ref: dict | None = None  # what a session file records about the data
        self.threshold = None
        self.last_status = ""
        self._histories: dict[int, np.ndarray] = {}
        self._drawn_at, self._draw_cost = 0.0, 0.0
        self._build()
        self.controller = JobController(self)
        self.controller.progress.connect(self._on_progress)
        self.controller.finished.connect(self._on_finished)
        self.controller.failed.connect(self._on_failed)
        self.controller.running_changed.connect(self._on_running)
        self.step_controller = JobController(self)  # half-steps of big data
        self.step_controller.finished.connect(self._step_done)
        self.step_controller.failed.connect(self._step_failed)
        self.step_controller.running_changed.connect(self._on_running)
        self.fit_panel.set_config(load_config(self.settings))
        self._restore_layout()
        self._link_views()
        self._start_autosave()
        self._setup_loader()
        self._setup_exports()

    @property
    def dataset(self) -> Dataset | None:
        """The data on screen."""
        return self.state.dataset

    @property
    def model(self):
        """The model of the data on screen (None if there is none)."""
        return self.state.model

    @property
    def result(self):
        """The fit behind ``model``, when it came from Run."""
        return self.state.result

    # -- construction ----------------------------------------------------------
    def _build(self) -> None:
        self.messages = MessageBar()
        self.plot = MainPlot()
        self.ll_plot = LikelihoodPlot()
        self.params = ParameterTable()
        self.tabs = QTabWidget()
        self.compare_view = CompareView(self._compare_inputs)
        self.select_view = SelectView(self._select_inputs)
        self.select_view.adopt.connect(self.adopt)
        self.tabs.addTab(self.ll_plot, "Log-likelihood")
        self.tabs.addTab(self.params, "Parameters")
        self.anomaly_view = AnomalyView()
        self.table_view = DataTableView()
        self.tabs.addTab(self.compare_view, "Compare")
        self.tabs.addTab(self.select_view, "Choose K")
        self.tabs.addTab(self.anomaly_view, "Anomalies")
        self.tabs.addTab(self.table_view, "Table")
        splitter = self.splitter = QSplitter(Qt.Orientation.Vertical)
        splitter.addWidget(self.plot)
        splitter.addWidget(self.tabs)
        splitter.setSizes([440, 420])
        self.tabs.currentChanged.connect(self._tab_changed)
        central = QWidget()
        layout = QVBoxLayout(central)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(splitter, 1)
        TopOverlay(self.messages, central)
        self.setCentralWidget(central)
        self.data_panel, self.fit_panel = DataPanel(), FitPanel()
        self.acts = build_menus(self)
        for title, panel in (("Data", self.data_panel), ("Fit", self.fit_panel)):
            dock = QDockWidget(title, self)
            dock.setObjectName(f"{title.lower()}_dock")
            scroll = QScrollArea()
            scroll.setWidgetResizable(True)
            scroll.setWidget(panel)
            scroll.setMinimumWidth(min(panel.sizeHint().width() + 24, 330))
            dock.setWidget(scroll)
            self.addDockWidget(Qt.DockWidgetArea.LeftDockWidgetArea, dock)
            self.view_menu.addAction(dock.toggleViewAction())
        self.status = QLabel("")
        self.statusBar().addWidget(self.status, 1)
        fp = self.fit_panel
        fp.run_button.clicked.connect(self.run_fit)
        fp.step_button.clicked.connect(self.step)
        fp.stop_button.clicked.connect(self.stop_fit)
        fp.reset_button.clicked.connect(self.reset)
        self.data_panel.selection_changed.connect(self._rebuild_dataset)
        self.data_panel.plot_axes_changed.connect(self._redraw_data)
        fill_recent(self.recent_menu, recent_files(self.settings), self.open_path)

    def _tab_changed(self, index: int) -> None:
        # The splitter is left alone: a tab bar that jumps on every click is
        # hard to use, and the user's own split is kept.
        if self.tabs.widget(index) in (self.anomaly_view, self.table_view):
            self.refresh_linked()

    def _restore_layout(self) -> None:
        geometry = self.settings.value("window/geometry")
        if geometry is not None:
            self.restoreGeometry(geometry)
        else:
            self.resize(1280, 860)
        state = self.settings.value("window/state")
        if state is not None:
            self.restoreState(state)

    # -- data ------------------------------------------------------------------
    def open_sample(self, name: str) -> bool:
        """Open a bundled sample by file name."""
        opened = self.open_path(sample_path(name), remember=False)
        if opened:
            self.data_ref = {"sample": name}
        return opened

    def open_dialog(self) -> None:
        """File ▸ Open."""
        folder = self.settings.value("files/last_folder", str(Path.home()))
        path, _ = QFileDialog.getOpenFileName(self, "Open data", folder, FILE_FILTER)
        if path:
            self.open_path(path)

    def open_path(self, path, remember: bool = True, background: bool = True) -> bool:
        """Load a file; on any error keep the current data and say why.

        Big files load in the background (progress, Cancel) unless
        ``background`` is False; this then returns False and the table
        appears when the reading is done.
        """
        big = background and self.is_big(path)
        if big and not str(path).lower().endswith((".xlsx", ".xlsm")):
            self.load_in_background(path, remember)
            return False
        try:
            frame, sha = read_table(path), file_sha256(path)
        except (GMMStudioError, OSError) as exc:
            self.messages.show_messages("error", [f"could not open {Path(path).name}: {exc}"])
            return False
        return self._accept_table(path, frame, sha, remember)

    def _accept_table(self, path, frame: pd.DataFrame, sha: str, remember: bool) -> bool:
        if not numeric_columns(frame):
            self.messages.show_messages("error", [
                f"could not open {Path(path).name}: it has no numeric column; check its "
                "delimiter and decimal mark."])
            return False
        if remember:
            self.settings.setValue("files/last_folder", str(Path(path).parent))
            fill_recent(self.recent_menu, add_recent(self.settings, str(path)), self.open_path)
        self.set_frame(frame, Path(path).name, str(path), sha)
        self.data_ref = {"path": str(Path(path).resolve()), "sha256": sha}
        return True

    def open_generated(self, key: str) -> None:
        """Samples ▸ a generated data set (with its true labels)."""
        self.set_frame(generate(key), f"{GENERATED[key]} (generated, seed 0)", None, None)
        self.data_ref = {"generated": key}

    def set_frame(self, frame: pd.DataFrame, title: str, source: str | None,
                  sha: str | None) -> None:
        """Show a new table; numeric columns become the features."""
        self._discard_jobs()
        numeric = numeric_columns(frame)
        self.frame, self.source, self.sha256 = frame, source, sha
        self.title = title
        self.setWindowTitle(f"{title} — GMM Studio")
        others = [c for c in frame.columns if c not in numeric]
        self.data_panel.file_label.setText(f"<b>{title}</b> — {plural(len(frame), 'row')}, "
                                           f"{plural(frame.shape[1], 'column')}")
        self.anomaly_view.reset_threshold()
        self.data_panel.set_columns(numeric, others, numeric)
        for label in ("truth", "species"):  # the samples' known labels
            if label in others:
                self.data_panel.label_box.setCurrentText(label)
        self.messages.clear()
        self._rebuild_dataset()

    def _rebuild_dataset(self, preprocessing=None) -> None:
        if self.frame is None:
            return
        try:
            dataset = make_dataset(
                self.frame, self.data_panel.checked_features() or [],
                label=self.data_panel.label_column(),
                standardize=self.data_panel.standardize.isChecked(),
                preprocessing=preprocessing, source=self.source, sha256=self.sha256)
            if not dataset.feature_names:
                raise GMMStudioError("tick at least one feature column.")
        except GMMStudioError as exc:
            self.messages.show_messages("error", [str(exc)])
            return
        self._discard_jobs()
        self.stepper = None
        self.state.set_dataset(dataset, self.title)
        note = dataset.drop_note or "no rows dropped"
        self.data_panel.rows_label.setText(f"{plural(dataset.n_rows, 'row')} used; {note}.")
        for view in (self.compare_view, self.select_view):
            view.data_changed(dataset, self.title)
        self.reset()

    def _discard_jobs(self) -> None:
        """Cancel every job on the current data and drop what it still sends."""
        for controller in (self.controller, self.step_controller, self.scorer,
                           self.compare_view.controller, self.select_view.controller,
                           self.table_view.sorter):
            controller.discard()

    def _redraw_data(self) -> None:
        ds = self.dataset
        if ds is None or len(ds.feature_names) != len(self.data_panel.checked_features()):
            return
        self.plot.set_data(ds.X, ds.raw, list(ds.feature_names), self.data_panel.plot_dims(),
                           ds.preprocessing, ds.weights)
        self._draw_model(self.model)

    # -- fitting ---------------------------------------------------------------
    def _config(self):
        try:
            config = self.fit_panel.config()
        except GMMStudioError as exc:
            self.messages.show_messages("error", [str(exc)])
            return None
        save_config(self.settings, config)
        return config

    def _busy(self) -> bool:
        return self.controller.running or self.step_controller.running

    def run_fit(self) -> None:
        """Fit ▸ Run: fit in the background, drawing as it goes.

        After stepping, Run goes on from the stepped model instead of
        starting over (Reset starts over).
        """
        config = self._config()
        if config is None or self.dataset is None or self._busy():
            return
        start = self._continuable(self.stepper.model if self.stepper else None, config)
        self.stepper = None
        self.messages.clear()
        self.ll_plot.clear_curves()
        ds = self.dataset
        self._before_run = self.state.fitted
        self.controller.start(fit_job(ds.X, ds.weights, config, start,
                                      pace=self.fit_panel.pace()), tag=ds.data_id)
        self._set_status("fitting…" if start is None else "fitting on from the stepped model…")

    @staticmethod
    def _continuable(model, config):
        """``model`` if a fit with ``config`` can start from it, else None."""
        if model is None or model.n_components != config.n_components:
            return None
        if config.algorithm != "kmeans" and model.covariance_type != config.covariance_type:
            return None
        return model

    def stop_fit(self, wait: bool = False) -> None:
        """Fit ▸ Stop."""
        self.controller.stop(wait=wait)

    def reset(self) -> None:
        """Forget the model; redraw the data."""
        self.controller.discard()
        self.step_controller.discard()
        self.stepper = None
        self.state.set_model(None, None)
        self.threshold = None
        self.ll_plot.clear_curves()
        self._redraw_data()
        self.params.show_model(None, None, [])
        self._model_settled()
        if self.dataset is not None:
            self._set_status(f"ready: {plural(self.dataset.n_rows, 'row')}, "
                             f"{plural(len(self.dataset.feature_names), 'feature')} — "
                             "press Run or Step")

    def step(self) -> None:
        """Fit ▸ Step: the next half-step (E, then M).

        After a Run, stepping goes on from the fitted model. On big data the
        half-step runs off the GUI thread, so the window stays responsive.
        """
        config = self._config()
        ds = self.dataset
        if config is None or ds is None or self._busy():
            return
        if self.stepper is None or self.stepper.config != config:
            start = self._continuable(self.model, config)
            self.stepper = StepSession(ds.X, config, ds.weights, model=start)
            self.ll_plot.clear_curves()
            if start is not None:
                self.ll_plot.add_step_value(self._in_file_units(self.stepper.history[-1]))
        if ds.X.size >= STEP_IN_BACKGROUND_VALUES:
            self._set_status("computing the next half-step…")
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
        if s is None or s.X is not self.dataset.X:
            return  # the data changed while the step ran
        self._set_status(step_status(phase, s, self._ll_offset()))
        if phase == "E":
            self.plot.set_responsibilities(s.resp[self.plot.rows])
            return
        self.state.set_model(s.model, self.dataset.data_id)
        resp = None if s.resp is None else s.resp[self.plot.rows]
        self._draw_model(s.model, resp)
        self._model_settled()
        self.ll_plot.add_step_value(self._in_file_units(s.history[-1]))

    def _step_failed(self, message: str) -> None:
        self.messages.show_messages("error", [message])

    def _ll_offset(self) -> float:
        """What turns a log-likelihood of X into one in the data file's units."""
        return 0.0 if self.dataset is None else self.dataset.log_likelihood_in_file_units(0.0)

    def _in_file_units(self, log_likelihood: float) -> float:
        return log_likelihood + self._ll_offset()

    def adopt(self, k: int, covariance_type: str) -> None:
        """Use K and the covariance type picked in Choose K."""
        config = self.fit_panel.config().replace(n_components=k,
                                                 covariance_type=covariance_type,
                                                 algorithm="em")
        self.fit_panel.set_config(config)
        self._set_status(f"adopted K={k}, {covariance_type} — press Run to fit it")

    def _compare_inputs(self) -> CompareInput:
        if self.dataset is None:
            raise GMMStudioError("open a data set first.")
        return CompareInput(self.dataset, self.fit_panel.config(), self.data_panel.plot_dims(),
                            self.title)

    def _select_inputs(self):
        if self.dataset is None:
            raise GMMStudioError("open a data set first.")
        return self.dataset, self.fit_panel.config(), self.title

    def _draw_model(self, model, resp=None, live: bool = False) -> None:
        if model is None or self.dataset is None:
            return
        if model.n_features != len(self.dataset.feature_names):
            return
        self.plot.set_model(model, resp, live=live)
        self.params.show_model(model, self.dataset.preprocessing,
                               list(self.dataset.feature_names))

    def _on_progress(self, progress) -> None:
        snap = progress.snapshot
        if not self.state.belongs(self.controller.tag):
            return  # from a fit of other data
        self.state.set_model(snap.model, self.controller.tag)
        offset = self._ll_offset()
        self._histories = {r: h + offset for r, h in progress.histories.items()}
        now = time.perf_counter()
        # Adaptive throttle: with big data a redraw costs more, so draw less often
        # and leave the event loop free; a restart's last snapshot is always drawn.
        if not snap.done and now - self._drawn_at < 3 * (self._draw_cost + self.plot.paint_cost):
            return
        self._draw_model(snap.model, live=not snap.done)
        self._drawn_at = time.perf_counter()
        self._draw_cost = self._drawn_at - now
        self.ll_plot.set_histories(self._histories, None)
        self._set_status(progress_status(progress, self.fit_panel.restarts.value(), offset))

    def _on_finished(self, result) -> None:
        if not self.state.set_model(result.model, self.controller.tag, result):
            return  # a fit of other data: never shown
        self._draw_model(result.model)
        self._model_settled()
        self.ll_plot.set_histories(self._histories, result.best_restart)
        self._set_status(finished_status(result, self._ll_offset()))
        if result.warnings:
            self.messages.show_messages("warning", list(result.warnings))

    def _on_failed(self, message: str) -> None:
        self.messages.show_messages("error", [message])
        before = self._before_run
        if before is None or not self.state.belongs(before.data_id):
            self.state.set_model(None, None)
        else:
            self.state.set_model(before.model, before.data_id, before.result)
        self.plot.clear_model()
        self._draw_model(self.model)
        self._set_status("fit failed — previous results kept")

    def _on_running(self, _running: bool) -> None:
        running = self._busy()
        self.fit_panel.set_running(running)
        for key in ("run", "step", "reset"):
            self.acts[key].setEnabled(not running)
        self.acts["stop"].setEnabled(running)

    def _set_status(self, text: str) -> None:
        self.last_status = text
        self.status.setText(text)

    # -- window ----------------------------------------------------------------
    def about(self) -> None:
        """Help ▸ About."""
        QMessageBox.about(self, "About GMM Studio", ABOUT_TEXT.format(version=__version__))

    def dragEnterEvent(self, event) -> None:  # noqa: N802 - Qt override
        if event.mimeData().hasUrls():
            event.acceptProposedAction()

    def dropEvent(self, event) -> None:  # noqa: N802 - Qt override
        urls = [u for u in event.mimeData().urls() if u.isLocalFile()]
        if urls:
            self.open_path(urls[0].toLocalFile())

    def closeEvent(self, event) -> None:  # noqa: N802 - Qt override
        for controller in (self.controller, self.step_controller, self.scorer,
                           self.compare_view.controller, self.select_view.controller,
                           self.table_view.sorter, self.loader, self.exporter):
            controller.shutdown()
        self._discard_autosave()
        self.settings.setValue("window/geometry", self.saveGeometry())
        self.settings.setValue("window/state", self.saveState())
        self.settings.sync()
        super().closeEvent(event)
