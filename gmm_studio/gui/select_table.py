"""Choose K's table: the three best fits, then every degenerate one and why."""

from __future__ import annotations

import math
import re

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QTableWidget, QTableWidgetItem

from ..core.analysis.selection import ranked_rows

TOP = 3
_HEADERS = ("", "model", "K", "criterion", "Δ", "note")


def ranked(rows: list, criterion: str) -> tuple[list, list]:
    """(the TOP best usable rows, every degenerate row) for ``criterion``."""
    return ranked_rows(rows, criterion)[:TOP], [r for r in rows if r.degenerate]


def short_note(note: str) -> str:
    """A table-width version of a sweep note (the whole note is the cell's tooltip)."""
    match = re.match(r"collapsed onto .*? \((.*?)\), held by the variance floor", note)
    if match:
        return f"collapsed ({match.group(1)})"
    return note


class RankingTable(QTableWidget):
    """Top three by the chosen criterion and the degenerate fits, explained.

    Double-click a row to use its K and model in the Fit panel.
    """

    adopt = Signal(int, str)   # K, covariance type

    def __init__(self) -> None:
        super().__init__(0, len(_HEADERS))
        self.setHorizontalHeaderLabels(_HEADERS)
        self.verticalHeader().setVisible(False)
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        header = self.horizontalHeader()
        for column in range(len(_HEADERS) - 1):
            header.setSectionResizeMode(column, QHeaderView.ResizeMode.ResizeToContents)
        header.setStretchLastSection(True)
        self.setWordWrap(False)
        self.setFixedWidth(340)
        self.setToolTip("The three best fits, then the degenerate ones with the reason; "
                        "double-click a row to use it in the main fit.")
        self.cellDoubleClicked.connect(self._double_clicked)
        self._shown: list = []

    def show_rows(self, rows: list, criterion: str, label: str) -> None:
        """Fill the table from a sweep's rows."""
        top, degenerate = ranked(rows, criterion)
        key = "cv_mean" if criterion == "cv" else criterion
        self.setHorizontalHeaderItem(3, QTableWidgetItem(label if criterion != "cv"
                                                         else "held-out log L per row"))
        best = getattr(top[0], key) if top else math.nan
        self._shown = top + degenerate
        self.setRowCount(len(self._shown))
        for i, row in enumerate(self._shown):
            value = getattr(row, key)
            mark = f"#{i + 1}" if i < len(top) else "×"
            delta = "" if not (math.isfinite(value) and math.isfinite(best)) else (
                f"{abs(value - best):.2f}")
            note = row.note or ("" if row.converged else "did not converge")
            cells = (mark, row.model or row.covariance_type, str(row.k),
                     "" if not math.isfinite(value) else f"{value:.2f}", delta, short_note(note))
            for j, text in enumerate(cells):
                item = QTableWidgetItem(text)
                if note:
                    item.setToolTip(note)
                if i >= len(top):
                    item.setForeground(QColor("#C00000"))
                if j in (2, 3, 4):
                    item.setTextAlignment(Qt.AlignmentFlag.AlignRight
                                          | Qt.AlignmentFlag.AlignVCenter)
                self.setItem(i, j, item)

    def _double_clicked(self, row: int, _column: int) -> None:
        if 0 <= row < len(self._shown):
            chosen = self._shown[row]
            self.adopt.emit(int(chosen.k), chosen.covariance_type)
