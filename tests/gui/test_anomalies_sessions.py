"""Anomalies, linked selection, the data table, sessions and crash recovery."""

import os
import shutil
import subprocess
import sys
import textwrap

import numpy as np
import pandas as pd
from PySide6.QtCore import QPointF, QRectF

from gmm_studio.core import FitConfig

from .conftest import wait_fit, wait_scored


def fitted(window, qtbot):
    window.fit_panel.set_config(FitConfig(n_components=3, covariance_type="tied", n_init=3))
    window.run_fit()
    wait_fit(qtbot, window)
    window.tabs.setCurrentWidget(window.anomaly_view)
    wait_scored(qtbot, window)
    return window.anomaly_view


def test_threshold_by_quantile_and_by_dragging_stay_in_sync(window, qtbot):
    view = fitted(window, qtbot)
    view.quantile.setValue(2.0)
    assert view.model.rowCount() == 6
    dens = view.model.frame["log_density"].to_numpy()
    assert np.all(np.diff(dens) >= 0)
    assert len(window.plot.flagged_halo) == 6
    view.line.setValue(float(np.quantile(view.log_dens, 0.10)))
    view.line.sigPositionChangeFinished.emit(view.line)
    assert abs(view.quantile.value() - 10.0) < 0.5
    assert view.model.rowCount() == int((view.log_dens <= view.line.value()).sum())


def test_selecting_a_flagged_row_highlights_the_point_and_back(window, qtbot):
    view = fitted(window, qtbot)
    view.quantile.setValue(2.0)
    view.table.selectRow(0)
    position = int(view.model.positions[0])
    assert len(window.plot.selected_halo) == 1
    x, y = window.dataset.raw[position]
    assert (window.plot.selected_halo.x[0], window.plot.selected_halo.y[0]) == (x, y)
    other = int(view.model.positions[3])
    window.plot.point_clicked.emit(other)
    assert view.table.selectionModel().selectedRows()[0].row() == 3


def test_box_selection_fills_the_table(window, qtbot):
    fitted(window, qtbot)
    window.plot.getViewBox().box_selected.emit(QRectF(QPointF(1.5, 40), QPointF(2.5, 60)))
    table = window.table_view
    assert window.tabs.currentWidget() is table
    raw = window.dataset.raw
    inside = (raw[:, 0] >= 1.5) & (raw[:, 0] <= 2.5) & (raw[:, 1] >= 40) & (raw[:, 1] <= 60)
    assert table.model.rowCount() == inside.sum() > 0
    assert len(window.plot.selected_halo) == inside.sum()
    table.filter.setCurrentText("cluster 0")
    model = table.model
    shown = model.order
    expected = np.flatnonzero(window.model.predict(window.dataset.X) == 0)
    np.testing.assert_array_equal(shown, expected)
    cluster_col = model.headers.index("cluster")
    assert {model.value(r, cluster_col) for r in range(model.rowCount())} == {0}


def test_export_anomalies_sorted(window, qtbot, tmp_path, monkeypatch):
    view = fitted(window, qtbot)
    view.quantile.setValue(5.0)
    monkeypatch.setattr(window, "_ask_save_path", lambda *a: str(tmp_path / "a.csv"))
    view.export_button.click()
    qtbot.waitUntil(lambda: not window.exports.exporter.running, timeout=10_000)
    out = pd.read_csv(tmp_path / "a.csv")
    assert list(out.columns) == ["row", "eruptions", "waiting", "log_density", "cluster"]
    assert len(out) == view.model.rowCount()
    assert out["log_density"].is_monotonic_increasing


def test_session_round_trip_restores_without_refitting(window, qtbot, tmp_path, monkeypatch):
    view = fitted(window, qtbot)
    view.quantile.setValue(3.0)
    model, threshold, config = window.model, window.threshold, window.fit_panel.config()
    path = tmp_path / "s.gmmstudio"
    monkeypatch.setattr(window, "_ask_save_path", lambda *a: str(path))
    window.sessions.save_session_dialog()
    window.reset()
    assert window.model is None
    assert window.sessions.open_session(path)
    assert window.result is None  # restored, not refitted
    np.testing.assert_array_equal(window.model.means, model.means)
    np.testing.assert_array_equal(window.model.covariances, model.covariances)
    assert window.threshold == threshold
    assert window.fit_panel.config() == config
    wait_scored(qtbot, window)
    assert window.threshold == threshold
    assert len(window.plot.flagged_halo) == view.model.rowCount() > 0


def test_moved_data_file_offers_to_locate_it(window, qtbot, tmp_path, monkeypatch):
    data = tmp_path / "d.csv"
    shutil.copy(window.source, data)
    window.open_path(data)
    window.run_fit()
    wait_fit(qtbot, window)
    path = tmp_path / "s.gmmstudio"
    monkeypatch.setattr(window, "_ask_save_path", lambda *a: str(path))
    window.sessions.save_session_dialog()
    moved = tmp_path / "moved.csv"
    data.rename(moved)
    assert not window.sessions.open_session(path)
    assert window.messages.level == "error" and "moved or deleted" in window.messages.messages[0]
    assert window.messages.action_button.text() == "Locate…"
    monkeypatch.setattr("gmm_studio.gui.sessions.QFileDialog.getOpenFileName",
                        lambda *a, **k: (str(moved), ""))
    window.messages.action_button.click()
    assert window.source == str(moved) and window.model is not None


def test_score_a_file_writes_labels_and_flags(window, qtbot, tmp_path, monkeypatch):
    view = fitted(window, qtbot)
    view.quantile.setValue(2.0)
    new = tmp_path / "new.csv"
    pd.DataFrame({"eruptions": [2.0, 4.4, 1.0], "waiting": [54, 80, 95]}).to_csv(new, index=False)
    monkeypatch.setattr(window, "_ask_save_path", lambda *a: str(tmp_path / "scored.csv"))
    window.sessions.score_file(str(new))
    out = pd.read_csv(tmp_path / "scored.csv")
    assert list(out["anomaly"]) == [False, False, True]
    assert "1 flagged" in window.messages.messages[0]


def test_killed_app_offers_its_autosave_on_restart(qtbot, tmp_path, monkeypatch):
    config_dir = tmp_path / "config"
    script = textwrap.dedent("""
        import os, signal, sys, time
        from PySide6.QtWidgets import QApplication
        app = QApplication([])
        from gmm_studio.gui.app import create_window
        w = create_window([])
        w.run_fit()
        deadline = time.time() + 30
        while time.time() < deadline and not w.sessions.autosave_path.exists():
            app.processEvents(); time.sleep(0.02)
        while time.time() < deadline and (w.fitting.controller.running or w.model is None):
            app.processEvents(); time.sleep(0.02)
        w.sessions.autosave()
        os.kill(os.getpid(), signal.SIGKILL)
    """)
    env = {**os.environ, "GMM_STUDIO_CONFIG_DIR": str(config_dir),
           "GMM_STUDIO_AUTOSAVE_MS": "100", "QT_QPA_PLATFORM": "offscreen"}
    done = subprocess.run([sys.executable, "-c", script], env=env, timeout=120)
    assert done.returncode == -9
    assert (config_dir / "autosave.gmmstudio").exists()
    monkeypatch.setenv("GMM_STUDIO_CONFIG_DIR", str(config_dir))
    from gmm_studio.gui.app import create_window

    again = create_window([])
    qtbot.addWidget(again)
    assert again.messages.level == "info" and "did not close cleanly" in again.messages.messages[0]
    assert again.messages.action_button.text() == "Restore"
    again.messages.action_button.click()
    assert again.model is not None and again.result is None
    again.close()
    assert not (config_dir / "autosave.gmmstudio").exists()  # a clean exit removes it
