"""The fourteen covariance models in the window: chooser, Choose K picture, Compare."""

import numpy as np
from PySide6.QtCore import Qt

from gmm_studio.core import FitConfig
from gmm_studio.core.model.families import MCLUST_NAMES

from .conftest import wait_fit


def test_the_fit_panel_lists_fourteen_models_grouped_with_descriptions(window):
    combo = window.fit_panel.covariance
    store = combo.model()
    headings = [store.item(i).text() for i in range(store.rowCount())
                if not store.item(i).isEnabled()]
    assert headings == ["Spherical (round)", "Diagonal (axis-aligned)",
                        "Ellipsoidal (any orientation)"]
    choices = [store.item(i) for i in range(store.rowCount()) if store.item(i).isEnabled()]
    assert [c.text().split()[0] for c in choices] == list(MCLUST_NAMES)
    vev = next(c for c in choices if c.text().strip() == "VEV")
    assert vev.toolTip() == "VEV: volume varies, shape equal, orientation varies"
    window.fit_panel.set_config(FitConfig(covariance_type="EEE"))
    assert combo.currentData() == "tied" and "EEE" in combo.currentText()


def test_a_vev_fit_runs_draws_ellipses_and_compares(window, qtbot):
    window.open_sample("iris.csv")
    window.fit_panel.set_config(FitConfig(n_components=2, covariance_type="VEV", n_init=2))
    qtbot.mouseClick(window.fit_panel.run_button, Qt.MouseButton.LeftButton)
    wait_fit(qtbot, window)
    assert window.model.covariance_type == "VEV" and window.model.mclust_name == "VEV"
    drawn = [i for i in window.plot.component_items if i.getData()[0] is not None
             and len(i.getData()[0])]
    assert len(drawn) == 2
    view = window.compare_view
    view.run()
    qtbot.waitUntil(lambda: not view.controller.running and len(view.rows) == 4,
                    timeout=30_000)
    assert all(np.isfinite(r.log_likelihood) for r in view.rows)


def test_choose_k_draws_a_curve_per_model_and_ranks_the_best_three(window, qtbot):
    window.open_sample("iris.csv")
    view = window.select_view
    view.max_k.setValue(3)
    assert view.models.text() == "models: 14 of 14 ▾"
    view.run()
    qtbot.waitUntil(lambda: not view.controller.running and len(view.rows) == 42,
                    timeout=120_000)
    drawn = [kind for kind, curve in view.crit_curves.items() if len(curve.getData()[0])]
    assert len(drawn) == 14
    assert all(f"&nbsp;{name}" in view.legend.text() for name in MCLUST_NAMES)
    # mclust's choice on Iris: VEV with two components (BIC 561.73, smaller-better sign).
    table = view.ranking
    assert table.item(0, 0).text() == "#1"
    assert (table.item(0, 1).text(), table.item(0, 2).text()) == ("VEV", "2")
    assert abs(float(table.item(0, 3).text()) - 561.73) < 0.01
    assert [table.item(i, 0).text() for i in range(3)] == ["#1", "#2", "#3"]
    assert "K=2, VEV" in view.status.text()
    table.cellDoubleClicked.emit(0, 1)
    assert window.fit_panel.covariance.currentData() == "VEV"
    assert window.fit_panel.k.value() == 2
    view.models.choose(["full"])
    assert view.models.chosen() == ["full"] and view.models.text() == "models: 1 of 14 ▾"


def test_degenerate_fits_are_marked_and_explained_not_dropped(window, qtbot):
    from gmm_studio.core.analysis.selection import SelectionRow

    view = window.select_view
    nan = float("nan")
    good = SelectionRow(2, "full", -1130.0, 11, 2322.0, 2282.0, 2330.0, nan, nan, True, False,
                        "", "VVV")
    bad = SelectionRow(3, "full", -1100.0, 17, 2300.0, 2234.0, 2310.0, nan, nan, True, True,
                       "collapsed onto repeated values or a few rows (component 2: 15 rows), "
                       "held by the variance floor; not chosen", "VVV")
    view.rows = [good, bad]
    view.redraw()
    x, y = view.crosses.getData()
    assert list(x) == [3] and list(y) == [2300.0]          # a cross on the curve
    assert view.ranking.rowCount() == 2
    assert view.ranking.item(0, 0).text() == "#1" and view.ranking.item(0, 2).text() == "2"
    assert view.ranking.item(1, 0).text() == "×"
    assert view.ranking.item(1, 5).text() == "collapsed (component 2: 15 rows)"
    assert "held by the variance floor" in view.ranking.item(1, 5).toolTip()


def test_choose_k_redraws_only_the_curves_whose_points_changed(window, qtbot, monkeypatch):
    window.open_sample("old_faithful.csv")
    view = window.select_view
    view.max_k.setValue(2)
    view.run()
    qtbot.waitUntil(lambda: not view.controller.running and len(view.rows) == 28,
                    timeout=60_000)
    calls, cv_calls = [], []
    for store, log in ((view.crit_curves, calls), (view.cv_curves, cv_calls)):
        for kind, curve in store.items():
            original = curve.setData
            monkeypatch.setattr(curve, "setData",
                                lambda *a, kind=kind, original=original, log=log, **k:
                                (log.append(kind), original(*a, **k)))
    view.redraw()
    assert calls == []                          # nothing new: no curve set again
    tied = [r for r in view.rows if r.covariance_type == "tied"]
    view.rows = [r for r in view.rows if r not in tied[:1]]
    view.redraw()
    assert calls == ["tied"]                    # one model lost a point: only its curve
    assert len(view.crit_curves["tied"].getData()[0]) == len(tied) - 1
    # Another criterion moves every point: every curve shows its values.
    view.criterion.setCurrentIndex(view.criterion.findData("aic"))
    view.redraw()
    assert set(calls) == set(view.crit_curves)
    assert cv_calls == []                       # CV off: no CV point changed, none set
    row = next(r for r in view.rows if r.covariance_type == "full")
    xs, ys = view.crit_curves["full"].getData()
    assert ys[list(xs).index(row.k)] == row.aic


def test_a_sweep_redraws_its_progress_only_after_its_first_half_second(window, qtbot,
                                                                       monkeypatch):
    import time

    from gmm_studio.gui import select_view

    view = window.select_view
    redraws = []
    monkeypatch.setattr(view, "redraw", lambda: redraws.append(len(view.rows)))
    rows = ["a row"] * 3
    view._started = time.perf_counter()
    view._on_progress((3, 10, rows))
    # A short sweep: the bar moves and the rows are kept, but nothing is drawn yet.
    assert (redraws, view.progress.value(), view.rows) == ([], 3, rows)
    view._started = time.perf_counter() - select_view.SWEEP_FIRST_REDRAW_S
    view._on_progress((4, 10, rows + ["another"]))
    assert redraws == [4]
    view._on_finished(rows)          # the result is always drawn
    assert redraws == [4, 3]


def _value_labels(plot) -> list[str]:
    """The tick labels the left axis of ``plot`` would draw now."""
    from PySide6.QtGui import QImage, QPainter

    image = QImage(8, 8, QImage.Format.Format_ARGB32)
    painter = QPainter(image)
    try:
        specs = plot.getAxis("left").generateDrawSpecs(painter)
    finally:
        painter.end()
    return [] if specs is None else [text for _rect, _flags, text in specs[2]]


def test_choose_k_paints_a_redraw_once_and_an_empty_frame_without_values(window, qtbot):
    from PySide6.QtCore import QEvent, QObject

    class Paints(QObject):
        count = 0

        def eventFilter(self, _watched, event):  # noqa: N802 - Qt's name
            self.count += event.type() == QEvent.Type.Paint
            return False

    window.show()
    qtbot.waitExposed(window)
    window.open_sample("old_faithful.csv")
    view = window.select_view
    window.tabs.setCurrentWidget(view)
    view.max_k.setValue(3)
    view.run()
    # Before any row: the K axis, no made-up values on the other.
    assert not view.rows and _value_labels(view.crit_plot) == []
    qtbot.waitUntil(lambda: not view.controller.running and len(view.rows) == 42,
                    timeout=60_000)
    qtbot.wait(100)
    assert _value_labels(view.crit_plot) != []
    assert _value_labels(view.cv_plot) == []         # CV off: no held-out scale made up
    rows = view.rows
    view._on_finished([r for r in rows if r.k <= 2])   # lays the table out anew
    qtbot.wait(200)
    paints = Paints()
    view.graphics.viewport().installEventFilter(paints)
    # A result with other points moves the plots' ranges, as a sweep's end does.
    view._on_finished([r for r in rows if r.k == 1])
    qtbot.wait(200)
    # One paint: the new range was set before it, and the value axis kept its width.
    assert paints.count == 1
    # Cleared for the next sweep, the axis keeps its width too (or the
    # sweep's end would re-lay out the plots to take it back).
    axis = view.crit_plot.getAxis("left")
    width = axis.width()
    assert view.status.text().startswith("Best by BIC: K=")
    view.rows = []
    view.redraw()
    qtbot.wait(100)
    assert _value_labels(view.crit_plot) == [] and axis.width() == width
    assert "Best" not in view.status.text()          # no earlier sweep's best stays
