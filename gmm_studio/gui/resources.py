"""Bundled files and fixed texts of the window."""

from __future__ import annotations

import importlib.resources
from pathlib import Path

ABOUT_TEXT = (
    "<h3>GMM Studio {version}</h3>"
    "<p>Exploratory clustering with Gaussian mixture models fitted by EM: watch EM fit, "
    "compare it with k-means, choose K and flag anomalies.</p>"
    "<p>Released under the MIT licence.<br>Sample data: Old Faithful (Azzalini &amp; Bowman "
    "1990) and Iris (Anderson 1935, Fisher 1936).</p>"
    "<p>Built with PySide6 (Qt), pyqtgraph, NumPy, SciPy and pandas.</p>")


def sample_path(name: str) -> Path:
    """Path of a bundled sample data file."""
    return Path(str(importlib.resources.files("gmm_studio.assets") / name))
