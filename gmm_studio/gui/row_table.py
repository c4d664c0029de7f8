"""A Qt table model over the rows used, computing only the cells the view asks for.

Building a labelled copy of every row costs seconds at a million rows, so
nothing here is per-row in Python: the model keeps ``order`` (the positions,
into the dataset's rows, of the rows shown), reads original cells from the
table on demand and computes probabilities for a block of shown rows at a
time. Cluster and log density come from ``RowScores`` computed off the GUI
thread.
"""

from __future__ import annotations

from collections import OrderedDict

import numpy as np
from PySide6.QtCore import QAbstractTableModel, QModelIndex, Qt

from ..core import MixtureModel
from ..core.analysis.scoring import RowScores
from ..core.data.dataset import Dataset

_BLOCK = 64          # shown rows whose probabilities are computed together
_CACHED_BLOCKS = 64  # about 4,000 rows' probabilities kept


class RowTableModel(QAbstractTableModel):
    """Columns: row (in the file, from 1), the file's columns, then the model's."""

    def __init__(self) -> None:
        super().__init__()
        self.dataset: Dataset | None = None
        self.mixture: MixtureModel | None = None
        self.scores: RowScores | None = None
        self.order = np.zeros(0, dtype=np.int64)
        self.headers: list[str] = []
        self._proba: OrderedDict[int, np.ndarray] = OrderedDict()

    def set_rows(self, dataset: Dataset | None, mixture: MixtureModel | None,
                 scores: RowScores | None, order: np.ndarray) -> None:
        """Show the rows at positions ``order`` (M,) of ``dataset``'s rows."""
        self.beginResetModel()
        self.dataset, self.mixture, self.scores = dataset, mixture, scores
        self.order = np.asarray(order, dtype=np.int64)
        self._proba.clear()
        self.headers = [] if dataset is None else ["row", *map(str, dataset.frame.columns)]
        if dataset is not None and scores is not None and mixture is not None:
            self.headers += ["cluster", *(f"p_{k}" for k in range(mixture.n_components)),
                             "log_density"]
        self.endResetModel()

    def reorder(self, order: np.ndarray) -> None:
        """Same rows, another order (a sort)."""
        self.layoutAboutToBeChanged.emit()
        self.order = np.asarray(order, dtype=np.int64)
        self._proba.clear()
        self.layoutChanged.emit()

    def rowCount(self, parent=QModelIndex()) -> int:  # noqa: N802, B008 - Qt API
        return 0 if parent.isValid() else len(self.order)

    def columnCount(self, parent=QModelIndex()) -> int:  # noqa: N802, B008 - Qt API
        return 0 if parent.isValid() else len(self.headers)

    def headerData(self, section, orientation, role=Qt.ItemDataRole.DisplayRole):  # noqa: N802
        if role != Qt.ItemDataRole.DisplayRole:
            return None
        if orientation == Qt.Orientation.Horizontal:
            return self.headers[section] if section < len(self.headers) else None
        return str(section + 1)

    def data(self, index, role=Qt.ItemDataRole.DisplayRole):
        if role == Qt.ItemDataRole.TextAlignmentRole:
            return Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
        if role != Qt.ItemDataRole.DisplayRole or self.dataset is None:
            return None
        value = self.value(index.row(), index.column())
        if isinstance(value, (float, np.floating)):
            return "" if np.isnan(value) else f"{value:.6g}"
        return str(value)

    def value(self, row: int, column: int):
        """The raw value of a shown cell."""
        position = int(self.order[row])
        n_file = self.dataset.frame.shape[1]
        if column == 0:
            return int(self.dataset.rows[position]) + 1
        if column <= n_file:
            return self.dataset.frame.iat[int(self.dataset.rows[position]), column - 1]
        extra = column - n_file - 1
        if extra == 0:
            label = int(self.scores.labels[position])
            return "noise" if label == -1 else label
        if extra <= self.mixture.n_components:
            return float(self._probabilities(row)[extra - 1])
        return float(self.scores.log_density[position])

    def _probabilities(self, row: int) -> np.ndarray:
        """(K,) probabilities of shown row ``row``, computed a block at a time."""
        block = row // _BLOCK
        proba = self._proba.get(block)
        if proba is None:
            positions = self.order[block * _BLOCK:(block + 1) * _BLOCK]
            proba = self.mixture.predict_proba(self.dataset.X[positions])
            self._proba[block] = proba
            if len(self._proba) > _CACHED_BLOCKS:
                self._proba.popitem(last=False)
        else:
            self._proba.move_to_end(block)
        return proba[row - block * _BLOCK]

    def sort_keys(self, column: int) -> np.ndarray:
        """(M,) the values of ``column`` for every shown row (for sorting)."""
        ds, n_file = self.dataset, self.dataset.frame.shape[1]
        if column == 0:
            return ds.rows[self.order]
        if column <= n_file:
            return ds.frame.iloc[:, column - 1].to_numpy()[ds.rows[self.order]]
        extra = column - n_file - 1
        if extra == 0:
            return self.scores.labels[self.order]
        if extra <= self.mixture.n_components:
            return self.mixture.predict_proba(ds.X[self.order])[:, extra - 1]
        return self.scores.log_density[self.order]

    def row_of_position(self, position: int) -> int | None:
        """Shown row holding dataset row ``position``, if any."""
        hits = np.flatnonzero(self.order == position)
        return int(hits[0]) if len(hits) else None


def stable_order(keys: np.ndarray, descending: bool) -> np.ndarray:
    """Indices (M,) that sort ``keys`` (ascending: ties keep their order; NaN last)."""
    try:
        order = np.argsort(keys, kind="stable")
    except TypeError:  # mixed text and numbers
        order = np.argsort(keys.astype(str), kind="stable")
    return order[::-1] if descending else order
