"""The Log-likelihood tab: a curve per restart, and in step mode log L with EM's bound.

In step mode every half-step adds a point: the E-step sets q to the
posterior, so the bound L(q, θ) touches log L; the M-step lifts the bound,
and log L with it. The gap between them, KL(q ‖ p(z | x, θ)), is shaded.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor

from .plots import _configure


def format_gap(half_step) -> str:
    """The KL gap of a HalfStep in words: "0 (closed)" when only rounding is left."""
    gap = half_step.gap
    if abs(gap) <= 1e-9 * max(1.0, abs(half_step.log_likelihood)):
        return "0 (closed)"
    return f"{gap:.4g}"


class IntegerAxis(pg.AxisItem):
    """An axis that only labels whole numbers (iterations)."""

    def tickValues(self, minVal, maxVal, size):  # noqa: N802, N803 - pyqtgraph override
        levels = super().tickValues(minVal, maxVal, size)
        return [(spacing, [v for v in values if float(v).is_integer()])
                for spacing, values in levels if spacing >= 1]


class LikelihoodPlot(pg.PlotWidget):
    """Log-likelihood per iteration, one curve per restart, the kept one highlighted."""

    def __init__(self) -> None:
        super().__init__(axisItems={"bottom": IntegerAxis("bottom")})
        _configure(self)
        self.getAxis("left").enableAutoSIPrefix(False)
        self.setLabel("bottom", "iteration")
        self.setLabel("left", "log-likelihood")
        self.curves: dict[int, pg.PlotDataItem] = {}
        self._thin = pg.mkPen(QColor(150, 150, 150), width=1)
        self._thick = pg.mkPen(QColor("#0072B2"), width=3)
        self._build_step_items()
        # Autorange would move the view, and redraw the axis labels (~10 ms),
        # on every redraw of a climbing curve; the view grows in steps instead,
        # until the user pans or zooms it.
        self._shown: tuple[float, float, float] | None = None  # x1, y0, y1
        self._follow = True
        self.getViewBox().disableAutoRange()
        self.getViewBox().sigRangeChangedManually.connect(self._stop_following)
        self.clear_curves()

    def clear_curves(self) -> None:
        """Forget every curve (a new run or a reset)."""
        for curve in self.curves.values():
            curve.setData([], [])
        self.step_values = []
        self.step_trace = []
        for item in (self.step_curve, self.bound_curve, self._ll_at_bound):
            item.setData([], [])
        self.gap_text.setText("")
        self.step_legend.hide()
        self.setLabel("bottom", "iteration")
        self._shown, self._follow = None, True
        # Empty: iterations to come, and no log-likelihood scale of an old fit.
        self.getAxis("left").setStyle(showValues=False)
        self.getViewBox().setRange(xRange=(0.0, 10.0), yRange=(0.0, 1.0), padding=0)

    def set_histories(self, histories: dict[int, np.ndarray], kept: int | None) -> None:
        """Show every restart's history; ``kept`` (or the best so far) highlighted."""
        if kept is None and histories:
            kept = max(histories, key=lambda r: histories[r][-1])
        for restart, values in histories.items():
            curve = self.curves.get(restart)
            if curve is None:
                curve = self.curves[restart] = pg.PlotDataItem()
                self.addItem(curve)
            curve.setData(np.arange(len(values)), np.asarray(values))
            curve.setPen(self._thick if restart == kept else self._thin)
            curve.setZValue(1 if restart == kept else 0)
        for restart, curve in self.curves.items():
            if restart not in histories:
                curve.setData([], [])
        self._keep_in_view([np.asarray(v, dtype=float) for v in histories.values()])

    def _build_step_items(self) -> None:
        """Step mode's items, made once: log L, the bound, the gap between them."""
        self.step_curve = pg.PlotDataItem(pen=self._thick, symbol="o", symbolSize=6,
                                          symbolBrush="#0072B2", name="log L(θ)")
        self.bound_curve = pg.PlotDataItem(
            pen=pg.mkPen(QColor("#D55E00"), width=2, style=Qt.PenStyle.DashLine),
            symbol="t", symbolSize=7, symbolBrush="#D55E00", symbolPen=None,
            name="lower bound L(q, θ)")
        # log L at the bound's positions: the gap's upper edge, never drawn itself.
        self._ll_at_bound = pg.PlotDataItem(pen=None)
        self.gap_fill = pg.FillBetweenItem(self._ll_at_bound, self.bound_curve,
                                           brush=pg.mkBrush(213, 94, 0, 80))
        self.gap_text = pg.TextItem("", color="#7a3300", anchor=(1, 1))
        self.step_legend = pg.LegendItem(offset=(-10, -10), labelTextColor="k",
                                         brush=pg.mkBrush(255, 255, 255, 220),
                                         pen=pg.mkPen("#999"))
        self.step_legend.setParentItem(self.getPlotItem().vb)
        for item in (self.gap_fill, self._ll_at_bound, self.step_curve, self.bound_curve):
            self.addItem(item)
        self.addItem(self.gap_text, ignoreBounds=True)
        self.step_legend.addItem(self.step_curve, "log L(θ)")
        self.step_legend.addItem(self.bound_curve, "lower bound L(q, θ); shaded: KL gap")
        self.step_legend.hide()
        self.step_values: list[float] = []
        self.step_trace: list = []

    def set_step_trace(self, trace: list, offset: float = 0.0) -> None:
        """Step mode: log L and the bound at every half-step so far.

        ``trace`` is a StepSession's list of HalfStep; ``offset`` turns its
        log-likelihoods (and bounds) into the data file's units.
        """
        self.step_trace = list(trace)
        x = np.array([h.position for h in trace])
        ll = np.array([h.log_likelihood for h in trace]) + offset
        self.step_values = [float(v) for h, v in zip(trace, ll, strict=True) if h.phase != "E"]
        self.step_curve.setData(x, ll)
        with_bound = [i for i, h in enumerate(trace) if h.bound is not None]
        bx = x[with_bound]
        bounds = np.array([trace[i].bound for i in with_bound]) + offset
        self.bound_curve.setData(bx, bounds)
        self._ll_at_bound.setData(bx, ll[with_bound])
        self.setLabel("bottom", "iteration (E-steps half-way)")
        self.step_legend.setVisible(bool(with_bound))
        self._keep_in_view([ll, bounds])
        self._say_gap(trace[-1] if trace else None, x, ll)

    def _say_gap(self, last, x: np.ndarray, ll: np.ndarray) -> None:
        if last is None or last.gap is None:
            self.gap_text.setText("")
            return
        what = {"E": "after the E-step", "M": "after the M-step"}.get(last.phase, "")
        self.gap_text.setText(f"KL gap {what}: {format_gap(last)}")
        self.gap_text.setPos(float(x[-1]), float(ll[-1]))

    def _stop_following(self, *_) -> None:
        self._follow = False

    def _keep_in_view(self, series: list[np.ndarray]) -> None:
        """Grow the view, with headroom, only when a curve leaves it."""
        values = np.concatenate([v[np.isfinite(v)] for v in series]) if series else []
        if not self._follow or not len(values):
            return
        self.getAxis("left").setStyle(showValues=True)
        last = max(len(v) for v in series) - 1
        lo, hi = float(values.min()), float(values.max())
        x1, y0, y1 = self._shown or (0.0, np.inf, -np.inf)
        if last <= x1 and y0 <= lo and hi <= y1:
            return
        span = max(hi - lo, 1e-3 * max(abs(hi), 1.0))
        x1 = max(x1, 10.0, 1.5 * last) if last > x1 else x1
        y0 = lo - 0.05 * span if lo < y0 else y0
        y1 = hi + 0.25 * span if hi > y1 else y1
        self._shown = (x1, y0, y1)
        self.getViewBox().setRange(xRange=(-0.25, x1), yRange=(y0, y1), padding=0)

