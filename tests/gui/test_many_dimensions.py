"""Many dimensions in the window: PCA and discriminant axes, the Parameters tab at D = 13."""

import numpy as np
import pytest

from gmm_studio.core import FitConfig
from gmm_studio.core.model.geometry import data_space, ellipse_paths


def _fit_wine(window, qtbot, covariance_type="full"):
    window.open_sample("wine.csv")
    window.data_panel.standardize.setChecked(True)
    window.fit_panel.set_config(FitConfig(n_components=3, covariance_type=covariance_type,
                                          n_init=2))
    window.run_fit()
    qtbot.waitUntil(lambda: window.result is not None, timeout=30_000)


def _choose_axes(window, kind):
    box = window.data_panel.axes_box
    box.setCurrentIndex(box.findData(kind))


def test_wine_on_pca_axes_draws_the_projected_components(window, qtbot):
    _fit_wine(window, qtbot)
    assert window.data_panel.label_column() == "cultivar"
    _choose_axes(window, "pca")
    plot = window.plot
    assert plot.projection.kind == "pca"
    assert plot.getAxis("bottom").labelText.startswith("PC1 (")
    assert not window.data_panel.x_box.isEnabled()
    means, covs = data_space(window.model, window.dataset.preprocessing)
    m2, c2 = plot.projection.gaussians(means, covs)
    x, y = plot.component_items[1].getData()
    expected = ellipse_paths(m2[1], c2[1])
    np.testing.assert_allclose(x, expected[:, 0], equal_nan=True)
    np.testing.assert_allclose(y, expected[:, 1], equal_nan=True)
    np.testing.assert_allclose(plot.xy, plot.projection.points(plot.raw))


def test_discriminant_axes_follow_the_fitted_model(window, qtbot):
    window.open_sample("wine.csv")
    _choose_axes(window, "discriminant")
    assert window.plot.projection.kind == "pca"  # no model yet
    assert "need a fitted model" in window.last_status
    _fit_wine(window, qtbot)
    _choose_axes(window, "discriminant")
    assert window.plot.projection.kind == "discriminant"
    assert window.plot.getAxis("left").labelText.startswith("DR2 (λ ")
    # The three cultivars' centres sit further apart, in within-cluster sds, than on PCA.
    means, covs = data_space(window.model, window.dataset.preprocessing)
    dr = window.plot.projection.gaussians(means, covs)[0]
    assert np.ptp(dr, axis=0).max() > 3


def test_parameters_tab_stays_readable_at_thirteen_features(window, qtbot):
    _fit_wine(window, qtbot)
    view = window.params
    assert view.table.rowCount() == 3 and view.table.columnCount() == 6
    sizes = [int(view.table.item(k, 2).text()) for k in range(3)]
    assert sum(sizes) == 178
    view.table.selectRow(2)
    assert view.chosen == 2 and view.means.rowCount() == 13
    means, covs = data_space(window.model, window.dataset.preprocessing)
    assert float(view.means.item(12, 1).text()) == pytest.approx(means[2, 12], rel=1e-4)
    image = view.image.image
    sd = np.sqrt(np.diag(covs[2]))
    np.testing.assert_allclose(image, (covs[2] / np.outer(sd, sd)).T, rtol=1e-12)
    window.open_sample("old_faithful.csv")
    assert view.table.rowCount() == 0 and view.means.rowCount() == 0


def test_pairs_tab_draws_every_pair_and_shares_the_selection(window, qtbot):
    from PySide6.QtCore import QRectF, Qt

    _fit_wine(window, qtbot)
    view = window.pairs_view
    assert view.features.count() == 13 and view.chosen == list(range(8))
    assert len(view.panels) == 8 * 9 // 2
    view.features.item(0).setCheckState(Qt.CheckState.Unchecked)
    assert view.chosen == list(range(1, 8)) and len(view.panels) == 28
    pair = view.panels[(1, 0)]  # y = feature 2 (ash), x = feature 1 (malic_acid)
    assert (pair["x"], pair["y"]) == (1, 2)
    means, covs = data_space(window.model, window.dataset.preprocessing)
    x, y = pair["ellipses"][0].getData()
    np.testing.assert_allclose(np.nanmean(x[:-1]), means[0, 1], rtol=1e-2)
    window.linked._select_one(7)
    assert len(pair["halo"].x) == 1 and pair["halo"].x[0] == window.dataset.raw[7, 1]
    raw = window.dataset.raw
    boxed = []
    view.rows_boxed.connect(boxed.append)
    rect = QRectF(raw[:, 1].min(), raw[:, 2].min(), np.ptp(raw[:, 1]) / 2, np.ptp(raw[:, 2]))
    pair["plot"].getViewBox().box_selected.emit(rect)
    inside = np.flatnonzero(raw[:, 1] <= raw[:, 1].min() + np.ptp(raw[:, 1]) / 2)
    np.testing.assert_array_equal(boxed[0], inside)
    assert window.tabs.currentWidget() is window.table_view  # as a box in the main plot does
    assert len(pair["halo"].x) == len(inside)
