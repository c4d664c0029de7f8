"""Seconds per EM pass on a Dask LocalCluster against the in-process engine, one run.

Rows are generated on the cluster (dask.array.random, chunks of ``--chunk``
rows) and persisted there; the same rows are computed into this process for
the in-process engine. Both fits start from the same model and run
``--passes`` EM iterations (tol 0), and the seconds between consecutive
snapshots are the cost of one pass (E-step, statistics, M-step). Not a test:
run it by hand, e.g. ``python benchmarks/bench_dask.py`` (1e7 x 8 rows,
about 1.3 GB of memory for both copies).
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np


def per_pass(X, config, start) -> tuple[float, float, int]:
    """Median and minimum seconds per pass, and the passes timed."""
    from gmm_studio.core import fit

    stamps = []
    fit(X, config, initial_model=start, callback=lambda s: stamps.append(time.perf_counter()))
    gaps = np.diff(stamps)
    return float(np.median(gaps)), float(gaps.min()), len(gaps)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=float, default=1e7)
    parser.add_argument("--features", type=int, default=8)
    parser.add_argument("-k", type=int, default=4)
    parser.add_argument("--chunk", type=int, default=500_000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--passes", type=int, default=5)
    args = parser.parse_args()

    import dask.array as da
    from distributed import Client, LocalCluster

    from gmm_studio.core import FitConfig, fit

    n, d = int(args.rows), args.features
    config = FitConfig(n_components=args.k, tol=0.0, max_iter=args.passes)
    with LocalCluster(n_workers=args.workers, threads_per_worker=1, processes=True,
                      dashboard_address=None, silence_logs=40) as cluster, Client(cluster):
        rs = da.random.RandomState(0)
        shift = da.from_array(np.repeat(np.arange(args.k) * 3.0, 1)[:, None], chunks=-1)
        labels = rs.randint(0, args.k, size=n, chunks=args.chunk)
        X = (rs.standard_normal((n, d), chunks=(args.chunk, d)) + shift[labels]).persist()
        local = X.compute()
        start = fit(local[:200_000], config.replace(max_iter=20, tol=1e-6)).model
        t0 = time.perf_counter()
        cluster_median, cluster_min, timed = per_pass(X, config, start)
        cluster_total = time.perf_counter() - t0
        here_median, here_min, _ = per_pass(local, config, start)
    print("| rows x features | K | chunks | workers | cluster s/pass (median; min) | "
          "in-process s/pass (median; min) | ratio | cluster fit s (incl. prepare) |")
    print("|---|---|---|---|---|---|---|---|")
    print(f"| {n:.0e} x {d} | {args.k} | {-(-n // args.chunk)} | {args.workers} | "
          f"{cluster_median:.3f}; {cluster_min:.3f} | {here_median:.3f}; {here_min:.3f} | "
          f"{cluster_median / here_median:.2f} | {cluster_total:.1f} ({timed} passes) |")
    print(f"(this machine: {os.cpu_count()} cores)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
