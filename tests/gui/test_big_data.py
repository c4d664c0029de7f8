"""Big files: background loading with progress and cancel; the plot stays bounded."""

import numpy as np
import pandas as pd

from gmm_studio.gui import loading
from gmm_studio.gui.plots import MAX_DRAWN_POINTS


def big_csv(tmp_path, n=400_000):
    rng = np.random.default_rng(0)
    path = tmp_path / "big.csv"
    pd.DataFrame(rng.normal(size=(n, 2)), columns=["a", "b"]).to_csv(path, index=False)
    return path


def test_big_file_loads_in_background_with_progress(window, qtbot, tmp_path, monkeypatch):
    monkeypatch.setattr(loading, "BACKGROUND_BYTES", 1_000_000)
    path = big_csv(tmp_path)
    seen = []
    window.loading.loader.progress.connect(seen.append)
    assert window.open_path(path) is False  # returns at once; the table comes later
    assert window.loading.load_dialog is not None
    qtbot.waitUntil(lambda: not window.loading.loader.running and window.dataset.n_rows == 400_000,
                    timeout=60_000)
    assert seen and 0 < max(seen) <= 1
    assert len(window.plot.scatter) == MAX_DRAWN_POINTS  # drawn: a bounded subsample
    assert window.loading.load_dialog is None


def test_cancelled_load_keeps_the_previous_data(window, qtbot, tmp_path, monkeypatch):
    monkeypatch.setattr(loading, "BACKGROUND_BYTES", 1_000_000)
    path = big_csv(tmp_path, n=1_500_000)
    before = window.dataset
    window.open_path(path)
    from PySide6.QtWidgets import QPushButton

    window.loading.load_dialog.findChild(QPushButton).click()  # the dialog's Cancel button
    qtbot.waitUntil(lambda: not window.loading.loader.running, timeout=60_000)
    assert window.dataset is before
    assert window.messages.level == "info" and "cancelled" in window.messages.messages[0]


def test_float32_switch_reaches_the_config(window):
    window.fit_panel.float32.setChecked(True)
    assert window.fit_panel.config().dtype == "float32"
