"""A scatter item for many points in a few colours.

pyqtgraph's ScatterPlotItem looks up every point's symbol in Python on each
update (about 1.7 us a point: 34 ms for 20,000), too slow to recolour live while
a fit runs. Here each colour group is mapped to device pixels with numpy and
painted with a single ``drawPoints`` call using a wide, round pen. (Drawing in
data coordinates would stretch the round caps with the view's aspect ratio.)

The item caches its picture in device pixels: while only ellipses move over
it during a fit, a repaint is one copy of that picture, not 10,000 discs.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
import pyqtgraph.functions as fn
from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QColor, QPen
from PySide6.QtWidgets import QGraphicsItem


def point_pen(color: QColor, size: float) -> QPen:
    """A pen that draws each point as a filled disc ``size`` pixels wide."""
    pen = QPen(color)
    pen.setWidthF(size)
    pen.setCapStyle(Qt.PenCapStyle.RoundCap)
    return pen


class PointCloud(pg.GraphicsObject):
    """Points x, y (N,) drawn in groups, each group with its own pen."""

    def __init__(self, size: float = 5.0):
        super().__init__()
        self.size = size
        self.x = np.empty(0)
        self.y = np.empty(0)
        self._groups: list[tuple[QPen, np.ndarray]] = []
        self._rect = QRectF()
        self.setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)

    def __len__(self) -> int:
        return int(len(self.x))

    def set_points(self, x: np.ndarray, y: np.ndarray, groups: list[tuple[QPen, np.ndarray]]):
        """Show points; ``groups`` pairs a pen with the indices (into x, y) it draws."""
        self.prepareGeometryChange()
        self.x, self.y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
        self._groups = [(pen, np.asarray(idx)) for pen, idx in groups if len(idx)]
        if len(self.x):
            x0, x1 = float(np.nanmin(self.x)), float(np.nanmax(self.x))
            y0, y1 = float(np.nanmin(self.y)), float(np.nanmax(self.y))
            self._rect = QRectF(x0, y0, x1 - x0, y1 - y0)
        else:
            self._rect = QRectF()
        self.informViewBoundsChanged()
        self.update()

    def clear_points(self) -> None:
        """Draw nothing."""
        self.set_points(np.empty(0), np.empty(0), [])

    def boundingRect(self) -> QRectF:  # noqa: N802 - Qt override
        # Padded by the discs' radius in pixels: the cached picture is clipped to it.
        if self._rect.isNull():
            return self._rect
        px, py = self.pixelVectors()
        pad = self.pixelPadding()
        pad_x = pad * (0.0 if px is None else px.length())
        pad_y = pad * (0.0 if py is None else py.length())
        return self._rect.adjusted(-pad_x, -pad_y, pad_x, pad_y)

    def viewTransformChanged(self) -> None:  # noqa: N802 - pyqtgraph API
        self.prepareGeometryChange()  # the padding, in data units, follows the zoom
        super().viewTransformChanged()

    def dataBounds(self, ax, frac=1.0, orthoRange=None):  # noqa: N802, N803 - pyqtgraph API
        if not len(self.x):
            return None, None
        values = self.x if ax == 0 else self.y
        return float(np.nanmin(values)), float(np.nanmax(values))

    def pixelPadding(self) -> float:  # noqa: N802 - pyqtgraph API
        return self.size / 2 + 1

    def paint(self, painter, *args) -> None:
        t = painter.transform()
        dev_x = t.m11() * self.x + t.m21() * self.y + t.dx()
        dev_y = t.m12() * self.x + t.m22() * self.y + t.dy()
        painter.save()
        painter.resetTransform()
        for pen, idx in self._groups:
            painter.setPen(pen)
            painter.drawPoints(fn.arrayToQPolygonF(dev_x[idx], dev_y[idx]))
        painter.restore()
