"""The studio window, driven through its real widgets (offscreen)."""


import numpy as np
import pandas as pd
import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QFontDatabase

from gmm_studio.core import FitConfig

from .conftest import wait_fit


def ellipse_groups(win):
    return [item for item in win.plot.component_items if item.getData()[0] is not None
            and len(item.getData()[0])]


def test_a_real_font_is_available(qapp):
    assert QFontDatabase.families(), "no fonts: every label would render as empty boxes"


def test_default_window_shows_old_faithful(window):
    assert "old_faithful.csv" in window.data_panel.file_label.text()
    assert window.dataset.n_rows == 272
    assert window.data_panel.checked_features() == ["eruptions", "waiting"]
    assert len(window.plot.scatter) == 272
    assert "ready" in window.last_status


def test_run_draws_k_ellipse_groups_and_one_point_per_iteration(window, qtbot):
    window.fit_panel.set_config(FitConfig(n_components=3, n_init=2))
    qtbot.mouseClick(window.fit_panel.run_button, Qt.MouseButton.LeftButton)
    wait_fit(qtbot, window)
    result = window.result
    assert result is not None and result.converged
    assert len(ellipse_groups(window)) == 3
    kept = window.ll_plot.curves[result.best_restart]
    x, y = kept.getData()
    assert len(x) == result.n_iter + 1
    np.testing.assert_allclose(y, result.log_likelihood_history)
    assert "converged" in window.last_status
    assert window.params.table.rowCount() == 3


def test_stop_during_a_long_fit_stops_quickly(window, qtbot, tmp_path):
    rng = np.random.default_rng(0)
    path = tmp_path / "big.csv"
    pd.DataFrame(rng.normal(size=(200_000, 2)), columns=["a", "b"]).to_csv(path, index=False)
    assert window.open_path(path)
    window.fit_panel.set_config(FitConfig(n_components=8, max_iter=100_000, tol=0.0))
    window.run_fit()
    qtbot.waitUntil(lambda: window.model is not None, timeout=20_000)
    qtbot.mouseClick(window.fit_panel.stop_button, Qt.MouseButton.LeftButton)
    wait_fit(qtbot, window, timeout=5_000)
    assert window.result is not None and window.result.status == "cancelled"
    assert window.result.n_iter < 100_000  # stopped, not run to its end


def test_closing_during_a_fit_leaves_no_thread(qtbot, tmp_path):
    from gmm_studio.gui.app import create_window

    win = create_window([])
    qtbot.addWidget(win)
    rng = np.random.default_rng(1)
    path = tmp_path / "big.csv"
    pd.DataFrame(rng.normal(size=(100_000, 3)), columns=list("abc")).to_csv(path, index=False)
    win.open_path(path)
    win.fit_panel.set_config(FitConfig(max_iter=100_000, tol=0.0))
    win.run_fit()
    qtbot.waitUntil(lambda: win.model is not None, timeout=20_000)
    win.close()
    assert not win.fitting.controller.running  # the fixture also fails any live QThread


def test_step_alternates_e_and_m_and_likelihood_climbs(window, qtbot):
    statuses = []
    for _ in range(13):
        qtbot.mouseClick(window.fit_panel.step_button, Qt.MouseButton.LeftButton)
        statuses.append(window.last_status)
    assert "initial model" in statuses[0]
    assert all("E-step" in s.split("·")[1] for s in statuses[1::2])
    assert all("M-step" in s.split("·")[1] for s in statuses[2::2])
    values = window.ll_plot.step_values
    assert len(values) == 7
    assert np.all(np.diff(values) >= -1e-9 * abs(values[-1]))


def test_broken_file_shows_error_and_keeps_data(window, tmp_path):
    before = window.dataset
    bad = tmp_path / "bad.csv"
    bad.write_bytes(b"\x00\x01\x02binary")
    assert not window.open_path(bad)
    assert window.messages.isVisible() or window.messages.level == "error"
    assert window.messages.level == "error" and "bad.csv" in window.messages.messages[0]
    assert window.dataset is before


def test_impossible_setting_keeps_results(window, qtbot, tmp_path):
    small = tmp_path / "small.csv"
    pd.DataFrame({"a": np.arange(10.0), "b": np.arange(10.0) ** 2}).to_csv(small, index=False)
    assert window.open_path(small)
    window.fit_panel.k.setValue(2)
    window.run_fit()
    wait_fit(qtbot, window)
    kept = window.result
    assert kept is not None
    window.fit_panel.k.setValue(50)
    window.run_fit()
    wait_fit(qtbot, window)
    assert window.messages.level == "error"
    assert "K=50 components need at least 50 rows" in window.messages.messages[0]
    assert window.result is kept and window.model is kept.model
    assert window.dataset.n_rows == 10
    assert len(ellipse_groups(window)) == 2


def test_one_feature_shows_histogram_and_densities(window, qtbot):
    window.data_panel.set_checked(["waiting"])
    assert window.plot.dims == (0, None)
    window.run_fit()
    wait_fit(qtbot, window)
    x, heights = window.plot.hist.getData()
    assert len(heights) > 5
    gx, total = window.plot.total.getData()
    assert np.all(total > 0) and len(ellipse_groups(window)) == 3


def test_iris_four_features_plots_chosen_pair(window, qtbot):
    window.open_sample("iris.csv")
    assert len(window.dataset.feature_names) == 4
    window.data_panel.x_box.setCurrentText("petal_length")
    window.data_panel.y_box.setCurrentText("petal_width")
    window.run_fit()
    wait_fit(qtbot, window)
    assert window.plot.dims == (2, 3)
    assert len(ellipse_groups(window)) == 3


def test_exports_write_files(window, qtbot, tmp_path, monkeypatch):
    window.run_fit()
    wait_fit(qtbot, window)
    targets = iter([tmp_path / "l.csv", tmp_path / "m.json", tmp_path / "p.png"])
    monkeypatch.setattr(window, "_ask_save_path", lambda *a: str(next(targets)))
    window.exports.export_labels()
    window.exports.export_model()
    window.exports.export_plot()
    assert len(pd.read_csv(tmp_path / "l.csv")) == 272
    assert '"gmm-studio-model"' in (tmp_path / "m.json").read_text()
    assert (tmp_path / "p.png").read_bytes()[:4] == b"\x89PNG"


def test_stale_run_progress_is_dropped(window, qtbot):
    seen = []
    window.fitting.controller.progress.connect(seen.append)
    window.fitting.controller.run_id = 5
    window.fitting.controller._on_progress(4, object())
    window.fitting.controller._flush()
    assert seen == []


@pytest.mark.parametrize("supersedes", [False, True])
def test_a_result_that_supersedes_progress_drops_the_pending_one(qtbot, supersedes):
    from gmm_studio.gui.controller import JobController

    def job(cancel, report):
        report("halfway")
        return "done"

    # A timer that never fires in the test: the progress is still pending at the end.
    controller = JobController(redraw_ms=60_000, result_supersedes=supersedes)
    seen = []
    controller.progress.connect(lambda p: seen.append(("progress", p)))
    controller.finished.connect(lambda r: seen.append(("finished", r)))
    controller.start(job)
    qtbot.waitUntil(lambda: not controller.running, timeout=5_000)
    assert seen == ([] if supersedes else [("progress", "halfway")]) + [("finished", "done")]


def test_settings_are_remembered(qtbot, window):
    window.fit_panel.k.setValue(5)
    window.run_fit()
    wait_fit(qtbot, window)
    window.close()
    from gmm_studio.gui.app import create_window

    again = create_window([])
    qtbot.addWidget(again)
    assert again.fit_panel.k.value() == 5
    again.close()


def test_compare_view_fits_four_methods_side_by_side(window, qtbot):
    window.open_generated("anisotropic")
    assert window.data_panel.label_column() == "truth"
    view = window.compare_view
    qtbot.mouseClick(view.run_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not view.controller.running and len(view.rows) == 4, timeout=30_000)
    ari = {r.algorithm: r.ari_truth for r in view.rows}
    assert ari["em"] > ari["kmeans"]
    assert view.table.rowCount() == 4 and view.agreement.rowCount() == 4
    assert view.table.item(3, 8).text() == f"{ari['em']:.3f}"
    assert all(len(p.points) > 0 for p in view.panels)
    linked = view.panels[1].plot.getViewBox().linkedView(0)
    assert linked is view.panels[0].plot.getViewBox()


def test_compare_can_be_cancelled(window, qtbot, tmp_path):
    path = tmp_path / "big.csv"
    pd.DataFrame(np.random.default_rng(0).normal(size=(150_000, 2)), columns=["a", "b"]).to_csv(
        path, index=False)
    window.open_path(path)
    window.fit_panel.set_config(FitConfig(n_components=6, max_iter=100_000, tol=0.0))
    view = window.compare_view
    view.run()
    qtbot.waitUntil(lambda: view.progress.format() != "", timeout=20_000)
    view.cancel_button.click()
    qtbot.waitUntil(lambda: not view.controller.running, timeout=5_000)
    # Stopped during k-means (the first method): not all three were fitted.
    assert len(view.rows) < 3
    assert view.progress.format() == "cancelled"


def test_choose_k_sweep_progress_and_click_to_adopt(window, qtbot):
    view = window.select_view
    view.max_k.setValue(4)
    view.folds.setValue(3)
    for kind, box in view.types.items():
        box.setChecked(kind in ("full", "tied"))
    qtbot.mouseClick(view.run_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not view.controller.running and len(view.rows) == 8,
                    timeout=60_000)
    assert view.progress.value() == view.progress.maximum() == 8 + 5   # 5 refined
    assert "Best by BIC: K=3, tied" in view.status.text()
    points = view.crit_curves["tied"].scatter.points()
    view._clicked("tied", [points[1]])
    assert window.fit_panel.k.value() == 2
    assert window.fit_panel.covariance.currentData() == "tied"


def test_choose_k_on_big_data_says_how_rows_were_scored(window, qtbot, monkeypatch):
    # Above SUBSAMPLE_ABOVE rows each fit is scored after two passes over all
    # rows: the table must not call every row "did not converge", and the
    # status line says once how the rows were scored. (Thresholds lowered so
    # Old Faithful's 272 rows count as big and the sweep stays in-process.)
    from gmm_studio.core.analysis import subsample
    from gmm_studio.gui import select_view

    monkeypatch.setattr(subsample, "SUBSAMPLE_ABOVE", 200)
    monkeypatch.setattr(subsample, "SUBSAMPLE_ROWS", 150)
    monkeypatch.setattr(select_view, "SUBSAMPLE_ABOVE", 200)
    view = window.select_view
    view.max_k.setValue(3)
    view.models.choose(["full", "tied"])
    view.run()
    qtbot.waitUntil(lambda: not view.controller.running and len(view.rows) == 6,
                    timeout=60_000)
    assert all(r.converged for r in view.rows)      # each converged on the subsample
    notes = [view.ranking.item(i, 5).text() for i in range(view.ranking.rowCount())]
    assert "did not converge" not in notes
    assert "150-row subsample and is scored after 2 EM iterations" in view.status.text()
    window.open_sample("iris.csv")              # not big: the note goes with the sweep
    view.run()
    qtbot.waitUntil(lambda: not view.controller.running and len(view.rows) == 6,
                    timeout=60_000)
    assert "subsample" not in view.status.text()


def test_choose_k_cancel(window, qtbot):
    from gmm_studio.core import COVARIANCE_TYPES

    view = window.select_view
    # 30 x 14 fits take many seconds, so the sweep cannot end before Cancel
    # (with 12 x 4 it sometimes finished first on a fast machine).
    view.max_k.setValue(30)
    view.models.choose(list(COVARIANCE_TYPES))
    view.run()
    qtbot.waitUntil(lambda: view.progress.value() >= 1, timeout=30_000)
    view.cancel_button.click()
    qtbot.waitUntil(lambda: not view.controller.running, timeout=10_000)
    assert 1 <= len(view.rows) < 30 * 14


def test_dropping_a_file_opens_it(window, tmp_path):
    from PySide6.QtCore import QMimeData, QPointF, QUrl
    from PySide6.QtGui import QDropEvent

    path = tmp_path / "dropped.csv"
    pd.DataFrame({"u": np.arange(30.0), "v": np.arange(30.0) % 7}).to_csv(path, index=False)
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(path))])
    event = QDropEvent(QPointF(10, 10), Qt.DropAction.CopyAction, mime,
                       Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)
    window.dropEvent(event)
    assert "dropped.csv" in window.data_panel.file_label.text()
    assert window.dataset.feature_names == ("u", "v")
    assert str(path) in window.settings.value("files/recent", [])


def test_quitting_gives_garbage_collection_back_to_python(qapp):
    import gc

    from gmm_studio.gui import gcguard

    gcguard.install()
    assert not gc.isenabled()   # no automatic collection on engine threads
    gcguard.uninstall()         # what the application's aboutToQuit does
    assert gc.isenabled()
    gcguard.install()
    assert not gc.isenabled()


def test_views_hold_still_while_fitting_then_show_everything(window, qtbot):
    window.fit_panel.set_config(FitConfig(n_components=3, n_init=2))
    window.run_fit()
    wait_fit(qtbot, window)
    model = window.result.model
    vb = window.plot.getViewBox()
    window.plot.set_model(model, live=True)  # a redraw during a fit
    assert not any(vb.autoRangeEnabled())    # no autorange, so no axis regeneration
    window.plot.set_model(model)             # the fit's last draw
    assert all(vb.autoRangeEnabled())
    qtbot.wait(50)
    (x0, x1), (y0, y1) = vb.viewRange()
    for item in ellipse_groups(window):
        x, y = item.getData()
        x, y = x[np.isfinite(x)], y[np.isfinite(y)]
        assert x0 <= x.min() and x.max() <= x1 and y0 <= y.min() and y.max() <= y1
    (_, lx1), (ly0, ly1) = window.ll_plot.getViewBox().viewRange()
    for curve in window.ll_plot.curves.values():
        x, y = curve.getData()
        assert x.max() <= lx1 and ly0 <= y.min() and y.max() <= ly1


def test_a_message_floats_over_the_plot_without_moving_it(window, qtbot):
    window.show()
    qtbot.waitExposed(window)
    before = window.plot.geometry()
    window.messages.show_messages("warning", ["a long warning " * 30])
    qtbot.wait(50)
    assert window.messages.isVisible()
    assert window.plot.geometry() == before  # no re-layout of the plots
    bar, host = window.messages.geometry(), window.centralWidget().rect()
    assert host.contains(bar) and bar.height() >= 2 * window.messages.label.fontMetrics().height()


def test_garbage_made_on_an_engine_thread_is_collected_on_the_gui_thread(qtbot):
    import gc
    import threading

    from gmm_studio.gui import gcguard

    gcguard.install()
    assert not gc.isenabled()
    finalised = []

    class Node:
        def __del__(self):
            finalised.append(threading.get_ident())

    def make_cycles():
        for _ in range(50):
            a, b = Node(), Node()
            a.other, b.other = b, a          # only the cycle collector frees these

    worker = threading.Thread(target=make_cycles)
    worker.start()
    worker.join()
    qtbot.waitUntil(lambda: len(finalised) == 100, timeout=5_000)
    assert set(finalised) == {threading.get_ident()}   # all on the GUI thread
