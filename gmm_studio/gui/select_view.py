"""Choose K tab: BIC / AIC / ICL and held-out likelihood against K; click to adopt."""

from __future__ import annotations

import math
import time

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from ..core import COVARIANCE_TYPES
from ..core.analysis.selection import DEFAULT_SEARCH, best_row, sweep_size
from ..core.analysis.subsample import SUBSAMPLE_ABOVE, big_sweep_note
from ..core.model.families import distinct_types, mclust_name
from ..jobs import make_job, run_sweep
from .controller import JobController
from .likelihood_plot import IntegerAxis
from .model_chooser import ModelMenuButton, model_style
from .select_table import RankingTable
from .widgets import MessageBar, StaleMark

CRITERION_LABELS = {"bic": "BIC", "aic": "AIC", "icl": "ICL"}
# The sweep's start: select's default (as gmm-studio select), or the Fit panel's.
SEARCHES = {"hierarchical": "hierarchical; best 5 also + Ward + 2 k-means++ (recommended)",
            "panel": "the Fit panel's start and restarts"}


# A ranking needs no 30 redraws a second: each redraw (14 curves and the
# ranking table) held the sweep's worker back ~15 ms on Old Faithful, whose
# whole sweep takes 0.25 s; four a second still show the curves grow.
SWEEP_REDRAW_MS = 250
# Nor does a sweep that ends within half a second need any redraw before
# its result: one at 0.25 s cost Old Faithful's ~0.3 s sweep another redraw
# and three paints (~70 ms taken from its worker, measured). Until then the
# progress bar alone moves.
SWEEP_FIRST_REDRAW_S = 0.5
_HINT = "Click a point to use that K and covariance type in the main fit."


class SelectView(QWidget):
    """Sweep K and covariance types in the background; plot criteria; adopt a point."""

    adopt = Signal(int, str)  # K, covariance type

    def __init__(self, get_inputs) -> None:
        super().__init__()
        self.get_inputs = get_inputs  # () -> (dataset, base FitConfig)
        self.controller = JobController(self, redraw_ms=SWEEP_REDRAW_MS, result_supersedes=True)
        self.messages = MessageBar()
        self.max_k = QSpinBox()
        self.max_k.setRange(1, 30)
        self.max_k.setValue(9)          # mclust's G = 1:9
        self.models = ModelMenuButton()
        self.types = self.models.types       # covariance_type -> checkable QAction
        self.criterion = QComboBox()
        for key, text in CRITERION_LABELS.items():
            self.criterion.addItem(f"{text} (smaller is better)", key)
        self.folds = QSpinBox()
        self.folds.setRange(0, 20)
        # Off by default: five folds fit every (K, model) five more times (even
        # batched, Old Faithful takes 1.4 s with them against 0.3 s without).
        self.folds.setValue(0)
        self.folds.setSpecialValueText("off")
        self.folds.setToolTip("Cross-validation folds for the held-out log-likelihood curve. "
                              "Off: BIC, AIC and ICL only. 5 folds fit every model 5 more "
                              "times (above 100,000 rows: one held-out pass instead).")
        self.search = QComboBox()
        for key, text in SEARCHES.items():
            self.search.addItem(text, key)
        self.search.setToolTip("How each (K, covariance) fit starts. Recommended: every fit "
                               "from the model-based hierarchical start, then the five best "
                               "by BIC again, also from Ward's tree and 2 k-means++ seeds, "
                               "best kept; it reaches "
                               "mclust's BIC on its data sets (above 100,000 rows only the "
                               "hierarchical runs are made, to stay fast).")
        self.run_button, self.cancel_button = QPushButton("Run sweep"), QPushButton("Cancel")
        self.progress = QProgressBar()
        bar, bar2 = QHBoxLayout(), QHBoxLayout()
        for widget in (QLabel("K from 1 to"), self.max_k, QLabel("  covariance"),
                       self.models):
            bar.addWidget(widget)
        bar.addStretch(1)
        # Two rows, so the window still fits a 1280-pixel screen.
        for widget in (QLabel("start"), self.search):
            bar.addWidget(widget)
        for widget in (QLabel("criterion"), self.criterion, QLabel("CV folds"), self.folds,
                       self.progress, self.run_button, self.cancel_button):
            bar2.addWidget(widget)
        self.graphics = pg.GraphicsLayoutWidget()
        self.graphics.setBackground("w")
        self.crit_plot = self.graphics.addPlot(
            row=0, col=0, axisItems={"bottom": IntegerAxis("bottom")})
        self.cv_plot = self.graphics.addPlot(
            row=0, col=1,
            axisItems={"bottom": IntegerAxis("bottom")})
        self._title_cv_plot()
        self.folds.valueChanged.connect(lambda _: self._title_cv_plot())
        for plot in (self.crit_plot, self.cv_plot):
            plot.showGrid(x=True, y=True, alpha=0.15)
            plot.setLabel("bottom", "K")
            for axis in ("left", "bottom"):
                plot.getAxis(axis).enableAutoSIPrefix(False)
            # The value axis keeps the widest width its labels needed: a width
            # that changes when a redraw is painted re-lays out the plots and
            # paints them again (two more paints, ~25 ms at a sweep's end).
            plot.getAxis("left").setStyle(autoReduceTextSpace=False)
        # The legend is a wrapping line of text under the plots, never over the
        # curves: fourteen entries fit where a plot legend would need a row each.
        self.legend = QLabel()
        self.legend.setWordWrap(True)
        self.legend.setTextFormat(Qt.TextFormat.RichText)
        self._build_items()
        self.status = QLabel(_HINT)
        self.status.setWordWrap(True)
        self.big = False   # the sweep shown scored its rows on a subsample (big_sweep_note)
        self.ranking = RankingTable()
        self.ranking.adopt.connect(self._adopt_row)
        layout = QVBoxLayout(self)
        layout.addLayout(bar)
        layout.addLayout(bar2)
        layout.addWidget(self.messages)
        self.legend.setText(legend_html())
        plots = QVBoxLayout()
        plots.addWidget(self.graphics, 1)
        plots.addWidget(self.legend)
        body = QHBoxLayout()
        body.addLayout(plots, 1)
        body.addWidget(self.ranking)
        layout.addLayout(body, 1)
        layout.addWidget(self.status)
        self.rows = []
        self._started = 0.0   # when the current sweep began (perf_counter)
        self.run_button.clicked.connect(self.run)
        self.cancel_button.clicked.connect(lambda: self.controller.stop())
        self.criterion.currentIndexChanged.connect(lambda _: self.redraw())
        self.controller.progress.connect(self._on_progress)
        self.controller.finished.connect(self._on_finished)
        self.controller.failed.connect(lambda m: self.messages.show_messages("error", [m]))
        self.controller.running_changed.connect(self._on_running)
        self.stale = StaleMark(self.messages, self.graphics.ci, self.run,
                               greyed=(self.status, self.ranking))
        self._on_running(False)
        self.redraw()

    def _title_cv_plot(self) -> None:
        self.cv_plot.setTitle("held-out log L per row (larger: better)" if self.folds.value()
                              else "held-out log L: CV off (set CV folds)",
                              size="9pt")

    def data_changed(self, dataset, title: str) -> None:
        """The window shows other data: a sweep of other data is marked stale."""
        self.stale.data_changed(None if dataset is None else dataset.data_id, title)

    def run(self) -> None:
        """Start the sweep with the window's data, the Fit panel's seed and floor, the search."""
        try:
            dataset, base, self.title = self.get_inputs()
        except ValueError as exc:
            self.messages.show_messages("error", [str(exc)])
            return
        if self.search.currentData() == "hierarchical":
            # On big data four runs per fit cost minutes: the hierarchical run alone.
            runs = DEFAULT_SEARCH.n_init if dataset.n_rows <= SUBSAMPLE_ABOVE else 1
            base = base.replace(init="hierarchical", n_init=runs)
        types = self.models.chosen()
        if not types:
            self.messages.show_messages("error", ["tick at least one covariance model."])
            return
        # With one feature the fourteen are two models, E and V: fit each once.
        types = distinct_types(types, dataset.X.shape[1])
        ks = list(range(1, self.max_k.value() + 1))
        total = sweep_size(len(ks), len(types), base)
        self.messages.clear()
        self.rows = []
        self.big = dataset.n_rows > SUBSAMPLE_ABOVE
        self.redraw()
        self.progress.setRange(0, total)
        self.progress.setValue(0)
        self.stale.computed(dataset.data_id, self.title)
        self._started = time.perf_counter()
        self.controller.start(make_job(run_sweep, dataset.X, ks, types, base, self.folds.value(),
                                   dataset.weights, dataset.preprocessing.log_jacobian(),
                                   total))

    def _on_running(self, running: bool) -> None:
        self.run_button.setEnabled(not running)
        self.cancel_button.setEnabled(running)

    def _on_progress(self, progress) -> None:
        done, total, rows = progress
        self.progress.setValue(done)
        self.rows = rows
        if time.perf_counter() - self._started >= SWEEP_FIRST_REDRAW_S:
            self.redraw()

    def _on_finished(self, rows) -> None:
        self.rows = rows
        self.progress.setValue(self.progress.maximum())
        self.redraw()

    def _build_items(self) -> None:
        # Created once and updated with setData: removing items that a legend
        # still references crashes pyqtgraph.
        self.crit_curves, self.cv_curves, self.cv_bars = {}, {}, {}
        self._drawn: dict[tuple, tuple] = {}  # (plot, model): its last points, as set
        self._crit_title = ""
        for kind in COVARIANCE_TYPES:
            colour, dashed, symbol = model_style(kind)
            color = QColor(colour)
            pen = pg.mkPen(color, width=2,
                           style=Qt.PenStyle.DashLine if dashed else Qt.PenStyle.SolidLine)
            name = mclust_name(kind)
            for plot, store in ((self.crit_plot, self.crit_curves), (self.cv_plot, self.cv_curves)):
                # No dynamic range limit (a guard for points ~1e6 view heights
                # off screen, which a criterion plot is never zoomed to): with
                # one, each change of the view's range, as when a redraw is
                # painted, sets every curve's data again and paints again.
                curve = pg.PlotDataItem([], [], pen=pen, symbol=symbol, symbolBrush=color,
                                        symbolPen=color, symbolSize=8, name=name,
                                        dynamicRangeLimit=None)
                curve.sigPointsClicked.connect(
                    lambda _item, points, _ev, kind=kind: self._clicked(kind, points))
                plot.addItem(curve)
                store[kind] = curve
            bars = pg.ErrorBarItem(x=np.zeros(0), y=np.zeros(0), height=np.zeros(0),
                                   pen=pg.mkPen(color))
            self.cv_plot.addItem(bars)
            self.cv_bars[kind] = bars
        star = {"symbol": "star", "size": 22, "brush": pg.mkBrush("#F0E442"), "pen": pg.mkPen("k")}
        self.crit_star, self.cv_star = pg.ScatterPlotItem(**star), pg.ScatterPlotItem(**star)
        # The star sits on top of the best point, so it must take its clicks.
        for marker in (self.crit_star, self.cv_star):
            marker.sigClicked.connect(
                lambda _item, points, _ev=None: self._clicked(points[0].data(), points)
                if len(points) else None)
        # Degenerate fits get a cross on top: a per-point symbol list on the curve
        # itself would also reach its legend sample, which crashes pyqtgraph.
        self.crosses = pg.ScatterPlotItem(symbol="x", size=16, brush=pg.mkBrush("#C00000"),
                                          pen=pg.mkPen("#C00000"))
        self.crit_plot.addItem(self.crosses)
        self.crit_plot.addItem(self.crit_star)
        self.cv_plot.addItem(self.cv_star)

    def redraw(self) -> None:
        """Update the criterion and CV curves from ``self.rows``."""
        criterion = self.criterion.currentData()
        title = f"{CRITERION_LABELS[criterion]} (smaller is better; × degenerate)"
        if title != self._crit_title:  # setting a title re-lays out the plots
            self._crit_title = title
            self.crit_plot.setTitle(title, size="9pt")
        for kind in COVARIANCE_TYPES:
            self._draw_type(kind, [r for r in self.rows if r.covariance_type == kind], criterion)
        self.ranking.show_rows(self.rows, criterion, CRITERION_LABELS[criterion])
        bad = [r for r in self.rows if r.degenerate and np.isfinite(getattr(r, criterion))]
        self.crosses.setData([r.k for r in bad], [getattr(r, criterion) for r in bad])
        best = best_row(self.rows, criterion)
        self.crit_star.setData([], [])
        if best is None:  # no row yet: nothing of an earlier sweep's best stays
            self.status.setText(_HINT)
        else:
            self.crit_star.setData([best.k], [getattr(best, criterion)],
                                   data=[best.covariance_type])
            self.status.setText(f"Best by {CRITERION_LABELS[criterion]}: K={best.k}, "
                                f"{_label(best)}. Click a point or a table row to use it in the "
                                "main fit." + (" " + big_sweep_note() if self.big else ""))
        # A plot with no point (no rows yet, or CV off) keeps its empty frame.
        for plot, value in ((self.crit_plot, criterion), (self.cv_plot, "cv_mean")):
            if any(np.isfinite(getattr(r, value)) for r in self.rows):
                plot.getAxis("left").setTicks(None)
                plot.enableAutoRange()
            else:
                self._frame_empty(plot)
        cv_best = best_row(self.rows, "cv")
        self.cv_star.setData([], [])
        if cv_best is not None:
            self.cv_star.setData([cv_best.k], [cv_best.cv_mean], data=[cv_best.covariance_type])
        if self.isVisible():
            # The new ranges now, not in the paint: a range set while painting
            # asks for another paint of every axis and curve.
            for plot in (self.crit_plot, self.cv_plot):
                plot.getViewBox().prepareForPaint()

    def _frame_empty(self, plot) -> None:
        """A plot with nothing to show: the K axis a sweep fills, no numbers made up."""
        plot.setXRange(0.5, self.max_k.value() + 0.5, padding=0)
        plot.setYRange(0.0, 1.0, padding=0)
        # No ticks rather than no values: hiding the values would give their
        # width back, and the redraw with rows would take it again.
        plot.getAxis("left").setTicks([[], []])

    def _draw_type(self, kind: str, rows, criterion: str) -> None:
        rows = sorted(rows, key=lambda r: r.k)  # batched fits finish in any order
        ks = np.array([r.k for r in rows], dtype=float)
        values = np.array([getattr(r, criterion) for r in rows], dtype=float)
        cv = np.array([r.cv_mean for r in rows], dtype=float)
        spread = np.array([r.cv_std for r in rows], dtype=float)
        shown = ~np.isnan(cv)
        # A curve is set again only when its points changed: a redraw during
        # a sweep touches the few models with new rows, and with CV off no CV
        # curve, not all 42 items (each setData ~0.3 ms, taken from the
        # sweep's thread).
        crit = (ks.tobytes(), values.tobytes())
        if self._drawn.get(("crit", kind)) != crit:
            self._drawn[("crit", kind)] = crit
            self.crit_curves[kind].setData(ks, values)
        ks, cv, spread = ks[shown], cv[shown], spread[shown]
        held_out = (ks.tobytes(), cv.tobytes(), spread.tobytes())
        if self._drawn.get(("cv", kind)) != held_out:
            self._drawn[("cv", kind)] = held_out
            self.cv_curves[kind].setData(ks, cv)
            self.cv_bars[kind].setData(x=ks, y=cv, height=2 * spread)

    def _adopt_row(self, k: int, kind: str) -> None:
        """A row of the ranking table was double-clicked."""
        self._adopt(k, kind)

    def _clicked(self, kind: str, points) -> None:
        if not len(points):
            return
        self._adopt(int(round(points[0].pos().x())), kind)

    def _adopt(self, k: int, kind: str) -> None:
        if self.stale.stale:
            self.messages.show_messages("warning", [
                "this sweep was computed on other data; press Recompute first."],
                action=("Recompute", self.run))
            return
        row = next((r for r in self.rows if r.k == k and r.covariance_type == kind), None)
        label = kind if row is None else _label(row)
        if row is not None and row.degenerate:
            self.messages.show_messages("warning", [
                f"K={k}, {label} is degenerate ({row.note or 'the fit failed'}); adopted anyway."])
        if row is not None and not math.isnan(row.bic):
            self.status.setText(f"Adopted K={k}, {label} in the Fit panel.")
        self.adopt.emit(k, kind)


_SYMBOL_CHARS = {"o": "●", "s": "■", "t": "▼"}


def legend_html() -> str:
    """Every model's line and symbol in its colour: "━● EII", dashed "╍■ VEI"."""
    parts = []
    for kind in COVARIANCE_TYPES:
        colour, dashed, symbol = model_style(kind)
        name = mclust_name(kind)
        line = "╍" if dashed else "━"
        parts.append(f'<span style="color:{colour}">{line}{_SYMBOL_CHARS[symbol]}</span>'
                     f"&nbsp;{name}")
    return "&nbsp;&nbsp; ".join(parts)


def _label(row) -> str:
    """"tied (EEE)" for scikit-learn's four, the mclust name for the others."""
    if row.model in ("", row.covariance_type) or len(row.model) == 1:
        return row.model or row.covariance_type
    return f"{row.covariance_type} ({row.model})"
