"""Long-lived plots: items are created once and updated with setData."""

from __future__ import annotations

import time

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF, Qt, Signal
from PySide6.QtGui import QColor, QImage, QPainter, QPen
from PySide6.QtWidgets import QGraphicsItem, QGraphicsRectItem

from ..core import MixtureModel
from ..core.data.preprocessing import Preprocessing
from ..core.model.geometry import data_space, density_curves, ellipse_paths, subsample_rows
from ..core.model.projections import Projection, feature_pair
from .palette import component_color
from .pointcloud import PointCloud, point_pen

MAX_DRAWN_POINTS = 10000
ALWAYS_HALOED = 200  # the first (e.g. most anomalous) rows get a halo even if not drawn
LIVE_RECOLOUR_S = 0.5
PICK_RADIUS_PX = 8
_LEVELS = 5  # opacity steps for "how sure" a point's component is
_NEUTRAL = QColor(110, 110, 110, 140)


def _configure(widget: pg.PlotWidget) -> None:
    widget.setBackground("w")
    widget.showGrid(x=True, y=True, alpha=0.15)
    for axis in ("left", "bottom"):
        item = widget.getAxis(axis)
        item.setTextPen("k")
        item.setPen(pg.mkPen("#444"))
        # With the grid on, an axis spans the whole plot and repaints under
        # every moving ellipse; replaying its labels cost ~10 ms a time, a
        # cached picture of it a copy.
        item.setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)


class SelectViewBox(pg.ViewBox):
    """A ViewBox where Shift + drag draws a selection box instead of panning."""

    box_selected = Signal(object)  # QRectF in data coordinates

    def __init__(self) -> None:
        super().__init__()
        self.box = QGraphicsRectItem()
        pen = QPen(QColor("#0072B2"))
        pen.setStyle(Qt.PenStyle.DashLine)
        pen.setCosmetic(True)
        self.box.setPen(pen)
        self.box.setBrush(QColor(0, 114, 178, 30))
        self.box.hide()
        self.addItem(self.box, ignoreBounds=True)

    def mouseDragEvent(self, ev, axis=None) -> None:  # noqa: N802 - pyqtgraph override
        shift = ev.modifiers() & Qt.KeyboardModifier.ShiftModifier
        if ev.button() != Qt.MouseButton.LeftButton or not shift:
            super().mouseDragEvent(ev, axis)
            return
        ev.accept()
        rect = QRectF(self.mapSceneToView(ev.buttonDownScenePos()),
                      self.mapSceneToView(ev.scenePos())).normalized()
        if ev.isFinish():
            self.box.hide()
            self.box_selected.emit(rect)
        else:
            self.box.setRect(rect)
            self.box.show()


class MainPlot(pg.PlotWidget):
    """Points coloured by component with opacity by certainty, plus 1/2/3-sigma ellipses.

    With one feature: histogram, each weighted component density and the mixture.
    Flagged anomalies get a red halo, selected rows a blue one.
    """

    point_clicked = Signal(int)      # position in the dataset's rows
    rows_boxed = Signal(object)      # np.ndarray of positions inside a Shift + drag box

    def __init__(self) -> None:
        super().__init__(viewBox=SelectViewBox())
        _configure(self)
        self.flagged_halo = PointCloud(size=11)
        self.selected_halo = PointCloud(size=15)
        self.flagged_halo.setZValue(-1)
        self.selected_halo.setZValue(-2)
        self.addItem(self.flagged_halo)
        self.addItem(self.selected_halo)
        self.full_raw = np.empty((0, 1))
        self.getViewBox().box_selected.connect(self._boxed)
        self.scene().sigMouseClicked.connect(self._clicked)
        self.scatter = PointCloud()
        self._neutral = point_pen(_NEUTRAL, 5)
        self.means = pg.ScatterPlotItem(size=13, symbol="+", pen=pg.mkPen("k", width=2))
        self.hist = pg.PlotDataItem(stepMode="center", fillLevel=0,
                                    brush=pg.mkBrush(180, 180, 180, 150), pen=pg.mkPen("#888"))
        self.total = pg.PlotDataItem(pen=pg.mkPen("k", width=2.5))
        for item in (self.hist, self.scatter, self.total, self.means):
            self.addItem(item)
        # Autorange pauses while a fit runs: following the moving ellipses
        # would regenerate the axes, most of a repaint, on every redraw.
        self._paused = False
        self.getViewBox().sigRangeChangedManually.connect(self._user_moved_view)
        self.component_items: list[pg.PlotDataItem] = []
        # One pen per (component, opacity level).
        self.pens: list = []
        self._codes: np.ndarray | None = None
        self.rows = np.arange(0)
        self.X = np.empty((0, 1))
        self.raw = np.empty((0, 1))
        self.dims: tuple[int, int | None] = (0, None)
        self.projection: Projection | None = None  # None: one feature, a histogram
        self.xy = np.empty((0, 2))  # drawn rows on the plot's axes
        self._groups = None
        self._flagged = self._selected = np.empty(0, dtype=int)
        self.prep = Preprocessing()
        self.grid = np.linspace(0, 1, 2)
        self.paint_cost = 0.0  # seconds the last repaint took; the window throttles on it
        self._recoloured_at = 0.0
        # Shown only in exported images: on screen the colours speak for themselves.
        self.legend = self.getPlotItem().addLegend(offset=(-10, 10), labelTextColor="k",
                                                   brush=pg.mkBrush(255, 255, 255, 220),
                                                   pen=pg.mkPen("#999"))
        self.legend.hide()

    def export_image(self, model: MixtureModel | None, scale: float = 2.0) -> QImage:
        """The plot as an image at ``scale`` times its size, with a legend of the components."""
        if model is not None:
            for j in range(min(model.n_components, len(self.component_items))):
                self.legend.addItem(self.component_items[j],
                                    f"component {j}  (weight {model.weights[j]:.3f})")
            self.legend.show()
        image = QImage(self.size() * scale, QImage.Format.Format_ARGB32)
        image.fill(QColor("white"))
        painter = QPainter(image)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        try:
            # The view's own render scales the scene (axes included) into the target.
            self.render(painter, QRectF(image.rect()), self.viewport().rect())
        finally:
            painter.end()
            self.legend.hide()
            self.legend.clear()
        return image

    def paintEvent(self, event) -> None:  # noqa: N802 - Qt override
        start = time.perf_counter()
        super().paintEvent(event)
        self.paint_cost = time.perf_counter() - start

    # -- data ----------------------------------------------------------------
    def set_data(self, X: np.ndarray, raw: np.ndarray, names: list[str],
                 dims: tuple[int, int | None], prep: Preprocessing,
                 weights: np.ndarray | None = None,
                 projection: Projection | None = None) -> None:
        """New points: X (N, D) in model units, raw (N, D) in the file's units.

        With two or more features the plot shows ``projection`` (PCA, the
        discriminant directions), or by default the features ``dims``.
        """
        self.rows = subsample_rows(len(X), MAX_DRAWN_POINTS)
        self.X, self.raw, self.dims, self.prep = X[self.rows], raw[self.rows], dims, prep
        self.full_raw = raw
        self._codes, self._groups = None, None
        x, y = dims
        self.projection = None if y is None else (projection or feature_pair(names, x, y))
        self.xy = np.empty((0, 2)) if y is None else self.projection.points(self.raw)
        self.set_flagged([])
        self.set_selected([])
        self._label_axes(names[x] if names else "")
        if y is None:
            self._set_histogram(raw[:, x], weights)
        else:
            self.hist.setData([], [])
            self.total.setData([], [])
        self.clear_model()
        self.enableAutoRange()

    def _set_histogram(self, values: np.ndarray, weights: np.ndarray | None) -> None:
        bins = min(80, max(10, int(np.sqrt(len(values)))))
        heights, edges = np.histogram(values, bins=bins, weights=weights, density=True)
        self.hist.setData(edges, heights)
        pad = 0.1 * (edges[-1] - edges[0] or 1.0)
        self.grid = np.linspace(edges[0] - pad, edges[-1] + pad, 400)

    # -- model ---------------------------------------------------------------
    def clear_model(self) -> None:
        """Hide ellipses, densities and means; points go neutral."""
        for item in self.component_items:
            item.setData([], [])
        self.means.setData([], [])
        self.total.setData([], [])
        if self.projection is None:
            self.scatter.clear_points()
        else:
            everything = np.arange(len(self.raw))
            self._draw_points([(self._neutral, everything)])
        self._codes = None

    def _label_axes(self, one_feature: str) -> None:
        # "density (x0.001)" reads badly, and so does a prefix after a label of
        # loadings; plain data axes keep their SI prefixes.
        plain = self.projection is not None and self.projection.kind == "features"
        self.getAxis("left").enableAutoSIPrefix(plain)
        self.getAxis("bottom").enableAutoSIPrefix(plain or self.projection is None)
        if self.projection is None:
            self.setLabel("bottom", one_feature)
            self.setLabel("left", "density")
        else:
            self.setLabel("bottom", self.projection.labels[0])
            self.setLabel("left", self.projection.labels[1])

    def _draw_points(self, groups) -> None:
        self._groups = groups
        self.scatter.set_points(self.xy[:, 0], self.xy[:, 1], groups)

    def set_projection(self, projection: Projection) -> bool:
        """Show the same points and model on other axes; False if nothing changed."""
        if self.projection is None or projection.same_as(self.projection):
            return False
        self.projection = projection
        self.xy = projection.points(self.raw)
        self._label_axes("")
        if self._groups is not None:
            self._draw_points(self._groups)
        self.set_flagged(self._flagged)
        self.set_selected(self._selected)
        self.enableAutoRange()
        return True

    def _ensure_components(self, k: int) -> None:
        while len(self.component_items) < k:
            j = len(self.component_items)
            item = pg.PlotDataItem(pen=pg.mkPen(component_color(j), width=2), connect="finite")
            item.setZValue(2)
            self.addItem(item)
            self.component_items.append(item)
        while len(self.pens) < k * _LEVELS:
            j, level = divmod(len(self.pens), _LEVELS)
            c = QColor(component_color(j))
            c.setAlpha(int(60 + 195 * level / (_LEVELS - 1)))
            self.pens.append(point_pen(c, 5))

    def set_model(self, model: MixtureModel, resp: np.ndarray | None = None,
                  live: bool = False) -> None:
        """Draw ``model``; colour points by ``resp`` (drawn rows) or the model's own.

        ``live`` (a fit in progress) recolours the points at most every
        LIVE_RECOLOUR_S -- moving ellipses over cached points is cheap,
        repainting 10,000 points on every redraw is not -- and holds the view
        still until a draw that is not live.
        """
        k = model.n_components
        self._pause_autorange(live)
        self._ensure_components(k)
        means, covs = data_space(model, self.prep)
        if self.projection is None:
            parts, total = density_curves(model, self.prep, self.dims[0], self.grid)
            for j in range(k):
                self.component_items[j].setData(self.grid, parts[j])
            self.total.setData(self.grid, total)
            self.means.setData([], [])
        else:
            m2, c2 = self.projection.gaussians(means, covs)
            for j in range(k):
                path = ellipse_paths(m2[j], c2[j])
                self.component_items[j].setData(path[:, 0], path[:, 1])
            self.means.setData(x=m2[:, 0], y=m2[:, 1])
            now = time.perf_counter()
            if live and now - self._recoloured_at < LIVE_RECOLOUR_S:
                resp = None
            elif resp is None and len(self.X):
                resp = model.predict_proba(self.X)
            if resp is not None:
                self._recoloured_at = now
                self.set_responsibilities(resp)
        for item in self.component_items[k:]:
            item.setData([], [])

    def _pause_autorange(self, live: bool) -> None:
        """Hold the view still during a fit; follow the model again after it."""
        vb = self.getViewBox()
        if live and not self._paused and all(vb.autoRangeEnabled()):
            vb.disableAutoRange()
            self._paused = True
        elif not live and self._paused:
            self._paused = False
            vb.enableAutoRange()

    def _user_moved_view(self, *_) -> None:
        self._paused = False  # the user's pan or zoom stays after the fit

    def set_responsibilities(self, resp: np.ndarray) -> None:
        """Colour drawn points by most probable component, opacity by its probability."""
        if self.projection is None or not len(resp):
            return
        k = resp.shape[1]
        self._ensure_components(k)
        top = resp.argmax(axis=1)
        sure = resp[np.arange(len(resp)), top]
        floor = 1.0 / k
        level = np.clip(((sure - floor) / max(1 - floor, 1e-12) * _LEVELS).astype(int),
                        0, _LEVELS - 1)
        codes = top * _LEVELS + level
        # A noise component's share is what the rows' responsibilities leave;
        # rows it claims most are drawn grey, with no component's colour.
        noise = 1.0 - resp.sum(axis=1)
        codes[noise > sure] = len(self.pens)
        if self._codes is not None and np.array_equal(codes, self._codes):
            return  # nothing visible changed
        self._codes = codes
        order = np.argsort(codes, kind="stable")
        pens = [*self.pens, self._neutral]
        bounds = np.searchsorted(codes[order], np.arange(len(pens) + 1))
        groups = [(pen, order[bounds[c]:bounds[c + 1]]) for c, pen in enumerate(pens)]
        self._draw_points(groups)


    # -- highlights and picking ------------------------------------------------
    def set_highlight(self, layer: PointCloud, positions: np.ndarray, color: str) -> None:
        """Halo ``positions`` (into the dataset's rows, most important first).

        Only drawn points get a halo, so the halos are as dense as the points
        they mark (50,000 flagged rows of 5,000,000 were a sea of red over
        10,000 drawn points), plus the first ALWAYS_HALOED positions wherever
        they are.
        """
        positions = np.asarray(positions, dtype=int)
        if len(positions) > ALWAYS_HALOED and len(self.rows) < len(self.full_raw):
            drawn = positions[np.isin(positions, self.rows)]
            positions = np.union1d(positions[:ALWAYS_HALOED], drawn)
        if self.projection is None or not len(positions):
            layer.clear_points()
            return
        pen = point_pen(QColor(color), layer.size)
        xy = self.projection.points(self.full_raw[positions])
        layer.set_points(xy[:, 0], xy[:, 1], [(pen, np.arange(len(positions)))])

    def set_flagged(self, positions: np.ndarray) -> None:
        """Red halo on flagged anomalies."""
        self._flagged = positions
        self.set_highlight(self.flagged_halo, positions, "#C00000")

    def set_selected(self, positions: np.ndarray) -> None:
        """Blue halo on selected rows."""
        self._selected = positions
        self.set_highlight(self.selected_halo, positions, "#0072B2")

    def _boxed(self, rect: QRectF) -> None:
        if self.projection is None or not len(self.full_raw):
            return
        xy = self.projection.points(self.full_raw)
        px, py = xy[:, 0], xy[:, 1]
        inside = ((px >= rect.left()) & (px <= rect.right())
                  & (py >= rect.top()) & (py <= rect.bottom()))
        self.rows_boxed.emit(np.flatnonzero(inside))

    def _clicked(self, ev) -> None:
        if (ev.button() != Qt.MouseButton.LeftButton or self.projection is None
                or not len(self.raw)):
            return
        vb = self.getViewBox()
        pos = vb.mapSceneToView(ev.scenePos())
        pw, ph = vb.viewPixelSize()
        d2 = ((self.xy[:, 0] - pos.x()) / pw) ** 2 + ((self.xy[:, 1] - pos.y()) / ph) ** 2
        nearest = int(np.argmin(d2))
        if d2[nearest] <= PICK_RADIUS_PX**2:
            self.point_clicked.emit(int(self.rows[nearest]))
