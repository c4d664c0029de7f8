"""Seconds the Choose K tab takes, driven offscreen as a user would: Old Faithful and 1e6 x 2.

The tab's defaults (K = 1..9, all fourteen models, its search), with 5 CV
folds and without, from the click to the painted result, the window
waiting in its event loop as the application does; each case ``--repeat``
times (best and median: single runs of a 0.2 s sweep vary by a third here).
On more than 100,000 rows each fit runs on a 10,000-row subsample and then
two passes over every row (analysis.selection.Subsample). Not a test: run
it by hand, ``QT_QPA_PLATFORM=offscreen python benchmarks/bench_choose_k.py``.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402


def blobs(n: int) -> pd.DataFrame:
    """Three Gaussian blobs of n rows in all (seed 0)."""
    rng = np.random.default_rng(0)
    third = n // 3
    X = np.vstack([rng.normal([0, 0], [1, .5], (third, 2)),
                   rng.normal([4, 2], [.8, .8], (third, 2)),
                   rng.normal([1, 5], [.5, 1.2], (n - 2 * third, 2))])
    return pd.DataFrame(X, columns=["x", "y"])


def time_tab(app, window, folds: int, poll: bool = False) -> tuple[float, int, str]:
    """Seconds from the click to the sweep's end, its rows, and the ranking's best.

    The Choose K tab is on screen, so its plots are painted as the sweep
    goes (hidden, they are not, and the sweep has the interpreter to itself:
    ~0.06 s less on Old Faithful); the clock stops once the result is
    painted. The window waits in its event loop, as in the application; ``poll``
    instead wakes every 2 ms to process events (how this script measured
    before: the waking takes the interpreter from the sweep's worker).
    """
    from PySide6.QtCore import QEventLoop

    view = window.select_view
    window.tabs.setCurrentWidget(view)      # the tab on screen, as when a user clicks
    view.max_k.setValue(9)
    view.folds.setValue(folds)
    _settle(app, 0.3)
    loop = QEventLoop()
    done = view.controller.running_changed.connect(lambda running: running or loop.quit())
    started = time.perf_counter()
    view.run()
    while poll and view.controller.running:
        app.processEvents()
        time.sleep(0.002)
    if view.controller.running:
        loop.exec()
    app.processEvents()                     # the last redraw painted
    seconds = time.perf_counter() - started
    view.controller.running_changed.disconnect(done)
    table = view.ranking
    best = (" ".join(table.item(0, c).text() for c in range(min(2, table.columnCount())))
            if table.rowCount() else "—")
    return seconds, len(view.rows), best


def _settle(app, seconds: float) -> None:
    """Let the window finish what it was doing (paints, timers) before a click."""
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        app.processEvents()
        time.sleep(0.01)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=float, default=1e6)
    parser.add_argument("--repeat", type=int, default=3,
                        help="runs of each case; the table gives the best and the median")
    parser.add_argument("--poll", action="store_true",
                        help="wait by processing events every 2 ms (this script's old way) "
                             "instead of in the event loop")
    args = parser.parse_args()
    from PySide6.QtWidgets import QApplication

    from gmm_studio.gui.main_window import MainWindow

    app = QApplication(sys.argv[:1])
    window = MainWindow()
    window.show()
    print("| data | CV folds | seconds (best; median) | fits | best |")
    print("|---|---|---|---|---|")
    for name in ("Old Faithful", f"{args.rows:.0e} x 2 blobs"):
        for folds in (5, 0):
            if name == "Old Faithful":
                window.open_sample("old_faithful.csv")
            else:
                window.set_frame(blobs(int(args.rows)), name, None, None)
            times = []
            for _ in range(args.repeat):
                seconds, fits, best = time_tab(app, window, folds, args.poll)
                times.append(seconds)
            print(f"| {name} | {folds or 'off'} | {min(times):.2f}; {np.median(times):.2f} "
                  f"| {fits} | {best} |", flush=True)
    window.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
