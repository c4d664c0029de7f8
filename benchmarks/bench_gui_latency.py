"""Event-loop latency of the window while it fits 1,000,000 rows.

A 5 ms QTimer runs on the GUI thread during the fit; each tick records how
late it fired. Reports max and 99th percentile lateness (aim: < 50-100 ms).
Not a test: run it by hand, e.g. ``python benchmarks/bench_gui_latency.py``.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("PYQTGRAPH_QT_LIB", "PySide6")
os.environ.setdefault("GMM_STUDIO_CONFIG_DIR", tempfile.mkdtemp(prefix="gmm-bench-"))

import numpy as np  # noqa: E402
from PySide6.QtCore import QTimer  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from gmm_studio.core import FitConfig  # noqa: E402
from gmm_studio.core.dataset import make_dataset  # noqa: E402
from gmm_studio.core.parallel import run_in_background  # noqa: E402
from gmm_studio.gui import gcguard  # noqa: E402
from gmm_studio.gui.main_window import MainWindow  # noqa: E402

TICK_MS = 5


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--iterations", type=int, default=30)
    args = parser.parse_args()
    app = QApplication.instance() or QApplication(sys.argv[:1])
    run_in_background()  # as gmm_studio.gui.app does
    gcguard.install()
    window = MainWindow()
    rng = np.random.default_rng(0)
    import pandas as pd
    centres = rng.normal(scale=4, size=(5, 2))
    data = centres[rng.integers(0, 5, args.rows)] + rng.normal(size=(args.rows, 2))
    window.frame = pd.DataFrame(data, columns=["x", "y"])
    window.data_panel.set_columns(["x", "y"], [], ["x", "y"])
    window.dataset = make_dataset(window.frame)
    window.reset()
    window.show()
    window.fit_panel.set_config(FitConfig(n_components=5, max_iter=args.iterations, tol=0.0))
    lateness: list[float] = []
    last = [time.perf_counter()]

    def tick() -> None:
        now = time.perf_counter()
        lateness.append(max(0.0, now - last[0] - TICK_MS / 1000))
        last[0] = now

    timer = QTimer()
    timer.setInterval(TICK_MS)
    timer.timeout.connect(tick)

    def start() -> None:
        window.run_fit()
        last[0] = time.perf_counter()
        timer.start()

    def finish() -> None:
        if window.controller.running:
            QTimer.singleShot(20, finish)
            return
        timer.stop()
        late = np.array(lateness) * 1e3
        result = window.result
        print(f"rows {args.rows}, {result.n_iter} iterations in {result.elapsed:.2f} s, "
              f"{len(late)} ticks of {TICK_MS} ms")
        print(f"event-loop lateness: median {np.median(late):.1f} ms, "
              f"p99 {np.percentile(late, 99):.1f} ms, max {late.max():.1f} ms")
        window.close()
        app.quit()

    QTimer.singleShot(100, start)
    QTimer.singleShot(300, finish)
    app.exec()
    return 0


if __name__ == "__main__":
    sys.exit(main())
