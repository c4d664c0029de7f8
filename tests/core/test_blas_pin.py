"""Overlapping fits pin BLAS to one thread and leave it as they found it."""

import threading

import numpy as np
from threadpoolctl import threadpool_info

from gmm_studio.core import FitConfig, fit
from gmm_studio.core.engine.parallel import single_threaded_blas


def _blas_threads():
    return {i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas"}


def test_interleaved_users_restore_the_original_limit():
    np.ones(2) @ np.ones(2)  # BLAS is loaded
    # (No threadpool_limits around this: inside one, limits set from other
    # threads are not seen.) On this project's 2-core machines BLAS starts at 2.
    before = _blas_threads()
    a_in, b_in, a_out = threading.Event(), threading.Event(), threading.Event()
    seen = {}

    def first():
        with single_threaded_blas():
            a_in.set()
            b_in.wait(5)
        a_out.set()

    def second():
        a_in.wait(5)
        with single_threaded_blas():
            b_in.set()
            a_out.wait(5)
            seen["inside after the other left"] = _blas_threads()

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert seen["inside after the other left"] == {1}
    assert _blas_threads() == before


def test_two_concurrent_fits_leave_blas_as_it_was():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60_000, 3))
    before = _blas_threads()
    threads = [threading.Thread(target=fit, args=(X, FitConfig(n_components=3, max_iter=15,
                                                                random_state=s)))
               for s in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert _blas_threads() == before
