"""Awkward data never crashes the window: every action on every odd file.

pytest-qt fails a test when a slot raises, so reaching the end means every
error was caught and shown in the message bar.
"""

import numpy as np
import pytest

from gmm_studio.core import FitConfig

from .conftest import wait_fit

FILES = {
    "empty.csv": b"",
    "header_only.csv": b"a,b\n",
    "binary.csv": bytes(range(256)) * 4,
    "text_only.csv": b"a,b\nx,y\nz,w\n",
    "one_row.csv": b"a,b\n1,2\n",
    "two_rows.csv": b"a,b\n1,2\n3,5\n",
    "constant.csv": b"a,b\n" + b"".join(b"1,%d\n" % i for i in range(40)),
    "duplicates.csv": b"a,b\n" + b"5,5\n" * 30 + b"6,6\n" * 3,
    "missing.csv": b"a,b\n1,\n,2\n3,4\n5,6\n7,8\n",
    "one_column.csv": b"v\n" + b"".join(b"%d\n" % (i % 9) for i in range(50)),
}
# Files that are no table: the window keeps the sample and says why.
UNREADABLE = {"empty.csv", "header_only.csv", "binary.csv", "text_only.csv"}


@pytest.mark.parametrize("name", sorted(FILES))
def test_every_action_survives_odd_data(window, qtbot, tmp_path, name, monkeypatch):
    path = tmp_path / name
    path.write_bytes(FILES[name])
    opened = window.open_path(path)
    assert opened == (name not in UNREADABLE)
    if not opened:
        assert window.messages.level == "error" and name in window.messages.messages[0]
    expected = window.dataset
    window.fit_panel.set_config(FitConfig(n_components=4, n_init=2, max_iter=50))
    window.run_fit()
    wait_fit(qtbot, window)
    for _ in range(5):
        window.step()
    window.compare_view.run()
    qtbot.waitUntil(lambda: not window.compare_view.controller.running, timeout=30_000)
    window.select_view.max_k.setValue(3)
    window.select_view.folds.setValue(2)
    window.select_view.run()
    qtbot.waitUntil(lambda: not window.select_view.controller.running, timeout=60_000)
    for tab in (window.anomaly_view, window.table_view):
        window.tabs.setCurrentWidget(tab)
    monkeypatch.setattr(window, "_ask_save_path", lambda *a: str(tmp_path / "out.bin"))
    window.exports.export_labels()
    window.exports.export_model()
    window.linked.export_anomalies()
    window.plot.rows_boxed.emit(np.arange(min(3, window.dataset.n_rows)))
    window.reset()
    # The data on screen is still the file (or the sample it could not replace).
    assert window.dataset is expected
    assert (window.dataset.source == str(path)) == opened
