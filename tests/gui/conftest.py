"""pytest-qt fixtures: isolated settings, and no QThread may outlive a test."""

import pytest

from gmm_studio.gui.controller import LIVE_THREADS


@pytest.fixture(autouse=True)
def isolated_settings(tmp_path, monkeypatch):
    monkeypatch.setenv("GMM_STUDIO_CONFIG_DIR", str(tmp_path / "config"))


@pytest.fixture(scope="session", autouse=True)
def collect_on_gui_thread(qapp):
    # As the app does: no garbage collection on engine threads (it would destroy
    # leftover Qt widgets off the GUI thread and deadlock).
    from gmm_studio.gui import gcguard

    gcguard.install()


@pytest.fixture(autouse=True)
def no_leaked_threads(qapp):
    yield
    running = [t for t in list(LIVE_THREADS) if t.isRunning()]
    for thread in running:  # clean up so one leak does not cascade into other tests
        thread.quit()
        thread.wait(2000)
    assert not running, f"{len(running)} QThread(s) still running after the test"


@pytest.fixture
def window(qtbot):
    from gmm_studio.gui.app import create_window

    win = create_window([])
    qtbot.addWidget(win)
    yield win
    win.fitting.controller.shutdown()


def wait_fit(qtbot, win, timeout=20_000):
    qtbot.waitUntil(lambda: not win.fitting.controller.running, timeout=timeout)


def wait_scored(qtbot, win, timeout=20_000):
    """Wait until the Anomalies and Table tabs have the current model's scores."""
    qtbot.waitUntil(lambda: not win.linked.scorer.running and win.anomaly_view.scores is not None,
                    timeout=timeout)
