"""The Pairs tab: a scatterplot matrix of up to eight features, points and ellipses.

Below the diagonal every pair of the chosen features, with each component's
2σ ellipse (its exact marginal); on the diagonal each feature's histogram and
the mixture's marginal density. Selected rows are haloed in every panel, and
Shift + drag in any panel selects the rows in its box, as in the main plot.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QVBoxLayout,
    QWidget,
)

from ..core.model.geometry import (
    data_space,
    density_curves,
    ellipse_paths,
    project,
    subsample_rows,
)
from .palette import component_color
from .plots import SelectViewBox
from .pointcloud import PointCloud, point_pen

MAX_FEATURES = 8
MAX_POINTS = 3000  # per panel; 28 panels of 10,000 points would stall the window
_NEUTRAL = QColor(110, 110, 110, 150)


class PairsView(QWidget):
    """A grid of feature pairs for the data and model on screen."""

    rows_boxed = Signal(object)  # np.ndarray of positions in the dataset's rows

    def __init__(self) -> None:
        super().__init__()
        self.features = QListWidget()
        self.features.setMaximumWidth(190)
        self.features.itemChanged.connect(self._features_changed)
        self.note = QLabel("")
        self.note.setWordWrap(True)
        self.note.setMaximumWidth(190)
        self.graphics = pg.GraphicsLayoutWidget()
        self.graphics.setBackground("w")
        side = QVBoxLayout()
        side.addWidget(QLabel(f"Features (up to {MAX_FEATURES})"))
        side.addWidget(self.features, 1)
        side.addWidget(self.note)
        layout = QHBoxLayout(self)
        layout.addLayout(side)
        layout.addWidget(self.graphics, 1)
        self.dataset = None
        self.model = None
        self.chosen: list[int] = []
        self.selected = np.empty(0, dtype=int)
        self.panels: dict[tuple[int, int], dict] = {}

    # -- inputs ------------------------------------------------------------------
    def set_data(self, dataset) -> None:
        """New data: offer its features, the first MAX_FEATURES ticked."""
        self.dataset, self.model = dataset, None
        self.selected = np.empty(0, dtype=int)
        names = [] if dataset is None else list(dataset.feature_names)
        self.features.blockSignals(True)
        self.features.clear()
        for i, name in enumerate(names):
            item = QListWidgetItem(name)
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            item.setCheckState(Qt.CheckState.Checked if i < MAX_FEATURES
                               else Qt.CheckState.Unchecked)
            self.features.addItem(item)
        self.features.blockSignals(False)
        self._features_changed(None)

    def set_model(self, model) -> None:
        """The model of the data on screen (None: points only)."""
        self.model = model
        self._draw_model()

    def set_selected(self, positions: np.ndarray) -> None:
        """Halo ``positions`` (rows of the dataset) in every panel."""
        self.selected = np.asarray(positions, dtype=int)
        self._draw_selected()

    def _features_changed(self, _item) -> None:
        ticked = [i for i in range(self.features.count())
                  if self.features.item(i).checkState() == Qt.CheckState.Checked]
        if len(ticked) > MAX_FEATURES:
            self.note.setText(f"{len(ticked)} ticked: showing the first {MAX_FEATURES}.")
            ticked = ticked[:MAX_FEATURES]
        else:
            self.note.setText("" if len(ticked) else "tick at least one feature.")
        self.chosen = ticked
        self._build()

    # -- drawing -----------------------------------------------------------------
    def _build(self) -> None:
        """One panel per pair (lower triangle) and per feature (diagonal)."""
        self.graphics.clear()
        self.panels = {}
        ds = self.dataset
        if ds is None or not self.chosen:
            return
        self._rows = subsample_rows(ds.n_rows, MAX_POINTS)
        names = list(ds.feature_names)
        n = len(self.chosen)
        for r, fi in enumerate(self.chosen):
            for c, fj in enumerate(self.chosen[: r + 1]):
                vb = SelectViewBox()
                plot = self.graphics.addPlot(row=r, col=c, viewBox=vb)
                plot.showGrid(x=True, y=True, alpha=0.1)
                for axis in ("left", "bottom"):
                    item = plot.getAxis(axis)
                    item.setTextPen("k")
                    item.setStyle(tickLength=-3)
                    item.enableAutoSIPrefix(False)  # "(x0.001)" has no room here
                plot.getAxis("left").setWidth(44)
                if c:
                    plot.getAxis("left").setStyle(showValues=False)
                if r == n - 1:
                    plot.setLabel("bottom", names[fj], **{"font-size": "8pt"})
                else:
                    plot.getAxis("bottom").setStyle(showValues=False)
                if c == 0:
                    plot.setLabel("left", names[fi], **{"font-size": "8pt"})
                self.panels[(r, c)] = self._panel(plot, vb, fi, fj)
        self._draw_model()
        self._draw_selected()

    def _panel(self, plot, vb, fi: int, fj: int) -> dict:
        raw = self.dataset.raw
        if fi == fj:
            heights, edges = np.histogram(raw[:, fi], bins=30, weights=self.dataset.weights,
                                          density=True)
            plot.addItem(pg.PlotDataItem(edges, heights, stepMode="center", fillLevel=0,
                                         brush=pg.mkBrush(190, 190, 190, 150),
                                         pen=pg.mkPen("#999")))
            curve = pg.PlotDataItem(pen=pg.mkPen("k", width=1.5))
            plot.addItem(curve)
            pad = 0.1 * (edges[-1] - edges[0] or 1.0)
            return {"kind": "diag", "curve": curve, "f": fi,
                    "grid": np.linspace(edges[0] - pad, edges[-1] + pad, 200)}
        points = PointCloud(size=3)
        halo = PointCloud(size=7)
        halo.setZValue(-1)
        plot.addItem(halo)
        plot.addItem(points)
        vb.box_selected.connect(lambda rect, a=fj, b=fi: self._boxed(rect, a, b))
        return {"kind": "pair", "points": points, "halo": halo, "x": fj, "y": fi,
                "ellipses": [], "plot": plot}

    def _draw_model(self) -> None:
        ds, model = self.dataset, self.model
        if ds is None or not self.panels:
            return
        raw = ds.raw[self._rows]
        if model is not None and model.n_features == len(ds.feature_names):
            means, covs = data_space(model, ds.preprocessing)
            labels = model.predict(ds.X[self._rows])
        else:
            means = covs = labels = None
        for panel in self.panels.values():
            if panel["kind"] == "diag":
                self._draw_density(panel, model, means, covs)
                continue
            x, y = raw[:, panel["x"]], raw[:, panel["y"]]
            if labels is None:
                groups = [(point_pen(_NEUTRAL, 3), np.arange(len(raw)))]
            else:
                groups = [(point_pen(component_color(k), 3), np.flatnonzero(labels == k))
                          for k in range(model.n_components)]
            panel["points"].set_points(x, y, groups)
            self._draw_ellipses(panel, model, means, covs)

    def _draw_density(self, panel, model, means, covs) -> None:
        if model is None or means is None:
            panel["curve"].setData([], [])
            return
        _, total = density_curves(model, self.dataset.preprocessing, panel["f"], panel["grid"])
        panel["curve"].setData(panel["grid"], total)

    def _draw_ellipses(self, panel, model, means, covs) -> None:
        items = panel["ellipses"]
        k = 0 if model is None else model.n_components
        while len(items) < k:
            item = pg.PlotDataItem(pen=pg.mkPen(component_color(len(items)), width=1.5),
                                   connect="finite")
            panel["plot"].addItem(item)
            items.append(item)
        if k:
            m2, c2 = project(means, covs, (panel["x"], panel["y"]))
        for j, item in enumerate(items):
            if j < k:
                path = ellipse_paths(m2[j], c2[j], sigmas=(2.0,))
                item.setData(path[:, 0], path[:, 1])
            else:
                item.setData([], [])

    def _draw_selected(self) -> None:
        if self.dataset is None:
            return
        raw = self.dataset.raw[self.selected] if len(self.selected) else np.empty((0, 1))
        pen = point_pen(QColor("#0072B2"), 7)
        for panel in self.panels.values():
            if panel["kind"] != "pair":
                continue
            if not len(self.selected):
                panel["halo"].clear_points()
                continue
            panel["halo"].set_points(raw[:, panel["x"]], raw[:, panel["y"]],
                                     [(pen, np.arange(len(raw)))])

    def _boxed(self, rect, fx: int, fy: int) -> None:
        raw = self.dataset.raw
        px, py = raw[:, fx], raw[:, fy]
        inside = ((px >= rect.left()) & (px <= rect.right())
                  & (py >= rect.top()) & (py <= rect.bottom()))
        self.rows_boxed.emit(np.flatnonzero(inside))
