"""Big fits run in a child process: same results, cancel reaches it, failures are told."""

import os
import threading
from pathlib import Path

import numpy as np
import pytest

from gmm_studio.core import FitConfig, GMMStudioError, InvalidDataError, fit
from gmm_studio.jobs import ChildProcessCrash, ChildProcessDied, in_child_process, run_fit

from .conftest import wait_fit


@pytest.fixture(autouse=True)
def tests_importable_in_the_child(monkeypatch):
    # The child does not put the current folder on sys.path (python -P), so
    # the targets defined in this test module need the repository root on it.
    root = str(Path(__file__).resolve().parents[2])
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(
        p for p in (root, os.environ.get("PYTHONPATH", "")) if p))


@pytest.fixture
def in_child(monkeypatch):
    monkeypatch.setenv("GMM_STUDIO_FIT_PROCESS", "1")


def test_window_fit_in_a_child_process_equals_the_engine(in_child, window, qtbot):
    config = FitConfig(n_components=3, n_init=2, random_state=5)
    window.fit_panel.set_config(config)
    progress = []
    window.fitting.controller.progress.connect(progress.append)
    window.run_fit()
    wait_fit(qtbot, window)
    result = window.result
    expected = fit(window.dataset.X, config)
    assert result.log_likelihood == expected.log_likelihood
    np.testing.assert_array_equal(result.labels, expected.labels)
    np.testing.assert_array_equal(result.model.means, expected.model.means)
    assert progress and progress[-1].snapshot.done
    assert "converged" in window.last_status


def test_stop_reaches_the_child(in_child, window, qtbot):
    # The panel's smallest tol is 1e-12, which a fit can reach before Stop: slow it down.
    window.fit_panel.set_config(FitConfig(n_components=4, max_iter=10**6, tol=0.0))
    window.fit_panel.speed.setCurrentIndex(window.fit_panel.speed.findText("2 iterations/s"))
    window.run_fit()
    qtbot.waitUntil(lambda: window.model is not None, timeout=20_000)
    window.stop_fit()
    wait_fit(qtbot, window, timeout=5_000)
    assert window.result is not None and window.result.status == "cancelled"
    assert window.result.n_iter < 10**6


def refuses(cancel, report, X):
    raise GMMStudioError("this data cannot be fitted: try another column.")


def refuses_data(cancel, report, X):
    raise InvalidDataError("column 'b' is text; leave it out.")


def breaks(cancel, report, X):
    raise ValueError("a bug")


def dies(cancel, report, X):
    os._exit(3)


def reports_shape(cancel, report, X):
    report(X.shape)
    return float(X.sum())


def run_in_child(target):
    got = []
    X = np.arange(6.0).reshape(3, 2)
    return in_child_process(target, X)(threading.Event(), got.append), got


def test_the_child_maps_the_data_and_sends_progress_and_result():
    assert run_in_child(reports_shape) == (15.0, [(3, 2)])


@pytest.mark.parametrize(("target", "error", "words"), [
    (refuses, GMMStudioError, "try another column"),
    (refuses_data, InvalidDataError, "leave it out"),
    (breaks, ChildProcessCrash, "(?s)a bug.*in the child process.*in breaks"),
    (dies, ChildProcessDied, "code 3"),
])
def test_failures_in_the_child_reach_the_window(target, error, words):
    with pytest.raises(error, match=words):
        run_in_child(target)


def test_a_cancel_before_the_first_iteration_is_an_error_not_a_hang():
    cancel = threading.Event()
    cancel.set()
    X = np.random.default_rng(0).normal(size=(5000, 2))
    job = in_child_process(run_fit, X, None, FitConfig(n_components=3), None)
    with pytest.raises(GMMStudioError, match="cancelled"):
        job(cancel, lambda p: None)


def test_compare_and_choose_k_run_in_a_child_too(in_child, window, qtbot):
    window.open_generated("anisotropic")
    view = window.compare_view
    view.run()
    qtbot.waitUntil(lambda: not view.controller.running and len(view.rows) == 4, timeout=30_000)
    ari = {r.algorithm: r.ari_truth for r in view.rows}
    assert ari["em"] > ari["kmeans"]
    select = window.select_view
    select.max_k.setValue(3)
    for kind, box in select.types.items():
        box.setChecked(kind == "full")
    select.run()
    qtbot.waitUntil(lambda: not select.controller.running and len(select.rows) == 3,
                    timeout=30_000)
    assert select.progress.value() == 3 + 3      # three fits, all refined


def test_a_full_temporary_disk_runs_the_job_here(monkeypatch):
    def no_space(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(np, "save", no_space)
    assert run_in_child(reports_shape) == (15.0, [(3, 2)])


def fit_children() -> list[int]:
    """Pids of live child processes started by in_child_process (Linux /proc)."""
    pids = []
    for entry in os.listdir("/proc"):
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as f:
                if b"child_main" in f.read():
                    pids.append(int(entry))
        except (OSError, ValueError):
            continue
    return pids


@pytest.mark.skipif(not os.path.isdir("/proc"), reason="reads /proc")
def test_closing_the_window_during_a_child_fit_ends_the_child(in_child, qtbot):
    from gmm_studio.gui.app import create_window

    win = create_window([])
    qtbot.addWidget(win)
    win.fit_panel.set_config(FitConfig(n_components=4, max_iter=10**6, tol=0.0))
    win.run_fit()
    qtbot.waitUntil(lambda: win.model is not None, timeout=20_000)
    assert fit_children()
    win.close()
    assert not win.fitting.controller.running
    qtbot.waitUntil(lambda: not fit_children(), timeout=5_000)


def test_the_child_runs_the_installed_code_not_the_current_folders(tmp_path, monkeypatch):
    # A checkout (or any folder) with its own gmm_studio must not be imported.
    fake = tmp_path / "gmm_studio"
    fake.mkdir()
    (fake / "__init__.py").write_text("")
    (fake / "jobs.py").write_text(
        "def child_main(fd):\n    open('imported-the-wrong-code', 'w').close()\n")
    monkeypatch.chdir(tmp_path)
    assert run_in_child(reports_shape) == (15.0, [(3, 2)])
    assert not (tmp_path / "imported-the-wrong-code").exists()


def test_data_left_by_a_killed_window_is_removed(tmp_path, monkeypatch):
    import subprocess
    import sys

    from gmm_studio.jobs import remove_orphaned_data

    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    orphan = tmp_path / f"gmm-studio-fit-{gone.pid}-abc"
    orphan.mkdir()
    (orphan / "X.npy").write_bytes(b"0" * 1000)
    ours = tmp_path / f"gmm-studio-fit-{os.getpid()}-def"
    ours.mkdir()
    assert remove_orphaned_data(tmp_path) == [orphan]
    assert not orphan.exists() and ours.exists()
    monkeypatch.setattr("tempfile.tempdir", str(tmp_path))
    orphan.mkdir()
    run_in_child(reports_shape)             # every child job sweeps first
    assert not orphan.exists()


def test_progress_sends_each_value_once_and_copies_no_history():
    from gmm_studio.jobs import FitDelta, HistoryBook, run_fit

    X = np.random.default_rng(0).normal(size=(300, 2))
    deltas = []
    result = run_fit(threading.Event(), deltas.append, X, None,
                     FitConfig(n_components=2, n_init=2, max_iter=400, tol=0.0), None)
    assert all(isinstance(d, FitDelta) for d in deltas)
    sent = sum(len(v) for d in deltas for v in d.appended.values())
    assert sent == 2 * 401                     # each log-likelihood once, however long
    book = HistoryBook()
    progress = [book.absorb(d) for d in deltas]
    last = progress[-1].histories[result.best_restart]
    np.testing.assert_array_equal(last, result.log_likelihood_history)
    # A later message shares the buffer instead of copying it.
    snap = deltas[-1].snapshot
    small = HistoryBook()
    first = small.absorb(FitDelta(snap, {0: (1.0, 2.0, 3.0)}))
    second = small.absorb(FitDelta(snap, {0: (4.0,)}))
    assert np.shares_memory(first.histories[0], second.histories[0])
    np.testing.assert_array_equal(second.histories[0], [1.0, 2.0, 3.0, 4.0])
    assert not second.histories[0].flags.writeable


def test_a_sweep_job_reports_a_few_times_a_second_and_returns_every_row(monkeypatch):
    # On small data rows come every millisecond or so: a message per row would
    # cost the window's thread more than the redraws it can show.
    import time

    from gmm_studio import jobs
    from gmm_studio.core.analysis.selection import SelectionRow

    def sweep(*_args, **_kwargs):
        for k in range(1, 41):
            time.sleep(0.005)
            yield SelectionRow(k, "full", 0.0, 1, float(k), 0.0, 0.0, np.nan, np.nan, True,
                               False)

    monkeypatch.setattr(jobs, "sweep", sweep)
    reports = []
    started = time.perf_counter()
    rows = jobs.run_sweep(threading.Event(), reports.append, np.zeros((5, 2)), range(1, 41),
                          ["full"], FitConfig(), 0, None, 0.0, 40)
    seconds = time.perf_counter() - started                          # 0.2 s or more
    assert [r.k for r in rows] == list(range(1, 41))
    assert 2 <= len(reports) <= seconds * jobs._SWEEP_REPORT_HZ + 1
    assert [done for done, _, _ in reports] == sorted(done for done, _, _ in reports)
    assert all(len(shown) == done for done, _, shown in reports)
