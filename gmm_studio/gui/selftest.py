"""``gmm-studio --self-test``: open the window offscreen, load the sample, fit, render.

The sample is fitted twice: in the window's process and in a child process
(as big data is), which checks that a bundle can start its own children.

Exit status 0 when everything worked; used to check installed bundles.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time


def run_self_test() -> int:
    """Return 0 on success, 1 with a reason on stderr otherwise."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    os.environ.setdefault("GMM_STUDIO_CONFIG_DIR", tempfile.mkdtemp(prefix="gmm-selftest-"))
    from PySide6.QtWidgets import QApplication

    from ..core import FitConfig
    from .app import create_window

    app = QApplication.instance() or QApplication(sys.argv[:1])
    window = create_window([])
    window.fit_panel.set_config(FitConfig(n_components=3, covariance_type="tied", n_init=2))
    problems, results = [], []
    for where in ("0", "1"):  # in this process, then in a child process
        os.environ["GMM_STUDIO_FIT_PROCESS"] = where
        window.reset()
        window.run_fit()
        deadline = time.perf_counter() + 60
        while window.fitting.controller.running and time.perf_counter() < deadline:
            app.processEvents()
            time.sleep(0.01)
        app.processEvents()
        results.append(window.result)
    os.environ.pop("GMM_STUDIO_FIT_PROCESS")
    result, child = results
    if result is None or not result.converged:
        problems.append("the sample fit did not converge")
    elif child is None or child.log_likelihood != result.log_likelihood:
        problems.append(f"the fit in a child process failed ({window.last_status})")
    image = window.grab().toImage()
    colours = {image.pixel(x, y) for x in range(0, image.width(), 37)
               for y in range(0, image.height(), 29)}
    if image.width() < 400 or len(colours) < 8:
        problems.append("the window did not render")
    window.close()
    if problems:
        print("self-test FAILED: " + "; ".join(problems), file=sys.stderr)
        return 1
    print(f"self-test passed: Old Faithful, 3 tied components, log L "
          f"{result.log_likelihood:.2f} in {result.n_iter} iterations, also in a child "
          f"process; rendered "
          f"{image.width()}x{image.height()}")
    return 0
