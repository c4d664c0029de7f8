"""Engine vs scikit-learn GaussianMixture: seconds per soft-EM iteration and memory.

Same data, same starting parameters, one process, runs alternating between the
two libraries. Seconds per iteration are measured by difference,
(T(m1 iterations) - T(m0 iterations)) / (m1 - m0), so fixed costs (validation,
scikit-learn's own initialisation, final labelling) cancel. Peak extra memory
is tracemalloc's peak during a fit, which sees every NumPy allocation.

Not a test: run it by hand, e.g. ``python benchmarks/bench_engine.py``.
"""

from __future__ import annotations

import argparse
import gc
import platform
import time
import tracemalloc
import warnings

import numpy as np
from sklearn.mixture import GaussianMixture

from gmm_studio.core import FitConfig, MixtureModel, fit

CASES = [  # (N, D, K, covariance_type)
    (1_000_000, 2, 10, "full"),
    (1_000_000, 8, 10, "full"),
    (1_000_000, 8, 10, "diag"),
    (1_000_000, 32, 3, "full"),
    (10_000, 2, 3, "full"),
]


def make_case(n, d, k, covariance_type, seed=0):
    """Data from a random mixture and a deliberately rough start from it."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(scale=5.0, size=(k, d))
    labels = rng.integers(0, k, size=n)
    X = centres[labels] + rng.normal(size=(n, d)) * rng.uniform(0.5, 2.0, size=(k, d))[labels]
    means = centres + rng.normal(scale=0.5, size=(k, d))
    var = X.var(axis=0) / k
    cov = {"full": np.stack([np.diag(var)] * k), "diag": np.stack([var] * k)}[covariance_type]
    return X, MixtureModel(np.full(k, 1.0 / k), means, cov, covariance_type)


def run_ours(X, start, n_iter):
    config = FitConfig(n_components=start.n_components, covariance_type=start.covariance_type,
                       max_iter=n_iter, tol=0.0, variance_floor=0.0)
    return fit(X, config, initial_model=start)


def run_sklearn(X, start, n_iter):
    prec = (np.linalg.inv(start.covariances) if start.covariance_type == "full"
            else 1.0 / start.covariances)
    gm = GaussianMixture(start.n_components, covariance_type=start.covariance_type,
                         weights_init=start.weights, means_init=start.means,
                         precisions_init=prec, init_params="random_from_data",
                         reg_covar=0.0, max_iter=n_iter, tol=0.0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return gm.fit(X)


def timed(fn, *args):
    gc.collect()
    t0 = time.perf_counter()
    fn(*args)
    return time.perf_counter() - t0


def peak_memory(fn, *args):
    gc.collect()
    tracemalloc.start()
    fn(*args)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak / 2**20


def per_iteration(X, start, m0, m1, repeats):
    """Best-of-repeats seconds per iteration for (ours, sklearn), alternating."""
    ours, theirs = [], []
    for _ in range(repeats):
        for name, fn in (("ours", run_ours), ("sklearn", run_sklearn)):
            t = (timed(fn, X, start, m1) - timed(fn, X, start, m0)) / (m1 - m0)
            (ours if name == "ours" else theirs).append(t)
    return min(ours), min(theirs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--scale", type=float, default=1.0, help="multiply every N by this")
    args = parser.parse_args()
    print(f"machine: {platform.machine()}, {platform.processor() or '?'}; "
          f"python {platform.python_version()}, numpy {np.__version__}")
    header = (f"{'N':>9} {'D':>3} {'K':>3} {'cov':>5} | {'ours s/it':>10} "
              f"{'sklearn s/it':>12} {'ratio':>6} | {'ours MB':>8} {'sklearn MB':>10} {'ratio':>6}")
    print(header)
    print("-" * len(header))
    for n, d, k, kind in CASES:
        n = max(int(n * args.scale), 100 * k)
        X, start = make_case(n, d, k, kind)
        m0, m1 = (1, 6) if n >= 100_000 else (5, 45)
        ours_t, sk_t = per_iteration(X, start, m0, m1, args.repeats)
        ours_m = peak_memory(run_ours, X, start, m0)
        sk_m = peak_memory(run_sklearn, X, start, m0)
        print(f"{n:>9} {d:>3} {k:>3} {kind:>5} | {ours_t:>10.4f} {sk_t:>12.4f} "
              f"{ours_t / sk_t:>6.3f} | {ours_m:>8.1f} {sk_m:>10.1f} {ours_m / sk_m:>6.3f}",
              flush=True)


if __name__ == "__main__":
    main()
