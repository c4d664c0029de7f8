"""Table tab: every row used with cluster, probabilities and log density.

Filter by cluster, by the plot selection or by the anomaly flag; selecting
rows here highlights them in the plot, and a box drawn in the plot (Shift +
drag) selects rows here. Sorting a big table runs off the GUI thread.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from ..core import MixtureModel
from ..core.analysis.scoring import RowScores
from ..core.data.dataset import Dataset
from ..core.text import plural
from .controller import JobController
from .row_table import RowTableModel, stable_order

# Tables with more shown rows than this sort in the background.
BACKGROUND_SORT_ROWS = 100_000


class DataTableView(QWidget):
    """The labelled data, filterable; emits the dataset positions the user selects."""

    rows_selected = Signal(object)  # np.ndarray of positions into the dataset's rows

    def __init__(self) -> None:
        super().__init__()
        self.filter = QComboBox()
        self.count = QLabel("")
        self.table = QTableView()
        self.model = RowTableModel()
        self.table.setModel(self.model)
        self.table.setSortingEnabled(False)  # sorting is ours: see _sort
        header = self.table.horizontalHeader()
        header.setSectionsClickable(True)
        header.setSortIndicatorShown(True)
        header.sectionClicked.connect(self._sort)
        # Row numbers are a column; a vertical header over a million rows costs time.
        self.table.verticalHeader().hide()
        self.table.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.sorter = JobController(self)
        self.sorter.finished.connect(self._sorted)
        bar = QHBoxLayout()
        bar.addWidget(QLabel("Show"))
        bar.addWidget(self.filter)
        bar.addWidget(self.count, 1)
        bar.addWidget(QLabel("Shift + drag in the plot selects rows"))
        layout = QVBoxLayout(self)
        layout.addLayout(bar)
        layout.addWidget(self.table, 1)
        self.dataset: Dataset | None = None
        self.mixture: MixtureModel | None = None
        self.scores: RowScores | None = None
        self.selection = np.zeros(0, dtype=int)
        self.flagged = np.zeros(0, dtype=int)
        self._sort_state: tuple[int, bool] | None = None
        self._all_rows = np.zeros(0, dtype=np.int64)
        self._syncing = False
        self.filter.currentIndexChanged.connect(lambda _: self._refilter())
        self.table.selectionModel().selectionChanged.connect(self._selected)

    def set_model(self, dataset: Dataset | None, model: MixtureModel | None,
                  scores: RowScores | None = None) -> None:
        """Show ``dataset``'s rows; with ``model`` and its ``scores``, the model's columns too."""
        self.sorter.discard()
        if scores is None:
            model = None
        self.dataset, self.mixture, self.scores = dataset, model, scores
        self._sort_state = None
        self.filter.blockSignals(True)
        current = self.filter.currentData()
        self.filter.clear()
        self.filter.addItem("all rows", ("all", None))
        if model is not None:
            for k in range(model.n_components):
                self.filter.addItem(f"cluster {k}", ("cluster", k))
            if model.has_noise:
                self.filter.addItem("noise", ("cluster", -1))
        self.filter.addItem("plot selection", ("selection", None))
        self.filter.addItem("flagged anomalies", ("flagged", None))
        index = self.filter.findData(current) if current is not None else -1
        self.filter.setCurrentIndex(max(index, 0))
        self.filter.blockSignals(False)
        self._refilter()

    def set_selection(self, positions: np.ndarray) -> None:
        """Rows chosen in the plot: show them."""
        self.selection = np.asarray(positions, dtype=int)
        index = self.filter.findData(("selection", None))
        if self.filter.currentIndex() == index:
            self._refilter()
        else:
            self.filter.setCurrentIndex(index)

    def set_flagged(self, positions: np.ndarray) -> None:
        """Rows flagged as anomalies (for the filter)."""
        self.flagged = np.asarray(positions, dtype=int)
        if self.filter.currentData() == ("flagged", None):
            self._refilter()

    def _positions(self) -> np.ndarray:
        kind, value = self.filter.currentData() or ("all", None)
        if kind == "cluster":
            return np.flatnonzero(self.scores.labels == value)
        if kind == "selection":
            return self.selection
        if kind == "flagged":
            return self.flagged
        if len(self._all_rows) != self.dataset.n_rows:
            # One identity order per data set: at millions of rows it costs time.
            self._all_rows = np.arange(self.dataset.n_rows, dtype=np.int64)
        return self._all_rows

    def _refilter(self) -> None:
        self.sorter.discard()
        if self.dataset is None:
            self.model.set_rows(None, None, None, np.zeros(0, dtype=int))
            self.count.setText("")
            return
        positions = self._positions()
        self.model.set_rows(self.dataset, self.mixture, self.scores, positions)
        self.table.horizontalHeader().setSortIndicator(-1, Qt.SortOrder.AscendingOrder)
        note = "" if self.scores is not None or self.mixture is not None else (
            " · fit a model to see clusters and probabilities")
        self.count.setText(f"{len(positions):,} of {plural(self.dataset.n_rows, 'row')}{note}")

    def _sort(self, column: int) -> None:
        if self.dataset is None or not self.model.rowCount():
            return
        descending = self._sort_state == (column, False)
        self._sort_state = (column, descending)
        self.table.horizontalHeader().setSortIndicator(
            column, Qt.SortOrder.DescendingOrder if descending else Qt.SortOrder.AscendingOrder)
        model, order = self.model, self.model.order

        def job(_cancel, _report):
            return order[stable_order(model.sort_keys(column), descending)]

        if len(order) <= BACKGROUND_SORT_ROWS:
            self._sorted(job(None, None))
            return
        self.count.setText(f"sorting {len(order):,} rows…")
        self.sorter.start(job, tag=id(order))

    def _sorted(self, order: np.ndarray) -> None:
        if len(order) == len(self.model.order):
            self.model.reorder(order)
        self.count.setText(f"{len(order):,} of {plural(self.dataset.n_rows, 'row')}")

    def _selected(self, *_args) -> None:
        if self._syncing:
            return
        rows = [i.row() for i in self.table.selectionModel().selectedRows()]
        self.rows_selected.emit(self.model.order[rows] if rows else np.zeros(0, dtype=int))

    def select_position(self, position: int) -> None:
        """Select (and scroll to) dataset row ``position`` if it is shown."""
        row = self.model.row_of_position(position)
        if row is not None:
            self._syncing = True
            self.table.selectRow(row)
            self._syncing = False
