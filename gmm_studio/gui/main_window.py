"""The studio window: composes panels and views and wires signals. No maths here."""

from __future__ import annotations

import time
from pathlib import Path

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
from ..core.dataset import Dataset, file_sha256, make_dataset, numeric_columns
from ..core.samples import GENERATED, generate
from ..core.stepping import StepSession
from ..core.tables import read_table
from ..jobs import fit_job
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
from .status import finished_status, progress_status, step_status
from .table_view import DataTableView
from .widgets import MessageBar, ParameterTable, TopOverlay

FILE_FILTER = ("Data files (*.csv *.tsv *.txt *.xlsx *.parquet *.pq);;"
               "CSV / TSV (*.csv *.tsv *.txt);;Excel (*.xlsx);;Parquet (*.parquet *.pq);;All (*)")


class MainWindow(BackgroundLoading, SessionActions, LinkedViews, ExportActions, QMainWindow):
    """Data and Fit docks, the main plot, tabs below it and a status line."""

    def __init__(self) -> None:
        super().__init__()
        self.setWindowTitle("GMM Studio")
        self.setAcceptDrops(True)
        self.settings = make_settings()
        self.frame: pd.DataFrame | None = None
        self.source: str | None = None
        self.sha256: str | None = None
        self.dataset: Dataset | None = None
        self.result = None
        self.model = None
        self.stepper: StepSession | None = None
        self.data_ref: dict | None = None  # what a session file records about the data
        self.threshold = None
        self.last_status = ""
        self._histories: dict[int, tuple[float, ...]] = {}
        self._drawn_at, self._draw_cost = 0.0, 0.0
        self._build()
        self.controller = JobController(self)
        self.controller.progress.connect(self._on_progress)
        self.controller.finished.connect(self._on_finished)
        self.controller.failed.connect(self._on_failed)
        self.controller.running_changed.connect(self._on_running)
        self.fit_panel.set_config(load_config(self.settings))
        self._restore_layout()
        self._link_views()
        self._start_autosave()
        self._setup_loader()

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
        splitter.setSizes([560, 260])
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
        # Side-by-side plots and sweep curves need room; the live curve does not.
        widget = self.tabs.widget(index)
        if widget in (self.anomaly_view, self.table_view):
            self.refresh_linked()
        wide = widget in (self.compare_view, self.select_view, self.anomaly_view,
                          self.table_view)
        total = sum(self.splitter.sizes())
        self.splitter.setSizes([int(total * (0.3 if wide else 0.68)),
                                int(total * (0.7 if wide else 0.32))])

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
        self.stop_fit(wait=True)
        numeric = numeric_columns(frame)
        self.frame, self.source, self.sha256 = frame, source, sha
        others = [c for c in frame.columns if c not in numeric]
        self.data_panel.file_label.setText(f"<b>{title}</b> — {len(frame)} rows, "
                                           f"{frame.shape[1]} columns")
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
        self.stop_fit(wait=True)
        self.dataset = dataset
        note = dataset.drop_note or "no rows dropped"
        self.data_panel.rows_label.setText(f"{dataset.n_rows} rows used; {note}.")
        self.reset()

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

    def run_fit(self) -> None:
        """Fit ▸ Run: fit in the background, drawing as it goes."""
        config = self._config()
        if config is None or self.dataset is None or self.controller.running:
            return
        self.stepper = None
        self.messages.clear()
        self.ll_plot.clear_curves()
        self.controller.start(fit_job(self.dataset.X, self.dataset.weights, config))
        self._set_status("fitting…")

    def stop_fit(self, wait: bool = False) -> None:
        """Fit ▸ Stop."""
        self.controller.stop(wait=wait)

    def reset(self) -> None:
        """Forget the model; redraw the data."""
        self.stop_fit(wait=True)
        self.result, self.model, self.stepper = None, None, None
        self.threshold = None
        self.ll_plot.clear_curves()
        self._redraw_data()
        self.params.show_model(None, None, [])
        self._model_settled()
        if self.dataset is not None:
            self._set_status(f"ready: {self.dataset.n_rows} rows, "
                             f"{len(self.dataset.feature_names)} features — press Run or Step")

    def step(self) -> None:
        """Fit ▸ Step: the next half-step (E, then M)."""
        config = self._config()
        if config is None or self.dataset is None or self.controller.running:
            return
        if self.stepper is None or self.stepper.config != config:
            self.stepper = StepSession(self.dataset.X, config, self.dataset.weights)
            self.ll_plot.clear_curves()
        try:
            phase = self.stepper.step()
        except GMMStudioError as exc:
            self.messages.show_messages("error", [str(exc)])
            return
        s = self.stepper
        self._set_status(step_status(phase, s))
        if phase == "E":
            self.plot.set_responsibilities(s.resp[self.plot.rows])
            return
        self.model = s.model
        resp = None if s.resp is None else s.resp[self.plot.rows]
        self._draw_model(s.model, resp)
        self._model_settled()
        self.ll_plot.add_step_value(s.history[-1])

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
        return CompareInput(self.dataset, self.fit_panel.config(), self.data_panel.plot_dims())

    def _select_inputs(self):
        if self.dataset is None:
            raise GMMStudioError("open a data set first.")
        return self.dataset, self.fit_panel.config()

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
        self.model, self._histories = snap.model, progress.histories
        now = time.perf_counter()
        # Adaptive throttle: with big data a redraw costs more, so draw less often
        # and leave the event loop free; a restart's last snapshot is always drawn.
        if not snap.done and now - self._drawn_at < 3 * (self._draw_cost + self.plot.paint_cost):
            return
        self._draw_model(snap.model, live=not snap.done)
        self._drawn_at = time.perf_counter()
        self._draw_cost = self._drawn_at - now
        self.ll_plot.set_histories(progress.histories, None)
        self._set_status(progress_status(progress, self.fit_panel.restarts.value()))

    def _on_finished(self, result) -> None:
        self.result, self.model = result, result.model
        self._draw_model(result.model)
        self._model_settled()
        self.ll_plot.set_histories(self._histories, result.best_restart)
        self._set_status(finished_status(result))
        if result.warnings:
            self.messages.show_messages("warning", list(result.warnings))

    def _on_failed(self, message: str) -> None:
        self.messages.show_messages("error", [message])
        self.model = self.result.model if self.result is not None else None
        self.plot.clear_model()
        self._draw_model(self.model)
        self._set_status("fit failed — previous results kept")

    def _on_running(self, running: bool) -> None:
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
        for controller in (self.controller, self.compare_view.controller,
                           self.select_view.controller, self.loader):
            controller.shutdown()
        self._discard_autosave()
        self.settings.setValue("window/geometry", self.saveGeometry())
        self.settings.setValue("window/state", self.saveState())
        self.settings.sync()
        super().closeEvent(event)
