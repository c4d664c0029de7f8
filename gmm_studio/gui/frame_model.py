"""A read-only Qt table model over a pandas DataFrame; sorting and filtering in pandas.

Qt's proxy models call Python once per row, far too slow for a million rows;
here sorting and filtering are vectorised and the view only asks for the cells
it shows.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from PySide6.QtCore import QAbstractTableModel, QModelIndex, Qt


class FrameModel(QAbstractTableModel):
    """Shows ``frame``; ``positions`` (N,) maps each shown row to the caller's row index."""

    def __init__(self) -> None:
        super().__init__()
        self.frame = pd.DataFrame()
        self.positions = np.zeros(0, dtype=int)

    def set_frame(self, frame: pd.DataFrame, positions: np.ndarray) -> None:
        """Replace the contents."""
        self.beginResetModel()
        self.frame = frame.reset_index(drop=True)
        self.positions = np.asarray(positions)
        self.endResetModel()

    def rowCount(self, parent=QModelIndex()) -> int:  # noqa: N802, B008 - Qt API
        return 0 if parent.isValid() else len(self.frame)

    def columnCount(self, parent=QModelIndex()) -> int:  # noqa: N802, B008 - Qt API
        return 0 if parent.isValid() else self.frame.shape[1]

    def data(self, index, role=Qt.ItemDataRole.DisplayRole):
        if role not in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.TextAlignmentRole):
            return None
        value = self.frame.iat[index.row(), index.column()]
        numeric = isinstance(value, (int, float, np.integer, np.floating))
        if role == Qt.ItemDataRole.TextAlignmentRole:
            return (Qt.AlignmentFlag.AlignRight if numeric else Qt.AlignmentFlag.AlignLeft) | \
                Qt.AlignmentFlag.AlignVCenter
        if isinstance(value, (float, np.floating)):
            return f"{value:.6g}"
        return str(value)

    def headerData(self, section, orientation, role=Qt.ItemDataRole.DisplayRole):  # noqa: N802
        if role != Qt.ItemDataRole.DisplayRole:
            return None
        if orientation == Qt.Orientation.Horizontal:
            return str(self.frame.columns[section])
        return str(section + 1)

    def sort(self, column: int, order=Qt.SortOrder.AscendingOrder) -> None:
        if self.frame.empty:
            return
        self.layoutAboutToBeChanged.emit()
        order_idx = np.argsort(self.frame.iloc[:, column].to_numpy(), kind="stable")
        if order == Qt.SortOrder.DescendingOrder:
            order_idx = order_idx[::-1]
        self.frame = self.frame.iloc[order_idx].reset_index(drop=True)
        self.positions = self.positions[order_idx]
        self.layoutChanged.emit()

    def row_of_position(self, position: int) -> int | None:
        """Shown row holding the caller's row ``position``, if any."""
        hits = np.flatnonzero(self.positions == position)
        return int(hits[0]) if len(hits) else None
