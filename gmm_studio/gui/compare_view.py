"""Compare tab: k-means, hard EM and soft EM side by side with linked axes."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pyqtgraph as pg
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from ..core import FitConfig
from ..core.analysis.comparison import METHODS, match_components
from ..core.data.dataset import Dataset
from ..core.model.geometry import data_space, density_curves, ellipse_paths, project, subsample_rows
from ..jobs import make_job, run_compare
from .controller import JobController
from .palette import component_color
from .pointcloud import PointCloud, point_pen
from .widgets import MessageBar, StaleMark

TITLES = {"kmeans": "k-means", "soft_kmeans": "soft k-means", "hard_em": "hard EM",
          "em": "soft EM"}
MAX_POINTS = 5_000


@dataclass(frozen=True)
class CompareInput:
    """What a comparison needs from the window."""

    dataset: Dataset
    config: FitConfig
    dims: tuple[int, int | None]
    title: str = ""


def _job(inputs: CompareInput):
    ds = inputs.dataset
    return make_job(run_compare, ds.X, inputs.config, ds.labels(), ds.weights,
                    ds.preprocessing.log_jacobian())


class ComparePanel:
    """One method's plot: points by label, ellipses (or densities in 1-D)."""

    def __init__(self, plot: pg.PlotItem):
        self.plot = plot
        self.points = PointCloud(size=4)
        plot.addItem(self.points)
        self.curves: list[pg.PlotDataItem] = []

    def show(self, row, inputs: CompareInput, rows: np.ndarray, colour: np.ndarray) -> None:
        """Draw ``row``'s fit; component j is drawn in palette colour ``colour[j]``."""
        ds, (x, y) = inputs.dataset, inputs.dims
        model, k = row.result.model, row.result.model.n_components
        while len(self.curves) < k + 1:
            curve = pg.PlotDataItem(connect="finite")
            self.plot.addItem(curve)
            self.curves.append(curve)
        for j, curve in enumerate(self.curves):
            curve.setData([], [])
            curve.setPen(pg.mkPen("k", width=2) if j == k else
                         pg.mkPen(component_color(int(colour[j]) if j < k else j), width=2))
        means, covs = data_space(model, ds.preprocessing)
        if y is None:
            values = ds.raw[:, x]
            grid = np.linspace(values.min(), values.max(), 300)
            parts, total = density_curves(model, ds.preprocessing, x, grid)
            for j in range(k):
                self.curves[j].setData(grid, parts[j])
                self.curves[k].setData(grid, total)
            self.points.clear_points()
            return
        labels = row.result.labels[rows]
        groups = [(point_pen(component_color(int(colour[j])), 4), np.flatnonzero(labels == j))
                  for j in range(k)]
        self.points.set_points(ds.raw[rows, x], ds.raw[rows, y], groups)
        m2, c2 = project(means, covs, (x, y))
        for j in range(k):
            path = ellipse_paths(m2[j], c2[j], sigmas=(1.0, 2.0))
            self.curves[j].setData(path[:, 0], path[:, 1])


class CompareView(QWidget):
    """Fits the four methods in the background and shows them side by side."""

    def __init__(self, get_inputs) -> None:
        super().__init__()
        self.get_inputs = get_inputs
        self.controller = JobController(self)
        self.messages = MessageBar()
        self.run_button = QPushButton("Compare")
        self.cancel_button = QPushButton("Cancel")
        self.progress = QProgressBar()
        self.progress.setRange(0, len(METHODS))
        self.progress.setFormat("")
        bar = QHBoxLayout()
        bar.addWidget(QLabel("k-means, soft k-means, hard EM and soft EM with the Fit "
                             "panel's K, initialisation, restarts, seed and σ"), 1)
        bar.addWidget(self.progress)
        bar.addWidget(self.run_button)
        bar.addWidget(self.cancel_button)
        self.graphics = pg.GraphicsLayoutWidget()
        self.graphics.setBackground("w")
        self.panels = []
        for i, method in enumerate(METHODS):
            plot = self.graphics.addPlot(row=0, col=i, title=TITLES[method])
            plot.showGrid(x=True, y=True, alpha=0.15)
            if i:
                plot.setXLink(self.panels[0].plot)
                plot.setYLink(self.panels[0].plot)
            self.panels.append(ComparePanel(plot))
        self.table = QTableWidget()
        self.agreement = QTableWidget()
        agreement_box = QVBoxLayout()
        agreement_box.addWidget(QLabel("Agreement between methods (ARI)"))
        agreement_box.addWidget(self.agreement)
        tables = QHBoxLayout()
        tables.addWidget(self.table, 3)
        tables.addLayout(agreement_box, 2)
        layout = QVBoxLayout(self)
        layout.addLayout(bar)
        layout.addWidget(self.messages)
        layout.addWidget(self.graphics, 3)
        layout.addLayout(tables, 1)
        self.run_button.clicked.connect(self.run)
        self.cancel_button.clicked.connect(lambda: self.controller.stop())
        self.controller.progress.connect(self._on_progress)
        self.controller.finished.connect(self._on_finished)
        self.controller.failed.connect(lambda m: self.messages.show_messages("error", [m]))
        self.controller.running_changed.connect(self._on_running)
        self.stale = StaleMark(self.messages, self.graphics.ci, self.run,
                               greyed=(self.table, self.agreement))
        self._on_running(False)
        self.inputs: CompareInput | None = None
        self.rows = []

    def data_changed(self, dataset: Dataset | None, title: str) -> None:
        """The window shows other data: results of other data are marked stale."""
        self.stale.data_changed(None if dataset is None else dataset.data_id, title)

    def run(self) -> None:
        """Start the comparison with the window's current data and settings."""
        try:
            self.inputs = self.get_inputs()
        except ValueError as exc:
            self.messages.show_messages("error", [str(exc)])
            return
        self.messages.clear()
        self.progress.setValue(0)
        self.controller.start(_job(self.inputs))

    def _on_running(self, running: bool) -> None:
        self.run_button.setEnabled(not running)
        self.cancel_button.setEnabled(running)
        if not running and self.progress.format() not in ("", "done", "cancelled"):
            # The run ended without a result (cancelled before one came back).
            self.progress.setFormat("cancelled")

    def _on_progress(self, progress) -> None:
        index, iteration = progress
        self.progress.setValue(index)
        self.progress.setFormat(f"{TITLES[METHODS[index]]} · iteration {iteration}")

    def _on_finished(self, outcome) -> None:
        rows, agreement = outcome
        self.rows = rows
        self.progress.setValue(len(rows))
        self.progress.setFormat("done" if len(rows) == len(METHODS) else "cancelled")
        drawn = subsample_rows(self.inputs.dataset.n_rows, MAX_POINTS)
        # Soft EM's components set the colours; the others take the colour of
        # the soft-EM component they overlap most.
        reference = rows[-1].result.labels
        for panel, row in zip(self.panels, rows, strict=False):
            k = row.result.model.n_components
            panel.show(row, self.inputs, drawn, match_components(reference, row.result.labels, k))
        self.stale.computed(self.inputs.dataset.data_id, self.inputs.title)
        self.panels[0].plot.enableAutoRange()
        self._fill_tables(rows, agreement)

    def _fill_tables(self, rows, agreement) -> None:
        headers = ["method", "log-likelihood", "BIC", "AIC", "ICL", "iterations", "time (s)",
                   "cluster sizes", "ARI vs labels"]
        self.table.setColumnCount(len(headers))
        self.table.setHorizontalHeaderLabels(headers)
        self.table.setRowCount(len(rows))
        for i, r in enumerate(rows):
            ari = "—" if math.isnan(r.ari_truth) else f"{r.ari_truth:.3f}"
            cells = [TITLES[r.algorithm], f"{r.log_likelihood:.6g}", f"{r.bic:.6g}",
                     f"{r.aic:.6g}", f"{r.icl:.6g}", str(r.result.n_iter), f"{r.seconds:.2f}",
                     " ".join(map(str, r.cluster_sizes)), ari]
            for j, text in enumerate(cells):
                self.table.setItem(i, j, QTableWidgetItem(text))
        self.table.resizeColumnsToContents()
        names = [TITLES[r.algorithm] for r in rows]
        self.agreement.setRowCount(len(rows))
        self.agreement.setColumnCount(len(rows))
        self.agreement.setHorizontalHeaderLabels(names)
        self.agreement.setVerticalHeaderLabels(names)
        for i in range(len(rows)):
            for j in range(len(rows)):
                self.agreement.setItem(i, j, QTableWidgetItem(f"{agreement[i, j]:.3f}"))
        self.agreement.resizeColumnsToContents()
