"""Choosing K: our default sweep against R's mclust, on mclust's own data sets.

For each data set (exported from R's mclust package at run time): the best
model by BIC and the seconds taken, for

- ours: ``gmm-studio select DATA -k 1-9 --covariance all`` as a whole process
  (import, read, sweep), and the sweep alone in this process;
- mclust: ``mclustBIC(G = 1:9)`` over its four models that match ours (VVV,
  EEE, VVI, VII) and over all fourteen, timed inside R (whole Rscript process
  in brackets).

BIC is shown the way GMM Studio reports it, smaller is better
(-2 log L + p log n); mclust's sign is flipped to match. Needs Rscript with
mclust (``apt-get install r-base-core r-cran-mclust``). Not a test: run it by
hand, e.g. ``python benchmarks/bench_select.py``; ``--quick`` skips mclust's
fourteen-model sweep.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from gmm_studio.core import COVARIANCE_TYPES, FitConfig
from gmm_studio.core.analysis.selection import select

DATASETS = ("faithful", "iris", "diabetes", "banknote", "thyroid", "chevron", "wreath",
            "acidity")
MCLUST_OF = {"full": "VVV", "tied": "EEE", "diag": "VVI", "spherical": "VII"}


def export(name: str, folder: Path) -> Path:
    """Write mclust's data set ``name`` (numeric columns) as CSV."""
    path = folder / f"{name}.csv"
    code = (f'suppressMessages(library(mclust)); data(list="{name}"); '
            f'd <- as.data.frame(get("{name}")); d <- Filter(is.numeric, d); '
            f'write.csv(d, "{path}", row.names = FALSE)')
    subprocess.run(["Rscript", "-e", code], check=True, capture_output=True, timeout=120)
    return path


def mclust_best(path: Path, models: list[str] | None) -> dict:
    """mclustBIC over G = 1:9 (and ``models``): best model, BIC (ours' sign), seconds."""
    names = "NULL" if models is None else "c(" + ",".join(f'"{m}"' for m in models) + ")"
    code = f'''suppressMessages(library(mclust))
        X <- as.matrix(read.csv("{path}"))
        t <- system.time(b <- mclustBIC(X, G = 1:9, modelNames = {names},
                                        verbose = FALSE))[["elapsed"]]
        best <- names(pickBIC(b, 1))
        cat(best, sprintf("%.6f", max(b, na.rm = TRUE)), sprintf("%.4f", t), "\\n")'''
    started = time.perf_counter()
    done = subprocess.run(["Rscript", "-e", code], capture_output=True, text=True, timeout=3600)
    wall = time.perf_counter() - started
    if done.returncode != 0:
        return {"best": "error", "bic": float("nan"), "seconds": float("nan"), "wall": wall}
    best, bic, seconds = done.stdout.split()
    return {"best": best, "bic": -float(bic), "seconds": float(seconds), "wall": wall}


def ours_best(path: Path) -> dict:
    """Our default sweep: whole CLI process, and the sweep alone in this process."""
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "gmm_studio", "select", str(path), "-k", "1-9",
                           "--covariance", "all", "--json"], capture_output=True, text=True,
                          timeout=3600)
    wall = time.perf_counter() - started
    best = json.loads(done.stdout)["best"] if done.returncode == 0 else None
    X = np.loadtxt(path, delimiter=",", skiprows=1, ndmin=2)
    started = time.perf_counter()
    select(X, list(range(1, 10)), COVARIANCE_TYPES,
           base=FitConfig(n_init=4, init="hierarchical"))
    inner = time.perf_counter() - started
    if best is None:
        return {"best": "error", "bic": float("nan"), "seconds": inner, "wall": wall}
    name = f"{MCLUST_OF[best['covariance_type']]},{best['k']}"
    if X.shape[1] == 1:  # tied is mclust's E, the others its V
        name = f"{'E' if best['covariance_type'] == 'tied' else 'V'},{best['k']}"
    return {"best": name, "bic": best["bic"], "seconds": inner, "wall": wall}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="skip mclust's 14-model sweep")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="gmm-bench-select-"))
    print("| data | n x d | ours best | ours BIC | ours s (sweep; process) | mclust 4 best "
          "| mclust 4 BIC | mclust 4 s (R; process) | mclust 14 best | mclust 14 BIC "
          "| mclust 14 s (R; process) |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for name in DATASETS:
        path = export(name, folder)
        shape = np.loadtxt(path, delimiter=",", skiprows=1, ndmin=2).shape
        ours = ours_best(path)
        # In one dimension mclust has two models, E (equal variance) and V.
        four = mclust_best(path, list(MCLUST_OF.values()) if shape[1] > 1 else ["E", "V"])
        all14 = {"best": "-", "bic": float("nan"), "seconds": float("nan"),
                 "wall": float("nan")} if args.quick else mclust_best(path, None)
        cells = [name, f"{shape[0]} x {shape[1]}", ours["best"], f"{ours['bic']:.2f}",
                 f"{ours['seconds']:.2f}; {ours['wall']:.2f}"]
        for res in (four, all14):
            cells += [res["best"], f"{res['bic']:.2f}",
                      f"{res['seconds']:.2f}; {res['wall']:.2f}"]
        print("| " + " | ".join(cells) + " |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
