"""Event-loop latency of the window while it fits 1,000,000 rows.

A 5 ms QTimer runs on the GUI thread from Run until 0.5 s after the result;
each tick records how late it fired. Reports median, 99th percentile and max
lateness while the fit runs and including the result's redraw (aim: p99 <
50 ms). Fits of this size run in a child process (gmm_studio.jobs);
GMM_STUDIO_FIT_PROCESS=0 measures the in-process worker thread instead.
``--table`` then switches to the Table tab and measures again until its rows
are scored and shown, plus 0.5 s (aim: max < 100 ms), e.g.
``python benchmarks/bench_gui_latency.py --rows 5000000 --table``.
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
from gmm_studio.core.engine.parallel import run_in_background  # noqa: E402
from gmm_studio.gui import gcguard  # noqa: E402
from gmm_studio.gui.main_window import MainWindow  # noqa: E402

TICK_MS = 5


def summarise(name: str, late_ms: np.ndarray, at: np.ndarray) -> None:
    """Print median, p99 and max lateness and the worst stalls."""
    print(f"event-loop lateness {name}: median {np.median(late_ms):.1f} ms, "
          f"p99 {np.percentile(late_ms, 99):.1f} ms, max {late_ms.max():.1f} ms")
    worst = np.argsort(late_ms)[::-1][:5]
    print("  worst stalls (ms late @ s):",
          ", ".join(f"{late_ms[i]:.0f} @ {at[i]:.2f}" for i in worst))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--iterations", type=int, default=30)
    parser.add_argument("--table", action="store_true",
                        help="after the fit, switch to the Table tab and measure that too")
    args = parser.parse_args()
    app = QApplication.instance() or QApplication(sys.argv[:1])
    run_in_background()  # as gmm_studio.gui.app does
    gcguard.install()
    window = MainWindow()
    rng = np.random.default_rng(0)
    import pandas as pd
    centres = rng.normal(scale=4, size=(5, 2))
    data = centres[rng.integers(0, 5, args.rows)] + rng.normal(size=(args.rows, 2))
    window.set_frame(pd.DataFrame(data, columns=["x", "y"]), f"{args.rows:,} generated rows",
                     None, None)
    window.show()
    window.fit_panel.set_config(FitConfig(n_components=5, max_iter=args.iterations, tol=0.0))
    lateness: list[float] = []
    when: list[float] = []
    last = [time.perf_counter()]

    def tick() -> None:
        now = time.perf_counter()
        lateness.append(max(0.0, now - last[0] - TICK_MS / 1000))
        when.append(now - started[0])
        last[0] = now

    timer = QTimer()
    timer.setInterval(TICK_MS)
    timer.timeout.connect(tick)

    started = [0.0]

    ended = [0.0]
    window.fitting.controller.finished.connect(lambda _: ended.__setitem__(0, time.perf_counter()))

    def start() -> None:
        started[0] = time.perf_counter()
        window.run_fit()
        last[0] = time.perf_counter()
        timer.start()

    def finish() -> None:
        if window.fitting.controller.running:
            QTimer.singleShot(20, finish)
            return
        QTimer.singleShot(500, report)  # the result's own redraw counts too

    def report() -> None:
        timer.stop()
        late, at = np.array(lateness) * 1e3, np.array(when)
        result = window.result
        fitting = at <= ended[0] - started[0]
        print(f"rows {args.rows}, {result.n_iter} iterations in {result.elapsed:.2f} s, "
              f"result {ended[0] - started[0]:.2f} s after Run, {len(late)} ticks of {TICK_MS} ms")
        for name, part in (("while fitting", late[fitting]), ("fit + 0.5 s after", late)):
            summarise(name, part, at[: len(part)] if name != "while fitting" else at[fitting])
        if args.table:
            lateness.clear()
            when.clear()
            started[0] = last[0] = time.perf_counter()
            timer.start()
            window.tabs.setCurrentWidget(window.table_view)
            table_shown()
            return
        window.close()
        app.quit()

    def table_shown() -> None:
        if window.linked.scorer.running or window.table_view.model.mixture is None:
            QTimer.singleShot(20, table_shown)
            return
        ready = time.perf_counter() - started[0]
        QTimer.singleShot(500, lambda: table_report(ready))

    def table_report(ready: float) -> None:
        timer.stop()
        print(f"Table tab: {window.table_view.model.rowCount():,} rows scored and shown "
              f"{ready:.2f} s after the switch")
        summarise("switch to Table + 0.5 s", np.array(lateness) * 1e3, np.array(when))
        window.close()
        app.quit()

    # Start once the window has shown and painted: its first paint is start-up.
    QTimer.singleShot(1000, start)
    QTimer.singleShot(1200, finish)
    app.exec()
    return 0


if __name__ == "__main__":
    sys.exit(main())
