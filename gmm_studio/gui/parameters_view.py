"""The Parameters tab at any D: a summary row per component, and one component in detail.

The summary (weight, size, volume, elongation, main axis) stays a few columns
wide however many features there are; the chosen component's means and
standard deviations are a list, its correlations a heat map.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import (
    QLabel,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from ..core.model.geometry import data_space
from ..core.model.projections import component_shapes, loading_label
from .palette import component_color
from .widgets import read_only_table, set_cell

SUMMARY = ["component", "weight", "size", "volume λ", "axis ratio", "main axis"]


def summary_rows(model, prep, names, n_rows: float, scale, counts=None) -> list[list[str]]:
    """One row of SUMMARY texts per component (data file's units).

    ``counts`` (K + 1,) are rows per most probable component, then the noise
    component's, when known; else the size is the expected N·π_k, shown
    with "≈". A noise component gets a last row.
    """
    _, covs = data_space(model, prep)
    shapes = component_shapes(covs, scale)
    rows = []
    for k in range(model.n_components):
        size = f"{int(counts[k])}" if counts is not None else f"≈ {n_rows * model.weights[k]:.0f}"
        axis = ("round" if shapes.axis_ratio[k] < 1.05 else
                loading_label("", shapes.main_axis[k], names).removeprefix(": "))
        rows.append([str(k), f"{model.weights[k]:.4f}", size, f"{shapes.volume[k]:.4g}",
                     f"{shapes.axis_ratio[k]:.3g}", axis])
    if model.has_noise:
        size = (f"{int(counts[-1])}" if counts is not None
                else f"≈ {n_rows * model.noise_weight:.0f}")
        rows.append(["noise", f"{model.noise_weight:.4f}", size,
                     f"V {model.noise_volume:.4g}", "", "uniform over the data's box"])
    return rows


class ParametersView(QWidget):
    """Summary table above; below, the chosen component's means and correlation heat map."""

    def __init__(self) -> None:
        super().__init__()
        self.table = read_only_table()
        self.table.setColumnCount(len(SUMMARY))
        self.table.setHorizontalHeaderLabels(SUMMARY)
        self.table.setToolTip(
            "volume λ = det(Σ)^(1/D) in the data's units; axis ratio = longest / shortest "
            "axis and main axis = direction of the longest, both with every column scaled "
            "to unit spread. Click a row to see that component in detail.")
        self.detail_label = QLabel("")
        self.means = read_only_table()
        self.means.setColumnCount(3)
        self.means.setHorizontalHeaderLabels(["feature", "mean", "sd"])
        self.heat = pg.PlotWidget()
        self.heat.setBackground("w")
        self.heat.setAspectLocked(True)
        self.heat.invertY(True)
        self.heat.setMouseEnabled(False, False)
        self.image = pg.ImageItem()
        self.image.setLookupTable(pg.colormap.get("CET-D1").getLookupTable(nPts=256))
        self.image.setLevels((-1.0, 1.0))
        self.heat.addItem(self.image)
        self.colour_bar = pg.ColorBarItem(values=(-1, 1), colorMap=pg.colormap.get("CET-D1"),
                                          interactive=False, label="correlation")
        self.colour_bar.setImageItem(self.image, insert_in=self.heat.getPlotItem())
        detail = QSplitter(Qt.Orientation.Horizontal)
        detail.addWidget(self.means)
        detail.addWidget(self.heat)
        detail.setSizes([300, 500])
        below = QWidget()
        below_layout = QVBoxLayout(below)
        below_layout.setContentsMargins(0, 0, 0, 0)
        below_layout.addWidget(self.detail_label)
        below_layout.addWidget(detail, 1)
        splitter = QSplitter(Qt.Orientation.Vertical)
        splitter.addWidget(self.table)
        splitter.addWidget(below)
        splitter.setSizes([160, 260])
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(splitter)
        self.chosen = 0
        self._shown = None  # (model, prep, names)
        self._names: tuple = ()
        self.table.currentCellChanged.connect(lambda row, *_: self._choose(row))

    def show_model(self, model, prep, names: list[str], n_rows: float = 0.0,
                   scale: np.ndarray | None = None, counts: np.ndarray | None = None) -> None:
        """Fill the tab from ``model`` (None empties it: no other file's columns stay)."""
        if model is None:
            self._shown = None
            self.table.setRowCount(0)
            self.means.setRowCount(0)
            self.image.clear()
            self.detail_label.setText("")
            return
        scale = np.ones(len(names)) if scale is None else scale
        rows = summary_rows(model, prep, names, n_rows, scale, counts)
        if self.table.rowCount() != len(rows):
            self.table.setRowCount(len(rows))
        for r, cells in enumerate(rows):
            for c, text in enumerate(cells):
                set_cell(self.table, r, c, text, right=c < len(cells) - 1)
            noise = r >= model.n_components
            self.table.item(r, 0).setBackground(QBrush(QColor(180, 180, 180) if noise
                                                       else component_color(r)))
        self.table.resizeColumnsToContents()
        self._shown = (model, prep, list(names))
        self.chosen = min(self.chosen, model.n_components - 1)
        self._show_detail()

    def _choose(self, row: int) -> None:
        if 0 <= row < (0 if self._shown is None else self._shown[0].n_components):
            self.chosen = row
            self._show_detail()

    def _show_detail(self) -> None:
        model, prep, names = self._shown
        k = self.chosen
        means, covs = data_space(model, prep)
        sd = np.sqrt(np.diagonal(covs[k]))
        self.detail_label.setText(f"<b>Component {k}</b> (weight {model.weights[k]:.4f}): "
                                  "means and standard deviations; correlations")
        self.means.setRowCount(len(names))
        for i, name in enumerate(names):
            set_cell(self.means, i, 0, name, right=False)
            set_cell(self.means, i, 1, f"{means[k, i]:.5g}")
            set_cell(self.means, i, 2, f"{sd[i]:.5g}")
        self.means.resizeColumnsToContents()
        corr = covs[k] / np.outer(sd, sd)
        self.image.setImage(corr.T, levels=(-1.0, 1.0), autoLevels=False)
        if tuple(names) != self._names:
            self._names = tuple(names)
            # Names fit on the vertical axis only; the horizontal one numbers them.
            self.heat.getAxis("left").setTicks([[(i + 0.5, f"{n}  {i}")
                                                 for i, n in enumerate(names)]])
            self.heat.getAxis("bottom").setTicks([[(i + 0.5, str(i))
                                                   for i in range(len(names))]])
            self.heat.setRange(xRange=(0, len(names)), yRange=(0, len(names)), padding=0.02)
