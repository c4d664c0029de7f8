"""Overlapping fits pin BLAS to one thread and leave it as they found it."""

import threading

import numpy as np
from threadpoolctl import threadpool_info

from gmm_studio.core import FitConfig, fit
from gmm_studio.core.engine.parallel import single_threaded_blas


def _blas_threads():
    return {i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas"}


def test_interleaved_users_restore_the_original_limit():
    # Two fits that overlap in time: the first leaves while the second still
    # runs. (Done in one thread: which thread sets OpenBLAS's limit is not
    # what is tested, and this build reports limits set from other threads
    # inconsistently.) With threadpoolctl's limits alone, the second one's
    # exit restored the first one's pin and left BLAS on one thread.
    np.ones(2) @ np.ones(2)  # BLAS is loaded
    before = _blas_threads()
    first, second = single_threaded_blas(), single_threaded_blas()
    first.__enter__()
    second.__enter__()
    first.__exit__(None, None, None)
    assert _blas_threads() == {1}          # the second fit still runs pinned
    second.__exit__(None, None, None)
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


def test_a_blas_loaded_after_the_first_pin_is_pinned_too():
    # SciPy brings its own OpenBLAS; a fit after `import scipy` must pin it as well.
    import subprocess
    import sys

    code = """if True:
        import numpy as np
        from threadpoolctl import threadpool_info
        from gmm_studio.core.engine.parallel import single_threaded_blas
        with single_threaded_blas():
            pass
        import scipy.linalg
        with single_threaded_blas():
            inside = sorted((i["filepath"], i["num_threads"]) for i in threadpool_info()
                            if i["user_api"] == "blas")
        print(len(inside), {n for _, n in inside})
    """
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120, check=True)
    libraries, threads = done.stdout.split(maxsplit=1)
    assert int(libraries) >= 1 and threads.strip() == "{1}", done.stdout
