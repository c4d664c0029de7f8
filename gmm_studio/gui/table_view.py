"""Table tab: every row used with cluster, probabilities and log density.

Filter by cluster, by the plot selection or by the anomaly flag; selecting
rows here highlights them in the plot, and a box drawn in the plot (Shift +
drag) selects rows here.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QHBoxLayout,
    QLabel,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from ..core import MixtureModel
from ..core.dataset import Dataset
from ..core.export import labelled_frame
from .frame_model import FrameModel


class DataTableView(QWidget):
    """The labelled data, filterable; emits the dataset positions the user selects."""

    rows_selected = Signal(object)  # np.ndarray of positions into the dataset's rows

    def __init__(self) -> None:
        super().__init__()
        self.filter = QComboBox()
        self.count = QLabel("")
        self.table = QTableView()
        self.model = FrameModel()
        self.table.setModel(self.model)
        self.table.setSortingEnabled(True)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        bar = QHBoxLayout()
        bar.addWidget(QLabel("Show"))
        bar.addWidget(self.filter)
        bar.addWidget(self.count, 1)
        bar.addWidget(QLabel("Shift + drag in the plot selects rows"))
        layout = QVBoxLayout(self)
        layout.addLayout(bar)
        layout.addWidget(self.table, 1)
        self.full = None
        self.selection = np.zeros(0, dtype=int)
        self.flagged = np.zeros(0, dtype=int)
        self._syncing = False
        self.filter.currentIndexChanged.connect(lambda _: self._refilter())
        self.table.selectionModel().selectionChanged.connect(self._selected)

    def set_model(self, dataset: Dataset | None, model: MixtureModel | None) -> None:
        """Rebuild the table for ``dataset`` under ``model`` (or the bare data)."""
        self.filter.blockSignals(True)
        self.filter.clear()
        self.filter.addItem("all rows", ("all", None))
        if dataset is None:
            self.full = None
        elif model is None or model.n_features != dataset.X.shape[1]:
            self.full = dataset.frame.iloc[dataset.rows].reset_index(drop=True)
        else:
            self.full = labelled_frame(dataset, model).reset_index(drop=True)
            for k in range(model.n_components):
                self.filter.addItem(f"cluster {k}", ("cluster", k))
        if self.full is not None:
            self.full.insert(0, "row", dataset.rows + 1)
        self.filter.addItem("plot selection", ("selection", None))
        self.filter.addItem("flagged anomalies", ("flagged", None))
        self.filter.blockSignals(False)
        self._refilter()

    def set_selection(self, positions: np.ndarray) -> None:
        """Rows chosen in the plot: show them."""
        self.selection = np.asarray(positions, dtype=int)
        index = self.filter.findText("plot selection")
        if self.filter.currentIndex() == index:
            self._refilter()
        else:
            self.filter.setCurrentIndex(index)

    def set_flagged(self, positions: np.ndarray) -> None:
        """Rows flagged as anomalies (for the filter)."""
        self.flagged = np.asarray(positions, dtype=int)
        if self.filter.currentData() == ("flagged", None):
            self._refilter()

    def _refilter(self) -> None:
        if self.full is None:
            self.model.set_frame(self.model.frame.iloc[0:0], np.zeros(0, dtype=int))
            self.count.setText("")
            return
        kind, value = self.filter.currentData() or ("all", None)
        if kind == "cluster":
            positions = np.flatnonzero(self.full["cluster"].to_numpy() == value)
        elif kind == "selection":
            positions = self.selection
        elif kind == "flagged":
            positions = self.flagged
        else:
            positions = np.arange(len(self.full))
        self.model.set_frame(self.full.iloc[positions], positions)
        self.count.setText(f"{len(positions)} of {len(self.full)} rows")

    def _selected(self, *_args) -> None:
        if self._syncing:
            return
        rows = [i.row() for i in self.table.selectionModel().selectedRows()]
        self.rows_selected.emit(self.model.positions[rows] if rows else np.zeros(0, dtype=int))

    def select_position(self, position: int) -> None:
        """Select (and scroll to) dataset row ``position`` if it is shown."""
        row = self.model.row_of_position(position)
        if row is not None:
            self._syncing = True
            self.table.selectRow(row)
            self._syncing = False
