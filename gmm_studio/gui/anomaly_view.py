"""Anomalies tab: log-density histogram with a draggable threshold, flagged rows."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QDoubleSpinBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSplitter,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from ..core import MixtureModel
from ..core.analysis.anomalies import (
    DEFAULT_QUANTILE,
    AnomalyThreshold,
    anomaly_frame,
    count_flagged,
    flag,
    threshold_from_sorted,
)
from ..core.analysis.scoring import RowScores, score_rows
from ..core.data.dataset import Dataset
from ..core.text import plural
from .frame_model import FrameModel


class AnomalyView(QWidget):
    """Threshold by dragging or by quantile (kept in sync); the flagged rows in a table."""

    threshold_changed = Signal(object)   # AnomalyThreshold, or None when cleared
    row_selected = Signal(int)           # position in the dataset's rows
    export_requested = Signal()

    def __init__(self) -> None:
        super().__init__()
        self.plot = pg.PlotWidget()
        self.plot.setBackground("w")
        self.plot.setLabel("bottom", "log density log p(x)")
        self.plot.setLabel("left", "rows")
        self.plot.getAxis("left").enableAutoSIPrefix(False)
        self.hist = pg.PlotDataItem(stepMode="center", fillLevel=0,
                                    brush=pg.mkBrush(150, 150, 150, 160), pen=pg.mkPen("#777"))
        self.plot.addItem(self.hist)
        self.line = pg.InfiniteLine(angle=90, movable=True, pen=pg.mkPen("#C00000", width=3),
                                    hoverPen=pg.mkPen("#FF3030", width=4), label="threshold",
                                    labelOpts={"position": 0.9, "color": "#C00000"})
        self.plot.addItem(self.line)
        self.quantile = QDoubleSpinBox()
        self.quantile.setDecimals(2)
        self.quantile.setRange(0.01, 50.0)
        self.quantile.setSuffix(" %")
        self.quantile.setValue(DEFAULT_QUANTILE * 100)
        self.count = QLabel("")
        self.by_noise = QCheckBox("or the noise rows")
        self.by_noise.setToolTip("With a noise component (Fit panel): flag the rows where it "
                                 "is the likeliest component, instead of by log p(x).")
        self.by_noise.setEnabled(False)
        self.export_button = QPushButton("Export flagged rows…")
        self.table = QTableView()
        self.model = FrameModel()
        self.table.setModel(self.model)
        self.table.setSortingEnabled(True)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        # Column widths from the first rows only: measuring 50,000 flagged rows of
        # a big file stalled the window for 0.2 s.
        self.table.horizontalHeader().setResizeContentsPrecision(50)
        bar = QHBoxLayout()
        for widget in (QLabel("Flag the lowest"), self.quantile, self.by_noise, self.count):
            bar.addWidget(widget)
        bar.addStretch(1)
        bar.addWidget(self.export_button)
        split = QSplitter()
        split.addWidget(self.plot)
        split.addWidget(self.table)
        split.setSizes([400, 600])
        layout = QVBoxLayout(self)
        layout.addLayout(bar)
        layout.addWidget(split, 1)
        self.dataset: Dataset | None = None
        self.mixture: MixtureModel | None = None
        self.scores: RowScores | None = None
        self.threshold: AnomalyThreshold | None = None
        self._syncing = False
        self.line.sigPositionChangeFinished.connect(self._line_moved)
        self.line.sigPositionChanged.connect(self._line_dragging)
        self.quantile.valueChanged.connect(self._quantile_changed)
        self.by_noise.toggled.connect(lambda _on: self.threshold is not None
                                      and self._apply(self.threshold, from_line=True))
        self.export_button.clicked.connect(self.export_requested)
        self.table.selectionModel().selectionChanged.connect(self._table_selected)
        self._show_empty("fit a model to score rows")

    def set_model(self, dataset: Dataset | None, model: MixtureModel | None,
                  threshold: AnomalyThreshold | None = None,
                  scores: RowScores | None = None) -> None:
        """Show ``dataset``'s rows scored under ``model`` (``scores`` from ``score_rows``).

        The quantile is kept unless a threshold is given.
        """
        self.dataset, self.mixture = dataset, model
        if dataset is None or model is None or model.n_features != dataset.X.shape[1]:
            self._show_empty("fit a model to score rows")
            self.threshold = None
            self.threshold_changed.emit(None)
            return
        self.scores = scores if scores is not None else score_rows(dataset, model)
        self.by_noise.setEnabled(model.has_noise)
        if not model.has_noise:
            self.by_noise.setChecked(False)
        self.hist.setData(self.scores.hist_edges, self.scores.hist_counts)
        self.line.show()
        for axis in ("left", "bottom"):
            self.plot.getAxis(axis).setStyle(showValues=True)
        self.plot.enableAutoRange()
        if threshold is not None:
            self._apply(threshold, from_line=False)
        else:
            self._quantile_changed(self.quantile.value())

    def show_pending(self) -> None:
        """Rows are being scored: show nothing of an older model meanwhile."""
        self._show_empty("scoring rows…")

    def _show_empty(self, note: str) -> None:
        """No scores: no histogram, threshold, axis scale or columns of an older model."""
        self.scores = None
        self.hist.setData([], [])
        self.line.hide()
        for axis in ("left", "bottom"):
            self.plot.getAxis(axis).setStyle(showValues=False)
        self.model.set_frame(pd.DataFrame(), np.zeros(0, dtype=int))
        self.count.setText(note)

    @property
    def log_dens(self) -> np.ndarray:
        """log p(x) (N,) of the rows shown, or empty."""
        return np.zeros(0) if self.scores is None else self.scores.log_density

    def reset_threshold(self) -> None:
        """New data: back to the default quantile (a threshold is data-specific)."""
        self._syncing = True
        self.quantile.setValue(DEFAULT_QUANTILE * 100)
        self._syncing = False
        self.threshold = None

    def _quantile_changed(self, percent: float) -> None:
        if self._syncing or not len(self.log_dens):
            return
        self._apply(threshold_from_sorted(self.scores.sorted_log_density, percent / 100.0),
                    from_line=False)

    def _line_dragging(self) -> None:
        if not self._syncing and len(self.log_dens):
            self._show_count(count_flagged(self.scores.sorted_log_density,
                                           AnomalyThreshold(self.line.value())))

    def _line_moved(self) -> None:
        if self._syncing or not len(self.log_dens):
            return
        value = float(self.line.value())
        q = self._fraction_at_or_below(value)
        self._apply(AnomalyThreshold(value, q if 0 < q < 1 else None), from_line=True)

    def _fraction_at_or_below(self, value: float) -> float:
        sorted_dens = self.scores.sorted_log_density
        return count_flagged(sorted_dens, AnomalyThreshold(value)) / max(len(sorted_dens), 1)

    def _apply(self, threshold: AnomalyThreshold, from_line: bool) -> None:
        self.threshold = threshold
        self._syncing = True
        if not from_line:
            self.line.setValue(threshold.log_density)
        q = self._fraction_at_or_below(threshold.log_density)
        self.quantile.setValue(max(self.quantile.minimum(), min(100 * q, 50.0)))
        self._syncing = False
        noise = self.noise_mode
        # Flagging by noise membership has no threshold to drag or quantile to set.
        self.line.setVisible(not noise)
        self.quantile.setEnabled(not noise)
        frame = anomaly_frame(self.dataset, self.mixture, threshold, self.scores,
                              by_noise=noise)
        # The frame's rows in its order (most anomalous first, ties by row).
        flagged = np.flatnonzero(self.scores.labels == -1 if noise
                                 else flag(self.log_dens, threshold))
        positions = flagged[np.argsort(self.log_dens[flagged], kind="stable")]
        self.model.set_frame(frame, positions)
        # The rows come most anomalous first: say so in the header.
        self.table.horizontalHeader().setSortIndicator(
            frame.columns.get_loc("log_density"), Qt.SortOrder.AscendingOrder)
        self.table.resizeColumnsToContents()
        self._show_count(len(frame))
        self.threshold_changed.emit(threshold)

    @property
    def noise_mode(self) -> bool:
        """True when rows are flagged by noise membership rather than by p(x)."""
        return self.by_noise.isChecked() and self.mixture is not None and self.mixture.has_noise

    def _show_count(self, n: int) -> None:
        total = max(len(self.log_dens), 1)
        if self.noise_mode:
            self.count.setText(f"{plural(n, 'row')} ({100 * n / total:.2f}%) claimed by noise")
            return
        self.count.setText(f"{plural(n, 'row')} flagged ({100 * n / total:.2f}%) at log p(x) ≤ "
                           f"{self.line.value():.4g}")

    def flagged_positions(self) -> np.ndarray:
        """Positions (into the dataset's rows) of the flagged rows, most anomalous first."""
        if self.threshold is None or not len(self.log_dens):
            return np.zeros(0, dtype=int)
        return self.model.positions

    def _table_selected(self, *_args) -> None:
        if self._syncing:
            return
        rows = self.table.selectionModel().selectedRows()
        if rows:
            self.row_selected.emit(int(self.model.positions[rows[0].row()]))

    def select_position(self, position: int) -> bool:
        """Select the table row of dataset row ``position``; False if it is not flagged."""
        row = self.model.row_of_position(position)
        if row is None:
            return False
        self._syncing = True
        self.table.selectRow(row)
        self._syncing = False
        return True
