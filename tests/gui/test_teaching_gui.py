"""Why EM works, on screen: lecture examples in step mode, the bound, collapse, soft
k-means and animation export, driven through the real window."""

import numpy as np
import pytest
from PIL import Image
from PySide6.QtCore import Qt

from gmm_studio.gui.animation import export_animation


def _menu_action(window, *path):
    menu = window.menuBar()
    for title in path[:-1]:
        menu = next(a.menu() for a in menu.actions()
                    if a.menu() is not None and a.text().replace("&", "") == title)
    return next(a for a in menu.actions() if a.text().replace("&", "") == path[-1])


def _cells(table, row):
    return [table.item(row, c).text() for c in range(table.columnCount())]


def _step(window, qtbot, times):
    for _ in range(times):
        qtbot.mouseClick(window.fit_panel.step_button, Qt.MouseButton.LeftButton)


def test_lecture_example_opens_at_its_starting_values_and_steps_by_hand(window, qtbot):
    _menu_action(window, "File", "Samples", "Lecture examples", "1-D: X = 1, 2, 5").trigger()
    assert window.dataset.n_rows == 3 and not window.dataset.preprocessing.standardize
    assert window.tabs.currentWidget() is window.step_view
    np.testing.assert_allclose(window.model.means.ravel(), [1.0, 5.0])
    _step(window, qtbot, 1)  # the E-step
    view = window.step_view
    gammas = [_cells(view.responsibilities, r)[2] for r in range(3)]
    assert gammas == ["0.99966", "0.98201", "0.00034"]
    assert window.ll_plot.gap_text.toPlainText() == "KL gap after the E-step: 0 (closed)"
    _step(window, qtbot, 1)  # the M-step
    rows = [_cells(view.components, r) for r in range(2)]
    assert rows[0][1:] == ["1.98201", "1.4961", "0.25202", "0.66067"]
    assert rows[1][1:] == ["1.01799", "4.9457", "0.16134", "0.33933"]
    assert "0.1613" in view.note.text() and view.note.isVisible()
    assert float(window.ll_plot.gap_text.toPlainText().split(": ")[1]) == pytest.approx(
        0.41063, abs=1e-4)
    x, bound = window.ll_plot.bound_curve.getData()
    assert list(x) == [0.5, 1.0]
    ll = window.ll_plot.step_curve.getData()[1]
    assert bound[0] == pytest.approx(ll[1]) and bound[1] < ll[2]


def test_lecture_settings_do_not_leak_into_other_data(window, qtbot):
    before = window.fit_panel.config()
    window.open_generated("collapse")
    assert window.fit_panel.config().variance_floor == 0.0
    window.open_sample("old_faithful.csv")
    assert window.fit_panel.config() == before


def test_collapse_demo_climbs_then_says_what_the_floor_does(window, qtbot):
    window.open_generated("collapse")
    start = window.ll_plot.step_values[0]
    _step(window, qtbot, 40)
    assert window.ll_plot.step_values[-1] > start + 10
    assert window.messages.level == "warning"
    text = window.messages.messages[0]
    assert "collapsed" in text and "floor" in text and "+∞" in text
    assert "Variance floor off" in window.step_view.note.text() or "collapsed" in (
        window.step_view.note.text())


def test_soft_kmeans_settings_round_trip_and_run(window, qtbot):
    panel = window.fit_panel
    panel.set_config(panel.config().replace(algorithm="soft_kmeans", sigma=2.5,
                                            equal_weights=False, n_components=2))
    assert panel.form.isRowVisible(panel.soft_row) and not panel.covariance.isEnabled()
    config = panel.config()
    assert (config.algorithm, config.sigma, config.equal_weights) == ("soft_kmeans", 2.5, False)
    window.run_fit()
    qtbot.waitUntil(lambda: window.result is not None, timeout=20_000)
    np.testing.assert_allclose(window.model.covariances, 2.5**2)


def test_half_steps_export_as_a_gif_of_the_size_asked(window, qtbot, tmp_path):
    window.open_generated("lecture_2d")
    _step(window, qtbot, 4)
    path = export_animation(window, str(tmp_path / "steps.gif"),
                            {"frames": "half_steps", "size": (480, 360), "fps": 2.0,
                             "format": "gif"})
    with Image.open(path) as image:
        assert image.n_frames == 5 and image.size == (480, 360)
        image.seek(4)
        pixels = np.asarray(image.convert("RGB"))
    assert len(np.unique(pixels.reshape(-1, 3), axis=0)) > 10  # a drawn plot, not blank


def test_a_run_exports_one_frame_per_iteration(window, qtbot, tmp_path):
    window.run_fit()
    qtbot.waitUntil(lambda: window.result is not None, timeout=20_000)
    path = export_animation(window, str(tmp_path / "run.gif"),
                            {"frames": "iterations", "size": (320, 240), "fps": 10.0,
                             "format": "gif"})
    with Image.open(path) as image:
        assert image.n_frames == window.result.n_iter + 1 and image.size == (320, 240)


def test_frames_share_one_view_that_holds_every_model(window, qtbot):
    from gmm_studio.core.teaching.replay import half_step_frames
    from gmm_studio.gui.animation import FrameRenderer

    window.open_generated("lecture_2d")
    ds = window.dataset
    s = window.fitting.stepper
    frames = half_step_frames(ds.X, s.config, s.start, 6)
    renderer = FrameRenderer(ds, window.data_panel.plot_dims(), (400, 300))
    try:
        renderer.hold_view(frames)
        view = renderer.plot.getViewBox()
        held = view.viewRange()
        images = [renderer.render(f) for f in frames]
        assert view.viewRange() == held  # no frame moves the axes
        means = np.vstack([f.model.means for f in frames])
        (x0, x1), (y0, y1) = held
        assert x0 <= means[:, 0].min() and means[:, 0].max() <= x1
        assert y0 <= means[:, 1].min() and means[:, 1].max() <= y1
        assert all(im.shape == (300, 400, 3) for im in images)
        assert not np.array_equal(images[0], images[-1])
    finally:
        renderer.close()


def test_no_step_figure_of_other_data_stays_on_screen(window, qtbot):
    window.open_generated("lecture_1d")
    _step(window, qtbot, 2)
    assert "iteration 1" in window.step_view.heading.text()
    window.open_sample("iris.csv")
    view = window.step_view
    assert "iteration" not in view.heading.text() and "log L" not in view.heading.text()
    assert view.responsibilities.rowCount() == 0 and view.components.rowCount() == 0
    assert not view.note.isVisible() or not view.note.text()
    assert window.ll_plot.gap_text.toPlainText() == ""
    assert window.pairs_view.features.count() == 4 and window.pairs_view.model is None
