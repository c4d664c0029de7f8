"""Choose K on data wide enough that its stages run in parts on threads."""

import threading

import numpy as np
import pandas as pd

from gmm_studio.core.analysis import selection


def _wide_frame(n_rows=150, n_features=26, seed=5):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n_rows, n_features))
    X[n_rows // 2:, :3] += 4.0
    return pd.DataFrame(X, columns=[f"c{j}" for j in range(n_features)])


def _spy_parts(monkeypatch):
    split = []
    real = selection.stage_parts

    def spy(configs, data, batched):
        made = real(configs, data, batched)
        split.append(len(made))
        return made

    monkeypatch.setattr(selection, "stage_parts", spy)
    return split


def test_a_sweep_in_parts_cancels_promptly_and_leaves_no_thread(window, qtbot, monkeypatch):
    split = _spy_parts(monkeypatch)
    monkeypatch.setenv("GMM_STUDIO_THREADS", "2")
    window.set_frame(_wide_frame(), "wide", None, None)
    view = window.select_view
    view.max_k.setValue(9)
    view.folds.setValue(0)
    before = {t.ident for t in threading.enumerate()}
    view.run()
    qtbot.waitUntil(lambda: view.progress.value() >= 1, timeout=30_000)
    view.cancel_button.click()
    qtbot.waitUntil(lambda: not view.controller.running, timeout=10_000)
    assert split and split[0] == 2, "the sweep was not split: the test tests nothing"
    assert 1 <= len(view.rows) < 9 * 14
    parts = [t for t in threading.enumerate()
             if t.name == "gmm-sweep-part" and t.ident not in before]
    assert not parts                      # the parts' threads ended with the job


def test_switching_data_mid_sweep_marks_the_parts_rows_stale(window, qtbot, monkeypatch):
    split = _spy_parts(monkeypatch)
    window.set_frame(_wide_frame(), "wide", None, None)
    view = window.select_view
    view.max_k.setValue(4)
    view.folds.setValue(0)
    view.run()
    qtbot.waitUntil(lambda: view.progress.value() >= 1, timeout=30_000)
    window.open_sample("old_faithful.csv")        # while the parts are running
    qtbot.waitUntil(lambda: not view.controller.running, timeout=30_000)
    assert split and split[0] == 2
    assert view.stale.stale and "other data" in view.messages.messages[0]
    view.messages.action_button.click()            # Recompute, on Old Faithful now
    qtbot.waitUntil(lambda: not view.controller.running, timeout=30_000)
    assert not view.stale.stale and view.rows
    assert {r.k for r in view.rows} == {1, 2, 3, 4}
