"""Results belong to the data on screen (issue: trust what you see)."""

import threading

import numpy as np
import pandas as pd
import pytest

from gmm_studio.core import FitConfig, fit
from gmm_studio.gui import fitting as mw
from gmm_studio.gui.palette import component_color

from .conftest import wait_fit, wait_scored


def _held_fit_job(result, released: threading.Event):
    """A fit job that runs until it is cancelled, then returns ``result``.

    That is what the engine does when the user switches data mid-fit: the
    cancel arrives, the job hands back the model it had, for the old data.
    """
    def factory(X, weights, config, initial_model=None, pace=0.0):
        def job(cancel, report):
            released.wait(10)
            cancel.wait(10)
            return result
        return job
    return factory


@pytest.fixture
def other_fit():
    rng = np.random.default_rng(3)
    X = np.vstack([rng.normal(c, 0.3, size=(80, 2)) for c in (-5, 0, 5, 10, 15)])
    return fit(X, FitConfig(n_components=5, n_init=1, random_state=0))


def test_switching_data_mid_fit_never_shows_or_exports_the_old_fit(
        window, qtbot, other_fit, tmp_path, monkeypatch):
    released = threading.Event()
    monkeypatch.setattr(mw, "fit_job", _held_fit_job(other_fit, released))
    window.open_generated("uneven_sizes")
    window.run_fit()
    assert window.fitting.controller.running
    released.set()
    window.open_sample("old_faithful.csv")      # switch data while the fit runs
    qtbot.wait(300)                              # let any queued signal arrive
    assert not window.fitting.controller.running
    assert window.model is None and window.result is None
    assert window.params.table.rowCount() == 0
    assert "stopped by the user" not in window.last_status
    session = window.sessions.current_session()
    assert session is not None and session.saved_model is None
    out = tmp_path / "model.json"
    monkeypatch.setattr(window, "_ask_save_path", lambda *a: str(out))
    window.exports.export_model()
    assert not out.exists()


def test_a_result_for_other_data_is_refused_even_if_delivered(window, qtbot, other_fit):
    # Defence in depth: whatever reaches the window with another data id is dropped.
    window.open_generated("uneven_sizes")
    old_id = window.dataset.data_id
    window.open_sample("old_faithful.csv")
    assert not window.state.set_model(other_fit.model, old_id, other_fit)
    assert window.model is None


def _run_compare(window, qtbot):
    window.compare_view.run()
    qtbot.waitUntil(lambda: not window.compare_view.controller.running, timeout=20_000)


def _run_sweep(window, qtbot):
    window.select_view.max_k.setValue(3)
    window.select_view.folds.setValue(0)
    window.select_view.run()
    qtbot.waitUntil(lambda: not window.select_view.controller.running, timeout=30_000)


def test_compare_and_choose_k_of_other_data_are_marked_stale(window, qtbot):
    _run_compare(window, qtbot)
    _run_sweep(window, qtbot)
    assert not window.compare_view.stale.stale and not window.select_view.stale.stale
    window.open_sample("iris.csv")
    for view in (window.compare_view, window.select_view):
        assert view.stale.stale
        assert view.messages.level == "warning" and "other data" in view.messages.messages[0]
        assert view.graphics.ci.opacity() < 0.5             # faded
    adopted = []
    window.select_view.adopt.connect(lambda k, kind: adopted.append((k, kind)))
    window.select_view._clicked("full", [_Point(2)])
    assert adopted == []                      # a K chosen on other data is never adopted
    window.open_sample("old_faithful.csv")    # back to the data they belong to
    assert not window.compare_view.stale.stale and not window.select_view.stale.stale
    assert window.compare_view.graphics.ci.opacity() == 1.0


def test_recompute_makes_a_stale_sweep_current(window, qtbot):
    _run_sweep(window, qtbot)
    window.open_sample("iris.csv")
    assert window.select_view.stale.stale
    window.select_view.messages.action_button.click()   # Recompute
    qtbot.waitUntil(lambda: not window.select_view.controller.running, timeout=30_000)
    assert not window.select_view.stale.stale
    assert window.select_view.stale.results_id == window.dataset.data_id


class _Point:
    def __init__(self, k):
        self.k = k

    def pos(self):
        from PySide6.QtCore import QPointF
        return QPointF(self.k, 0.0)


def test_new_data_leaves_no_column_headers_of_the_old(window, qtbot):
    window.run_fit()
    wait_fit(qtbot, window)
    window.tabs.setCurrentWidget(window.anomaly_view)
    wait_scored(qtbot, window)
    assert window.anomaly_view.model.columnCount() > 0
    assert window.anomaly_view.line.isVisible()
    window.open_sample("iris.csv")
    assert window.anomaly_view.model.columnCount() == 0
    assert not window.anomaly_view.line.isVisible()      # no threshold of the old model
    assert not window.anomaly_view.plot.getAxis("bottom").style["showValues"]
    assert not window.ll_plot.getAxis("left").style["showValues"]   # no old scale either
    headers = window.table_view.model.headers
    assert "eruptions" not in headers and "sepal_length" in headers
    assert window.params.means.rowCount() == 0


def _status_log_l(text):
    return float(text.split("log L ")[1].split(" ")[0])


def test_log_likelihood_is_in_the_files_units_everywhere(window, qtbot):
    window.fit_panel.set_config(FitConfig(n_components=2, n_init=3))
    window.run_fit()
    wait_fit(qtbot, window)
    plain = window.result.log_likelihood
    window.data_panel.standardize.setChecked(True)
    window.run_fit()
    wait_fit(qtbot, window)
    ds, result = window.dataset, window.result
    in_file_units = result.criteria(ds.preprocessing.log_jacobian())[0]
    assert abs(result.log_likelihood - in_file_units) > 100    # z-score units differ a lot
    assert _status_log_l(window.last_status) == pytest.approx(in_file_units, abs=0.01)
    assert in_file_units == pytest.approx(plain, rel=1e-6)     # full covariance: invariant
    curve = window.ll_plot.curves[result.best_restart]
    assert curve.getData()[1][-1] == pytest.approx(in_file_units, rel=1e-9)
    _run_compare(window, qtbot)
    soft = window.compare_view.rows[-1]
    assert soft.log_likelihood == pytest.approx(_status_log_l(window.last_status), abs=0.01)
    window.reset()
    window.step()
    window.step()
    window.step()
    assert _status_log_l(window.last_status) < -1000           # data units in step mode too
    assert window.ll_plot.step_values[-1] < -1000


def test_clicking_the_starred_best_point_adopts_it(window, qtbot):
    from PySide6.QtCore import QPoint, Qt

    view = window.select_view
    window.tabs.setCurrentWidget(view)
    _run_sweep(window, qtbot)
    qtbot.wait(200)
    star = view.crit_star.points()[0]
    kind = star.data()
    scene = view.crit_plot.getViewBox().mapViewToScene(star.pos())
    where = view.graphics.mapFromScene(scene)
    with qtbot.waitSignal(view.adopt, timeout=2000) as blocker:
        qtbot.mouseClick(view.graphics.viewport(), Qt.MouseButton.LeftButton,
                         pos=QPoint(int(where.x()), int(where.y())))
    assert blocker.args == [int(star.pos().x()), kind]


def test_table_and_anomaly_scores_are_computed_off_the_gui_thread(window, qtbot, tmp_path,
                                                                  monkeypatch):
    from gmm_studio.core.files import labels as export


    def never(*_a, **_k):
        raise AssertionError("the Table tab must not label every row on the GUI thread")

    monkeypatch.setattr(export, "labelled_frame", never)
    rng = np.random.default_rng(0)
    path = tmp_path / "big.csv"
    pd.DataFrame(rng.normal(size=(120_000, 2)), columns=["a", "b"]).to_csv(path, index=False)
    assert window.open_path(path, background=False)
    window.fit_panel.set_config(FitConfig(n_components=3, n_init=1, max_iter=5))
    window.run_fit()
    wait_fit(qtbot, window)
    window.tabs.setCurrentWidget(window.table_view)
    assert window.linked.scorer.running            # scoring went to a worker thread
    wait_scored(qtbot, window)
    model = window.table_view.model
    assert model.rowCount() == 120_000
    p_col = model.headers.index("p_1")
    row = 777
    position = int(model.order[row])
    expected = window.model.predict_proba(window.dataset.X[position:position + 1])[0, 1]
    assert model.value(row, p_col) == pytest.approx(expected, rel=1e-12)
    assert len(model._proba) <= 64          # only blocks of shown rows were computed


def test_a_half_step_on_big_data_runs_in_the_worker(window, qtbot, tmp_path):
    rng = np.random.default_rng(1)
    path = tmp_path / "big.csv"
    pd.DataFrame(rng.normal(size=(120_000, 2)), columns=["a", "b"]).to_csv(path, index=False)
    assert window.open_path(path, background=False)
    window.step()
    assert window.fitting.step_controller.running
    qtbot.waitUntil(lambda: not window.fitting.step_controller.running, timeout=20_000)
    assert window.model is not None and "initial model" in window.last_status
    window.step()
    qtbot.waitUntil(lambda: not window.fitting.step_controller.running, timeout=20_000)
    assert "E-step" in window.last_status


def test_a_ragged_file_is_refused_and_the_data_kept(window, tmp_path):
    path = tmp_path / "wine_data.csv"
    path.write_text("a,b,c,d,e\n" + "\n".join(",".join(["1.5"] * 14) for _ in range(5)) + "\n")
    before = window.dataset
    assert not window.open_path(path)
    assert window.dataset is before
    assert window.messages.level == "error"
    assert "line 2 has 14 fields but its header names 5" in window.messages.messages[0]


def test_exported_labels_join_back_to_every_input_row(window, qtbot, tmp_path, monkeypatch):
    path = tmp_path / "gaps.csv"
    frame = pd.DataFrame({"a": [1.0, 2.0, np.nan, 8.0, 9.0, 10.0, 1.5],
                          "b": [1.0, np.nan, 3.0, 8.0, 9.5, 9.0, 1.2]})
    frame.to_csv(path, index=False)
    assert window.open_path(path)
    window.fit_panel.set_config(FitConfig(n_components=2, n_init=1))
    window.run_fit()
    wait_fit(qtbot, window)
    out = tmp_path / "labels.csv"
    monkeypatch.setattr(window, "_ask_save_path", lambda *a: str(out))
    window.exports.export_labels()
    window.open_sample("iris.csv")      # new data while the labels are written
    qtbot.waitUntil(lambda: not window.exports.exporter.running, timeout=10_000)
    assert str(out) in window.messages.messages[0]
    labels = pd.read_csv(out)           # still the labels of the data they were asked for
    assert len(labels) == len(frame) and list(labels["row"]) == list(range(1, 8))
    joined = frame.assign(row=range(1, 8)).merge(labels, on="row", suffixes=("", "_l"))
    assert len(joined) == 7
    assert labels.loc[1, "excluded"] == "missing value in b"
    assert labels.loc[2, "excluded"] == "missing value in a"
    assert labels["cluster"].isna().sum() == 2 and labels["excluded"].isna().sum() == 5


def test_new_data_resets_the_anomaly_quantile(window, qtbot):
    window.anomaly_view.quantile.setValue(6.25)
    window.open_sample("iris.csv")
    assert window.anomaly_view.quantile.value() == pytest.approx(1.0)


def test_compare_panels_colour_matching_components_alike(window, qtbot):
    window.open_generated("anisotropic")
    _run_compare(window, qtbot)
    rows = window.compare_view.rows
    reference = rows[-1].result.labels
    for panel, row in zip(window.compare_view.panels, rows, strict=True):
        labels = row.result.labels
        for j in range(row.result.model.n_components):
            members = labels == j
            # The soft-EM component these rows mostly belong to gives the colour.
            main = np.bincount(reference[members], minlength=3).argmax()
            pen = panel.curves[j].opts["pen"]
            assert pen.color().name() == component_color(int(main)).name()


def test_the_tab_bar_stays_put_and_the_title_names_the_file(window, qtbot):
    sizes = window.splitter.sizes()
    for i in range(window.tabs.count()):
        window.tabs.setCurrentIndex(i)
        assert window.splitter.sizes() == sizes
    assert window.windowTitle().startswith("old_faithful.csv")
    window.open_sample("iris.csv")
    assert window.windowTitle().startswith("iris.csv")
    assert "150 rows, 5 columns" in window.data_panel.file_label.text()


def test_every_fit_control_has_a_tooltip(window):
    from PySide6.QtWidgets import QAbstractButton, QAbstractSpinBox, QComboBox

    panel = window.fit_panel
    controls = [w for kind in (QComboBox, QAbstractSpinBox, QAbstractButton)
                for w in panel.findChildren(kind) if w.parent() is panel]
    assert len(controls) >= 14
    assert [w for w in controls if not w.toolTip()] == []


def test_png_export_is_twice_the_size_with_a_legend(window, qtbot, tmp_path, monkeypatch):
    from PySide6.QtGui import QImage

    window.fit_panel.set_config(FitConfig(n_components=3, n_init=1))
    window.run_fit()
    wait_fit(qtbot, window)
    seen = []
    real = window.plot.render
    monkeypatch.setattr(window.plot, "render",
                        lambda painter, *args: (seen.append(len(window.plot.legend.items)),
                                                real(painter, *args)))
    out = tmp_path / "plot.png"
    monkeypatch.setattr(window, "_ask_save_path", lambda *a: str(out))
    window.exports.export_plot()
    image = QImage(str(out))
    assert (image.width(), image.height()) == (2 * window.plot.width(), 2 * window.plot.height())
    assert seen == [3]                       # the legend names the three components
    assert not window.plot.legend.isVisible()
    # The whole plot is scaled, not its top-left quarter drawn at 1:1: the
    # bottom-right quarter has the axis labels' ink too.
    corner = image.copy(image.width() // 2, image.height() // 2, image.width() // 2,
                        image.height() // 2)
    ink = sum(corner.pixelColor(x, y).lightness() < 128
              for x in range(0, corner.width(), 4) for y in range(0, corner.height(), 4))
    assert ink > 20


def test_step_after_run_goes_on_from_the_fit_and_run_after_steps_too(window, qtbot):
    window.fit_panel.set_config(FitConfig(n_components=2, n_init=1, max_iter=3, tol=0.0))
    window.run_fit()
    wait_fit(qtbot, window)
    fitted = window.model
    window.step()                                            # an E-step of that model
    assert window.fitting.stepper.model is fitted and window.fitting.stepper.phase == "M"
    window.step()
    stepped = window.model
    assert stepped is not fitted and window.fitting.stepper.iteration == 1
    window.run_fit()
    wait_fit(qtbot, window)
    # A run from the stepped model: its first log-likelihood is the stepped model's.
    first = window.result.log_likelihood_history[0]
    assert first == pytest.approx(stepped.log_likelihood(window.dataset.X), rel=1e-12)


def test_a_slow_speed_reports_every_iteration(window, qtbot, monkeypatch):
    seen = []
    window.fitting.controller.progress.connect(lambda p: seen.append(p.snapshot.iteration))
    window.fit_panel.set_config(FitConfig(n_components=2, n_init=1, max_iter=6, tol=0.0))
    window.fit_panel.speed.setCurrentIndex(window.fit_panel.speed.findData(20.0))
    window.run_fit()
    wait_fit(qtbot, window)
    assert seen == list(range(0, 7))


def test_choose_k_searches_as_select_does_by_default(window, qtbot, monkeypatch):
    from gmm_studio.gui import select_view

    seen = []
    real = select_view.make_job
    monkeypatch.setattr(select_view, "make_job",
                        lambda target, X, ks, types, base, *rest: (seen.append(base),
                                                                   real(target, X, ks, types,
                                                                        base, *rest))[1])
    window.fit_panel.set_config(FitConfig(n_init=1, init="kmeans++", random_state=7))
    _run_sweep(window, qtbot)
    assert seen[-1].init == "hierarchical" and seen[-1].n_init == 4
    assert seen[-1].random_state == 7                 # the Fit panel's seed still counts
    view = window.select_view
    view.search.setCurrentIndex(view.search.findData("panel"))
    _run_sweep(window, qtbot)
    assert seen[-1].init == "kmeans++" and seen[-1].n_init == 1


def test_the_window_fits_a_1280_pixel_wide_screen(window):
    assert window.minimumSizeHint().width() <= 1280
