"""Engine vs scikit-learn: seconds per iteration, memory, time to convergence.

Same data, same starting parameters, one process, runs alternating between the
two libraries. Seconds per iteration are measured by difference,
(T(m1 iterations) - T(m0 iterations)) / (m1 - m0), so fixed costs (validation,
scikit-learn's own initialisation, final labelling) cancel. Peak extra memory
is tracemalloc's peak during a fit, which sees every NumPy allocation.

Sections (``--section``): ``em`` soft EM per iteration (all threads, one
thread, float32); ``kmeans`` a Lloyd iteration against scikit-learn's compiled
KMeans; ``converge`` time to convergence from the same start; ``big`` a
1e7 x 2, K=10 fit's peak memory. Not a test: run it by hand, e.g.
``python benchmarks/bench_engine.py --section all``.
"""

from __future__ import annotations

import argparse
import gc
import os
import platform
import time
import tracemalloc
import warnings

import numpy as np
from sklearn.mixture import GaussianMixture
from threadpoolctl import threadpool_limits

from gmm_studio.core import FitConfig, MixtureModel, fit
from gmm_studio.core.config import FLOAT32_MIN_FLOOR

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


def run_ours(X, start, n_iter, dtype="float64"):
    # No floor, as scikit-learn has none; float32 needs its minimum floor (1e-4),
    # which never binds on these blobs.
    floor = FLOAT32_MIN_FLOOR if dtype == "float32" else 0.0
    config = FitConfig(n_components=start.n_components, covariance_type=start.covariance_type,
                       max_iter=n_iter, tol=0.0, variance_floor=floor, dtype=dtype)
    return fit(X, config, initial_model=start)


def run_ours_f32(X, start, n_iter):
    return run_ours(X, start, n_iter, "float32")


def run_ours_1t(X, start, n_iter):
    os.environ["GMM_STUDIO_THREADS"] = "1"
    try:
        return run_ours(X, start, n_iter)
    finally:
        del os.environ["GMM_STUDIO_THREADS"]


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


def run_sklearn_1blas(X, start, n_iter):
    # On these machines OpenBLAS runs scikit-learn's tall-skinny products
    # faster on one thread than on two; report its better setting too.
    with threadpool_limits(1, user_api="blas"):
        return run_sklearn(X, start, n_iter)


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


def per_iteration_runs(X, start, m0, m1, repeats, runners):
    """Seconds per iteration of every repeat (list) for each runner, alternating."""
    times = {fn: [] for fn in runners}
    for _ in range(repeats):
        for fn in runners:
            times[fn].append((timed(fn, X, start, m1) - timed(fn, X, start, m0)) / (m1 - m0))
    return [times[fn] for fn in runners]


def per_iteration(X, start, m0, m1, repeats, runners):
    """Best-of-repeats seconds per iteration for each runner, alternating."""
    return [min(t) for t in per_iteration_runs(X, start, m0, m1, repeats, runners)]


def section_em(args) -> None:
    print("\n## Soft EM, seconds per iteration and peak extra memory\n")
    print("| N | D | K | cov | ours (all cores) | ours (1 thread) | ours float32 | "
          "sklearn | sklearn, BLAS 1 thread | ratio to best sklearn | ratio f32 | ours MB | "
          "sklearn MB | MB ratio |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for n, d, k, kind in CASES:
        n = max(int(n * args.scale), 100 * k)
        X, start = make_case(n, d, k, kind)
        m0, m1 = (1, 6) if n >= 100_000 else (5, 45)
        ours, one, f32, sk, sk1 = per_iteration(
            X, start, m0, m1, args.repeats,
            [run_ours, run_ours_1t, run_ours_f32, run_sklearn, run_sklearn_1blas])
        best = min(sk, sk1)
        ours_m, sk_m = peak_memory(run_ours, X, start, m0), peak_memory(run_sklearn, X, start, m0)
        print(f"| {n:,} | {d} | {k} | {kind} | {ours:.4f} | {one:.4f} | {f32:.4f} | {sk:.4f} | "
              f"{sk1:.4f} | {ours / best:.3f} | {f32 / best:.3f} | {ours_m:.1f} | {sk_m:.1f} | "
              f"{ours_m / sk_m:.3f} |", flush=True)


def section_kmeans(args) -> None:
    from sklearn.cluster import KMeans
    n = int(1_000_000 * args.scale)
    # One isotropic blob: Lloyd keeps moving for many iterations, so both
    # libraries run every requested iteration (checked below) and the
    # difference of two runs (2 and 22 iterations) is the cost of 20 whole ones.
    rng = np.random.default_rng(0)
    X = rng.normal(size=(n, 8))
    means = X[rng.choice(n, 10, replace=False)]
    km_start = MixtureModel(np.full(10, 0.1), means, np.ones(10), "spherical")
    m0, m1 = 2, 22

    def ours(X, _start, n_iter):
        result = fit(X, FitConfig(algorithm="kmeans", n_components=10, max_iter=n_iter),
                     initial_model=km_start)
        assert result.n_iter == n_iter, result.n_iter
        return result

    def theirs(X, _start, n_iter):
        km = KMeans(10, init=means, n_init=1, max_iter=n_iter, tol=0.0,
                    algorithm="lloyd").fit(X)
        assert km.n_iter_ == n_iter, km.n_iter_
        return km

    # Single timings vary a lot on shared machines: report the median of at
    # least five alternating repeats, and the spread of the paired ratios.
    a, b = per_iteration_runs(X, km_start, m0, m1, max(args.repeats, 5), [ours, theirs])
    ratios = np.array(a) / np.array(b)
    print(f"\n## k-means (Lloyd), seconds per iteration, N={n:,}, D=8, K=10\n")
    print("Ours also computes the log-likelihood of the implied mixture each pass.\n")
    print("| ours (median) | scikit-learn KMeans, compiled (median) | ratio of medians | "
          "paired ratios, min-max |\n|---|---|---|---|")
    print(f"| {np.median(a):.4f} | {np.median(b):.4f} | {np.median(a) / np.median(b):.2f} | "
          f"{ratios.min():.2f}-{ratios.max():.2f} |", flush=True)


def section_converge(args) -> None:
    print("\n## Soft EM to convergence from the same start (tol 1e-3 per row, as sklearn)\n")
    print("| N | D | K | ours s | iterations | sklearn s | iterations | ratio |")
    print("|---|---|---|---|---|---|---|---|")
    for n, d, k in ((int(1_000_000 * args.scale), 2, 10), (int(1_000_000 * args.scale), 8, 5)):
        X, start = make_case(n, d, k, "full")
        config = FitConfig(n_components=k, max_iter=300, tol=1e-3, variance_floor=0.0)
        t0 = time.perf_counter()
        ours = fit(X, config, initial_model=start)
        t1 = time.perf_counter()
        gm = GaussianMixture(k, weights_init=start.weights, means_init=start.means,
                             precisions_init=np.linalg.inv(start.covariances),
                             init_params="random_from_data", reg_covar=0.0, max_iter=300,
                             tol=1e-3).fit(X)
        t2 = time.perf_counter()
        print(f"| {n:,} | {d} | {k} | {t1 - t0:.2f} | {ours.n_iter} | {t2 - t1:.2f} | "
              f"{gm.n_iter_} | {(t1 - t0) / (t2 - t1):.3f} |", flush=True)


def section_big(args) -> None:
    import resource
    n = int(10_000_000 * args.scale)
    X, start = make_case(n, 2, 10, "full")
    data_mb = X.nbytes / 2**20
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    config = FitConfig(n_components=10, max_iter=20, tol=0.0, n_init=1)
    t0 = time.perf_counter()
    result = fit(X, config)
    seconds = time.perf_counter() - t0
    peak_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    extra = peak_memory(lambda X, s, m: fit(X, config), X, start, 0)
    print(f"\n## A {n:,} x 2, K=10 full fit (k-means++ start, 20 iterations)\n")
    print("| data MB | engine extra MB (tracemalloc) | process peak RSS MB | seconds |")
    print("|---|---|---|---|")
    print(f"| {data_mb:.0f} | {extra:.0f} | {max(peak_rss, before):.0f} | {seconds:.1f} |")
    del result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--scale", type=float, default=1.0, help="multiply every N by this")
    parser.add_argument("--section", default="em",
                        choices=["em", "kmeans", "converge", "big", "all"])
    args = parser.parse_args()
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores; python "
          f"{platform.python_version()}, numpy {np.__version__}, scikit-learn "
          f"{__import__('sklearn').__version__}")
    sections = {"em": section_em, "kmeans": section_kmeans, "converge": section_converge,
                "big": section_big}
    for name, run in sections.items():
        if args.section in (name, "all"):
            run(args)


if __name__ == "__main__":
    main()
