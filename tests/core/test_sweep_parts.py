"""A sweep's stages in parts on threads: the same rows on any number of threads."""

import threading
import time

import numpy as np
import pytest

from gmm_studio.core.analysis import parts, selection
from gmm_studio.core.engine import starts
from gmm_studio.core.engine.parallel import interleaved
from gmm_studio.core.engine.prepared import prepare


def _wide(n_rows=150, n_features=26, seed=3):
    """Two clusters in many columns: 150 x 26 has 101,400 rows x features²."""
    rng = np.random.default_rng(seed)
    centre = np.zeros(n_features)
    centre[:3] = 4.0
    half = n_rows // 2
    return np.vstack([rng.normal(size=(half, n_features)),
                      centre + rng.normal(size=(n_rows - half, n_features))])


def test_interleaved_gives_every_item_of_every_source_each_in_its_order(monkeypatch):
    monkeypatch.setenv("GMM_STUDIO_THREADS", "2")
    seen_threads = set()

    def source(name, n):
        def run(stop):
            for i in range(n):
                seen_threads.add(threading.get_ident())
                time.sleep(0.001)
                yield name, i
        return run

    items = list(interleaved([source("a", 20), source("b", 15)]))
    assert sorted(items) == sorted([("a", i) for i in range(20)] + [("b", i) for i in range(15)])
    for name in "ab":
        assert [i for n, i in items if n == name] == sorted(i for n, i in items if n == name)
    assert threading.get_ident() not in seen_threads and len(seen_threads) == 2


def test_a_failing_source_raises_in_the_caller_and_stops_the_others(monkeypatch):
    monkeypatch.setenv("GMM_STUDIO_THREADS", "2")
    stopped = threading.Event()

    def failing(stop):
        yield 1
        raise ValueError("this part failed")

    def endless(stop):
        while not stop.is_set():
            time.sleep(0.001)
            yield 2
        stopped.set()

    with pytest.raises(ValueError, match="this part failed"):
        for _ in interleaved([failing, endless]):
            pass
    assert stopped.is_set()          # the other thread saw the stop and ended


def test_leaving_early_or_cancelling_stops_every_source(monkeypatch):
    monkeypatch.setenv("GMM_STUDIO_THREADS", "2")
    ended = []

    def endless(stop):
        try:
            while not stop.is_set():
                time.sleep(0.001)
                yield 0
        finally:
            ended.append(True)

    items = interleaved([endless, endless])
    next(items)
    items.close()                    # the caller stops iterating
    assert len(ended) == 2           # both threads ended before close returned
    cancel = threading.Event()
    ended.clear()
    for count, _ in enumerate(interleaved([endless, endless], cancel), start=1):
        if count == 5:
            cancel.set()             # the user's cancel reaches the sources
    assert len(ended) == 2


def test_stages_split_only_with_eve_or_vve_on_enough_cells():
    X = _wide()
    data = prepare(X)
    base = selection.DEFAULT_SEARCH
    configs = [base.replace(n_components=k, covariance_type=t)
               for t in ("VVE", "full") for k in range(1, 10)]
    split = parts.stage_parts(configs, data, True)
    assert len(split) == 2
    # K dealt largest first in a snake: 9, 6, 5, 2, 1 and 8, 7, 4, 3, both models in each
    assert [sorted({c.n_components for c in p}) for p in split] == [[1, 2, 5, 6, 9], [3, 4, 7, 8]]
    assert all({c.covariance_type for c in p} == {"VVE", "full"} for p in split)
    four = [c for c in configs if c.covariance_type == "full"]
    assert parts.stage_parts(four, data, True) == [four]                  # no EVE / VVE
    assert parts.stage_parts(configs, prepare(X[:, :20]), True) == [configs]  # 60,000 cells
    assert parts.stage_parts(configs, data, False) == [configs]           # not batched


def test_a_split_sweep_gives_the_same_rows_on_one_thread_and_on_two(monkeypatch):
    X = _wide()
    split = []
    real = selection.stage_parts

    def spy(configs, data, batched):
        split.append(len(real(configs, data, batched)))
        return real(configs, data, batched)

    monkeypatch.setattr(selection, "stage_parts", spy)
    runs = {}
    for threads in ("1", "2"):
        monkeypatch.setenv("GMM_STUDIO_THREADS", threads)
        rows, best = selection.select(X, [1, 2, 3, 4], ["VVE", "EVE", "full"])
        runs[threads] = ([(r.k, r.covariance_type, r.bic, r.degenerate, r.note) for r in rows],
                         (best.k, best.covariance_type))
    assert split and set(split) == {2}, "the stages were not split: the test tests nothing"
    assert runs["1"] == runs["2"]
    # One batch per stage (the data below the threshold) picks the same model.
    monkeypatch.setattr(parts, "PARALLEL_CELLS", np.inf)
    rows, best = selection.select(X, [1, 2, 3, 4], ["VVE", "EVE", "full"])
    assert (best.k, best.covariance_type) == runs["2"][1]
    assert best.bic == pytest.approx(min(r[2] for r in runs["2"][0] if not r[3]), abs=1e-3)


def test_parts_running_at_once_build_the_hierarchy_once(monkeypatch):
    calls = []
    real = starts.vvv_merges

    def slow(z):
        calls.append(1)
        time.sleep(0.05)             # both threads ask while the first builds it
        return real(z)

    monkeypatch.setattr(starts, "vvv_merges", slow)
    data = prepare(np.random.default_rng(11).normal(size=(60, 3)))
    labels = []
    threads = [threading.Thread(target=lambda k=k: labels.append(
        starts.hierarchical_labels(data, k, np.random.default_rng(0)))) for k in (2, 3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(calls) == 1 and len(labels) == 2
