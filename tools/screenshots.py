"""Render the window's main states to docs/screenshots/*.png.

Run under a real X server so fonts and widgets look as users see them:

    xvfb-run -a -s "-screen 0 1280x1024x24" env QT_QPA_PLATFORM=xcb \\
        python tools/screenshots.py

States: default, mid-fit, converged, step mode, 1-D data, 4-D Iris, the
comparison on each sample, Choose K on Old Faithful and Iris (K = 1..9, the
fourteen models), the covariance chooser open, the lecture examples in
step mode (Step table, log L and the bound), the collapse demo, Wine on
PCA and discriminant axes, its Pairs tab, and the noise component.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("PYQTGRAPH_QT_LIB", "PySide6")
os.environ.setdefault("GMM_STUDIO_CONFIG_DIR", tempfile.mkdtemp(prefix="gmm-shots-"))

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from PySide6.QtCore import QEventLoop, QTimer  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from gmm_studio.core import FitConfig, fit  # noqa: E402
from gmm_studio.gui.app import create_window  # noqa: E402
from gmm_studio.jobs import Progress  # noqa: E402

OUT = Path(__file__).resolve().parents[1] / "docs" / "screenshots"


def settle(ms: int = 300) -> None:
    """Let Qt lay out and paint."""
    loop = QEventLoop()
    QTimer.singleShot(ms, loop.quit)
    loop.exec()


def wait_fit(window) -> None:
    while window.fitting.controller.running:
        settle(50)
    settle()


def shoot(window, name: str) -> None:
    settle()
    path = OUT / f"{name}.png"
    window.grab().save(str(path))
    print(path)


def main() -> int:
    app = QApplication.instance() or QApplication(sys.argv[:1])
    OUT.mkdir(parents=True, exist_ok=True)
    window = create_window([])
    window.resize(1280, 860)
    window.fit_panel.set_config(FitConfig(n_components=3, n_init=3, random_state=1))
    shoot(window, "default")

    # Mid-fit: exactly what the window draws when the worker reports iteration 4.
    snaps = []
    fit(window.dataset.X, window.fit_panel.config().replace(n_init=1), callback=snaps.append)
    mid = snaps[4]
    histories = {0: np.array([s.log_likelihood for s in snaps[:5]])}
    window.fitting._on_progress(Progress(mid, histories))
    shoot(window, "mid-fit")

    window.run_fit()
    wait_fit(window)
    shoot(window, "converged")

    window.reset()
    for _ in range(8):
        window.step()
    shoot(window, "step-mode")

    window.data_panel.set_checked(["waiting"])
    window.run_fit()
    wait_fit(window)
    shoot(window, "one-feature")

    window.open_sample("iris.csv")
    window.data_panel.label_box.setCurrentText("species")
    window.data_panel.x_box.setCurrentText("petal_length")
    window.data_panel.y_box.setCurrentText("sepal_width")
    window.run_fit()
    wait_fit(window)
    window.tabs.setCurrentWidget(window.params)
    shoot(window, "iris-4d")

    window.tabs.setCurrentWidget(window.compare_view)
    for key in ("anisotropic", "unequal_variance", "uneven_sizes", "iris.csv"):
        if key.endswith(".csv"):
            window.open_sample(key)
            window.data_panel.x_box.setCurrentText("petal_length")
            window.data_panel.y_box.setCurrentText("petal_width")
        else:
            window.open_generated(key)
        window.compare_view.run()
        while window.compare_view.controller.running:
            settle(50)
        shoot(window, f"compare-{key.removesuffix('.csv').replace('_', '-')}")

    window.tabs.setCurrentWidget(window.select_view)
    for name in ("old_faithful.csv", "iris.csv"):
        window.open_sample(name)
        window.select_view.max_k.setValue(9)
        window.select_view.run()
        while window.select_view.controller.running:
            settle(100)
        shoot(window, f"choose-k-{name.removesuffix('.csv').replace('_', '-')}")

    # The covariance chooser open: a popup is its own window, so grab the screen.
    window.tabs.setCurrentWidget(window.ll_plot)
    window.fit_panel.covariance.showPopup()
    settle(500)
    path = OUT / "covariance-chooser.png"
    app.primaryScreen().grabWindow(0).save(str(path))
    print(path)
    window.fit_panel.covariance.hidePopup()

    # Why EM works: the lectures' examples in step mode, the bound and its gap.
    window.open_generated("lecture_1d")
    window.step()
    window.step()
    shoot(window, "lecture-1d-step-table")
    window.step()
    window.step()
    window.step()
    window.tabs.setCurrentWidget(window.ll_plot)
    shoot(window, "lecture-1d-bound")
    window.open_generated("lecture_2d")
    window.step()
    window.step()
    window.tabs.setCurrentWidget(window.step_view)
    shoot(window, "lecture-2d-step-table")
    window.open_generated("collapse")
    for _ in range(40):
        window.step()
    window.tabs.setCurrentWidget(window.ll_plot)
    shoot(window, "collapse")

    # Many dimensions: Wine (13 features) on PCA and discriminant axes, the
    # Pairs tab and the Parameters tab.
    window.open_sample("wine.csv")
    window.data_panel.standardize.setChecked(True)
    window.fit_panel.set_config(FitConfig(n_components=3, covariance_type="VVI", n_init=3))
    window.run_fit()
    wait_fit(window)
    for axes in ("pca", "discriminant"):
        window.data_panel.axes_box.setCurrentIndex(window.data_panel.axes_box.findData(axes))
        window.tabs.setCurrentWidget(window.params)
        shoot(window, f"wine-{axes}")
    window.data_panel.axes_box.setCurrentIndex(0)
    window.tabs.setCurrentWidget(window.pairs_view)
    sizes = window.splitter.sizes()
    window.splitter.setSizes([260, sum(sizes) - 260])
    shoot(window, "wine-pairs")
    window.splitter.setSizes(sizes)

    # The noise component on data with planted outliers.
    rng = np.random.default_rng(0)
    points = np.vstack([rng.normal([0, 0], 1, (300, 2)), rng.normal([6, 3], 0.8, (300, 2)),
                        rng.uniform(-20, 25, (30, 2))])
    frame = pd.DataFrame(points, columns=["x", "y"])
    window.set_frame(frame, "Two clusters and 30 uniform outliers (seed 0)", None, None)
    window.fit_panel.set_config(FitConfig(n_components=2, noise=True))
    window.run_fit()
    wait_fit(window)
    window.tabs.setCurrentWidget(window.anomaly_view)
    settle(800)
    window.anomaly_view.by_noise.setChecked(True)
    shoot(window, "noise-anomalies")

    window.open_sample("old_faithful.csv")
    window.fit_panel.set_config(FitConfig(n_components=3, covariance_type="tied", n_init=3))
    window.run_fit()
    wait_fit(window)
    window.tabs.setCurrentWidget(window.anomaly_view)
    window.anomaly_view.quantile.setValue(3.0)
    window.anomaly_view.table.selectRow(0)
    shoot(window, "anomalies")
    window.plot.rows_boxed.emit(np.flatnonzero(window.dataset.raw[:, 0] < 2.0))
    shoot(window, "table-selection")
    window.close()
    app.quit()
    return 0


if __name__ == "__main__":
    sys.exit(main())
