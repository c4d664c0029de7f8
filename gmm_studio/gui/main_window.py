"""The studio window: composes panels and views and wires signals. No maths here."""

from __future__ import annotations

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
from ..core.data.dataset import Dataset, file_sha256, make_dataset, numeric_columns
from ..core.data.readers import read_table
from ..core.data.samples import GENERATED, generate
from ..core.text import plural
from .anomaly_view import AnomalyView
from .cluster import Cluster
from .compare_view import CompareInput, CompareView
from .drawing import draw_model, redraw_data
from .exports import Exports
from .fitting import Fitting
from .lectures import LECTURES, open_lecture
from .likelihood_plot import LikelihoodPlot
from .linking import LinkedViews
from .loading import BackgroundLoader
from .menus import build_menus, fill_recent
from .pairs_view import PairsView
from .panels import DataPanel, FitPanel
from .parameters_view import ParametersView
from .plots import MainPlot
from .resources import ABOUT_TEXT, sample_path
from .select_view import SelectView
from .sessions import Sessions
from .settings import add_recent, load_config, make_settings, recent_files, save_config
from .state import StudioState
from .step_view import StepView
from .table_view import DataTableView
from .widgets import MessageBar, TopOverlay

FILE_FILTER = ("Data files (*.csv *.tsv *.txt *.xlsx *.parquet *.pq);;"
               "CSV / TSV (*.csv *.tsv *.txt);;Excel (*.xlsx);;Parquet (*.parquet *.pq);;All (*)")


class MainWindow(QMainWindow):
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
        self.title = ""
        self.data_ref: dict | None = None  # what a session file records about the data
        self.last_status = ""
        self.lecture_saved_config = None  # the Fit settings a lecture example replaced
        self._build()
        # The parts: each owns its jobs and talks to the others through the state.
        self.fitting = Fitting(self)
        self.linked = LinkedViews(self)
        self.sessions = Sessions(self)
        self.loading = BackgroundLoader(self)
        self.exports = Exports(self)
        self.cluster = Cluster(self)
        self.acts = build_menus(self)
        for dock in self.docks:
            self.view_menu.addAction(dock.toggleViewAction())
        fill_recent(self.recent_menu, recent_files(self.settings), self.open_path)
        self.fit_panel.set_config(load_config(self.settings))
        self._restore_layout()

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

    @property
    def threshold(self):
        """The anomaly threshold of the data and model on screen (or None)."""
        return self.state.threshold

    @threshold.setter
    def threshold(self, value) -> None:
        self.state.threshold = value

    # Run, Step and Stop live in ``fitting``; these are the window's commands.
    def run_fit(self) -> None:
        """Fit ▸ Run."""
        self.fitting.run_fit()

    def step(self) -> None:
        """Fit ▸ Step."""
        self.fitting.step()

    def stop_fit(self, wait: bool = False) -> None:
        """Fit ▸ Stop."""
        self.fitting.stop_fit(wait)

    def ask_save_path(self, title: str, file_filter: str, default_name: str) -> str | None:
        """A save dialog over the window, starting in the last folder used."""
        return self._ask_save_path(title, file_filter, default_name)

    def _ask_save_path(self, title: str, file_filter: str, default_name: str) -> str | None:
        folder = self.settings.value("files/last_folder", str(Path.home()))
        path, _ = QFileDialog.getSaveFileName(self, title, str(Path(folder) / default_name),
                                              file_filter)
        return path or None

    # -- construction ----------------------------------------------------------
    def _build(self) -> None:
        self.messages = MessageBar()
        self.plot = MainPlot()
        self.ll_plot = LikelihoodPlot()
        self.params = ParametersView()
        self.tabs = QTabWidget()
        self.compare_view = CompareView(self._compare_inputs)
        self.select_view = SelectView(self._select_inputs)
        self.select_view.adopt.connect(self.adopt)
        self.step_view = StepView()
        self.tabs.addTab(self.ll_plot, "Log-likelihood")
        self.tabs.addTab(self.step_view, "Step")
        self.tabs.addTab(self.params, "Parameters")
        self.pairs_view = PairsView()
        self.tabs.addTab(self.pairs_view, "Pairs")
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
        self.docks: list[QDockWidget] = []
        for title, panel in (("Data", self.data_panel), ("Fit", self.fit_panel)):
            dock = QDockWidget(title, self)
            dock.setObjectName(f"{title.lower()}_dock")
            scroll = QScrollArea()
            scroll.setWidgetResizable(True)
            scroll.setWidget(panel)
            scroll.setMinimumWidth(min(panel.sizeHint().width() + 24, 360))
            dock.setWidget(scroll)
            self.addDockWidget(Qt.DockWidgetArea.LeftDockWidgetArea, dock)
            self.docks.append(dock)
        self.status = QLabel("")
        self.statusBar().addWidget(self.status, 1)
        fp = self.fit_panel
        fp.run_button.clicked.connect(self.run_fit)
        fp.step_button.clicked.connect(self.step)
        fp.stop_button.clicked.connect(self.stop_fit)
        fp.reset_button.clicked.connect(self.reset)
        self.data_panel.selection_changed.connect(self._rebuild_dataset)
        self.data_panel.plot_axes_changed.connect(self._redraw_data)

    def _tab_changed(self, index: int) -> None:
        # The splitter is left alone: a tab bar that jumps on every click is
        # hard to use, and the user's own split is kept.
        if self.tabs.widget(index) in (self.anomaly_view, self.table_view):
            self.linked.refresh_linked()

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
        big = background and self.loading.is_big(path)
        if big and not str(path).lower().endswith((".xlsx", ".xlsm")):
            self.loading.load_in_background(path, remember)
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
        """Samples ▸ a generated data set (with its true labels) or a lecture example."""
        if key in LECTURES:
            open_lecture(self, key)
            return
        self.set_frame(generate(key), f"{GENERATED[key]} (generated, seed 0)", None, None)
        self.data_ref = {"generated": key}

    def set_frame(self, frame: pd.DataFrame, title: str, source: str | None,
                  sha: str | None) -> None:
        """Show a new table; numeric columns become the features."""
        self._discard_jobs()
        self.cluster.forget()
        if self.lecture_saved_config is not None:
            self.fit_panel.set_config(self.lecture_saved_config)
            self.lecture_saved_config = None
        numeric = numeric_columns(frame)
        self.frame, self.source, self.sha256 = frame, source, sha
        self.title = title
        self.setWindowTitle(f"{title} — GMM Studio")
        others = [c for c in frame.columns if c not in numeric]
        self.data_panel.file_label.setText(f"<b>{title}</b> — {plural(len(frame), 'row')}, "
                                           f"{plural(frame.shape[1], 'column')}")
        self.anomaly_view.reset_threshold()
        self.data_panel.set_columns(numeric, others, numeric)
        for label in ("truth", "species", "cultivar"):  # the samples' known labels
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
        self.fitting.stepper = None
        self.state.set_dataset(dataset, self.title)
        self.cluster.rebuilt(dataset)
        note = dataset.drop_note or "no rows dropped"
        self.data_panel.rows_label.setText(f"{plural(dataset.n_rows, 'row')} used; {note}.")
        for view in (self.compare_view, self.select_view):
            view.data_changed(dataset, self.title)
        self.pairs_view.set_data(dataset)
        self.reset()

    def _discard_jobs(self) -> None:
        """Cancel every job on the current data and drop what it still sends."""
        for controller in (self.fitting.controller, self.fitting.step_controller,
                           self.linked.scorer, self.compare_view.controller,
                           self.select_view.controller, self.table_view.sorter):
            controller.discard()

    def _redraw_data(self) -> None:
        redraw_data(self)

    # -- fitting ---------------------------------------------------------------
    def _config(self):
        try:
            config = self.fit_panel.config()
        except GMMStudioError as exc:
            self.messages.show_messages("error", [str(exc)])
            return None
        save_config(self.settings, config)
        return config


    def reset(self) -> None:
        """Forget the model; redraw the data."""
        self.fitting.controller.discard()
        self.fitting.step_controller.discard()
        self.fitting.stepper = None
        self.state.set_model(None, None)
        self.threshold = None
        self.ll_plot.clear_curves()
        self.step_view.clear()
        self._redraw_data()
        self.params.show_model(None, None, [])
        self.pairs_view.set_model(None)
        self.linked.model_settled()
        if self.dataset is not None:
            self._set_status(f"ready: {plural(self.dataset.n_rows, 'row')}, "
                             f"{plural(len(self.dataset.feature_names), 'feature')} — "
                             "press Run or Step")


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
        draw_model(self, model, resp, live)

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
        for controller in (self.fitting.controller, self.fitting.step_controller,
                           self.linked.scorer, self.compare_view.controller,
                           self.select_view.controller, self.table_view.sorter,
                           self.loading.loader, self.exports.exporter):
            controller.shutdown()
        self.sessions._discard_autosave()
        self.cluster.close()
        self.settings.setValue("window/geometry", self.saveGeometry())
        self.settings.setValue("window/state", self.saveState())
        self.settings.sync()
        super().closeEvent(event)
