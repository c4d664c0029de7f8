"""Choosing K: our default sweep against R's mclust, on mclust's own data sets.

For each data set (exported from R's mclust package at run time): the best
model by BIC and the seconds taken, for

- ours: ``gmm-studio select DATA -k 1-9 --covariance all`` as a whole process
  (import, read, sweep), and the sweep alone in this process;
- mclust: ``mclustBIC(G = 1:9)`` over all fourteen models, timed inside R
  and as a whole Rscript process (``--four``: also over the four that are
  scikit-learn's, VVV, EEE, VVI and VII).

Whole-process seconds are the best of ``--repeat`` runs (5) on both sides,
the sides taking turns, with gmm_studio byte-compiled first as an installed
package is.

BIC is shown the way GMM Studio reports it, smaller is better
(-2 log L + p log n); mclust's sign is flipped to match. Needs Rscript with
mclust (``apt-get install r-base-core r-cran-mclust``). Not a test: run it by
hand, e.g. ``python benchmarks/bench_select.py``; ``--csv FILE ...`` adds
data sets of your own, ``--only NAME ...`` picks some of mclust's, and
``--breast-cancer`` times scikit-learn's 569 x 30 data set (needs
scikit-learn) against mclust's four-model sweep.
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
from gmm_studio.core.data.samples import correlated_features

DATASETS = ("faithful", "iris", "diabetes", "banknote", "thyroid", "chevron", "wreath",
            "acidity")


def export(name: str, folder: Path) -> Path:
    """Write mclust's data set ``name`` (numeric columns) as CSV."""
    path = folder / f"{name}.csv"
    code = (f'suppressMessages(library(mclust)); data(list="{name}"); '
            f'd <- as.data.frame(get("{name}")); d <- Filter(is.numeric, d); '
            f'write.csv(d, "{path}", row.names = FALSE)')
    subprocess.run(["Rscript", "-e", code], check=True, capture_output=True, timeout=120)
    return path


# Whole-process seconds are the best of this many runs, for both sides, the
# sides taking turns: on a shared machine one run of a half-second process
# varies by 20 % or more, and the machine's speed drifts over a minute.
REPEAT = 5


def _timed(command: list[str]):
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, timeout=3600)
    return done, time.perf_counter() - started


def _taking_turns(commands: list[list[str]], repeat: int) -> list[tuple]:
    """Run each command ``repeat`` times, in turn: (its last run, its fewest seconds) each."""
    runs: list[list] = [[] for _ in commands]
    for _ in range(repeat):
        for command, done in zip(commands, runs, strict=True):
            done.append(_timed(command))
    return [(done[-1][0], min(seconds for _, seconds in done)) for done in runs]


def compile_ours() -> None:
    """Byte-compile gmm_studio, as an installed package is (pip compiles at install).

    Where PYTHONDONTWRITEBYTECODE is set, an editable install would otherwise
    compile every module again in each process (~40 ms here); R's packages,
    mclust among them, are byte-compiled when installed.
    """
    import compileall

    import gmm_studio

    compileall.compile_dir(str(Path(gmm_studio.__file__).parent), quiet=1)


def mclust_command(path: Path, models: list[str] | None) -> list[str]:
    """Rscript running mclustBIC over G = 1:9 (and ``models``; all fourteen if None)."""
    names = "NULL" if models is None else "c(" + ",".join(f'"{m}"' for m in models) + ")"
    code = f'''suppressMessages(library(mclust))
        X <- as.matrix(read.csv("{path}"))
        t <- system.time(b <- mclustBIC(X, G = 1:9, modelNames = {names},
                                        verbose = FALSE))[["elapsed"]]
        best <- names(pickBIC(b, 1))
        cat(best, sprintf("%.6f", max(b, na.rm = TRUE)), sprintf("%.4f", t), "\\n")'''
    return ["Rscript", "-e", code]


def mclust_result(done, wall: float) -> dict:
    """Best model, BIC (ours' sign) and seconds of an ``mclust_command`` run."""
    if done.returncode != 0:
        return {"best": "error", "bic": float("nan"), "seconds": float("nan"), "wall": wall}
    best, bic, seconds = done.stdout.split()
    return {"best": best, "bic": -float(bic), "seconds": float(seconds), "wall": wall}


def ours_command(path: Path, covariance: str = "all") -> list[str]:
    """Our default sweep as a whole CLI process."""
    return [sys.executable, "-m", "gmm_studio", "select", str(path), "-k", "1-9",
            "--covariance", covariance, "--json"]


def ours_result(done, wall: float, path: Path, covariance: str = "all") -> dict:
    """An ``ours_command`` run's best, and the sweep alone timed in this process."""
    best = json.loads(done.stdout)["best"] if done.returncode == 0 else None
    X = np.loadtxt(path, delimiter=",", skiprows=1, ndmin=2)
    started = time.perf_counter()
    types = COVARIANCE_TYPES if covariance == "all" else ("full", "tied", "diag", "spherical")
    select(X, list(range(1, 10)), types, base=FitConfig(n_init=4, init="hierarchical"))
    inner = time.perf_counter() - started
    if best is None:
        return {"best": "error", "bic": float("nan"), "seconds": inner, "wall": wall}
    return {"best": f"{best['model']},{best['k']}", "bic": best["bic"], "seconds": inner,
            "wall": wall}


def breast_cancer(folder: Path, repeat: int) -> int:
    """569 x 30: our sweeps (14 and 4 models) against mclust's four-model sweep.

    Best of ``repeat`` whole-process runs each, the three taking turns.
    """
    from sklearn.datasets import load_breast_cancer

    data = load_breast_cancer()
    path = folder / "breast_cancer.csv"
    np.savetxt(path, data.data, delimiter=",", fmt="%.10g", comments="",
               header=",".join(n.replace(" ", "_") for n in data.feature_names))
    print("| sweep | best | BIC | s (sweep; process) |")
    print("|---|---|---|---|")
    sides = (("ours, 14 models", "all"), ("ours, 4 models", "sklearn"))
    runs = _taking_turns([ours_command(path, covariance) for _, covariance in sides]
                         + [mclust_command(path, ["VVV", "EEE", "VVI", "VII"])], repeat)
    for (label, covariance), (done, wall) in zip(sides, runs[:-1], strict=True):
        ours = ours_result(done, wall, path, covariance)
        print(f"| {label} | {ours['best']} | {ours['bic']:.2f} | {ours['seconds']:.2f}; "
              f"{ours['wall']:.2f} |", flush=True)
    four = mclust_result(*runs[-1])
    print(f"| mclust, 4 models | {four['best']} | {four['bic']:.2f} | {four['seconds']:.2f}; "
          f"{four['wall']:.2f} |")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--four", action="store_true",
                        help="also time mclust's sweep over its four scikit-learn models")
    parser.add_argument("--csv", nargs="*", default=[],
                        help="more data files (numeric columns) to compare on")
    parser.add_argument("--only", nargs="*", help="only these of mclust's data sets")
    parser.add_argument("--breast-cancer", action="store_true",
                        help="only scikit-learn's breast cancer data (569 x 30): ours with all "
                             "fourteen models and with four, against mclust's four (its "
                             "fourteen take over 35 minutes there)")
    parser.add_argument("--correlated", action="store_true",
                        help="add 600 x 30 strongly correlated features (samples."
                             "correlated_features; mclust takes about 10 minutes on it)")
    parser.add_argument("--repeat", type=int, default=REPEAT,
                        help="whole-process runs per measurement, the best kept (both sides)")
    args = parser.parse_args()
    compile_ours()
    folder = Path(tempfile.mkdtemp(prefix="gmm-bench-select-"))
    if args.breast_cancer:
        return breast_cancer(folder, args.repeat)
    header = ["data", "n x d", "ours best", "ours BIC", "ours s (sweep; process)",
              "mclust best", "mclust BIC", "mclust s (R; process)", "ours - mclust BIC"]
    if args.four:
        header += ["mclust 4 best", "mclust 4 BIC", "mclust 4 s (R; process)"]
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    paths = [export(name, folder) for name in (args.only or DATASETS)] + [Path(p) for p in args.csv]
    if args.correlated:
        paths.append(folder / "correlated30.csv")
        np.savetxt(paths[-1], correlated_features(), delimiter=",", fmt="%.17g",
                   header=",".join(f"f{i}" for i in range(30)), comments="")
    for path in paths:
        shape = np.loadtxt(path, delimiter=",", skiprows=1, ndmin=2).shape
        # In one dimension mclust has two models, E (equal variance) and V.
        four_models = ["VVV", "EEE", "VVI", "VII"] if shape[1] > 1 else ["E", "V"]
        commands = [ours_command(path), mclust_command(path, None)]
        if args.four:
            commands.append(mclust_command(path, four_models))
        runs = _taking_turns(commands, args.repeat)
        ours = ours_result(*runs[0], path)
        all14 = mclust_result(*runs[1])
        cells = [path.stem, f"{shape[0]} x {shape[1]}", ours["best"], f"{ours['bic']:.2f}",
                 f"{ours['seconds']:.2f}; {ours['wall']:.2f}", all14["best"],
                 f"{all14['bic']:.2f}", f"{all14['seconds']:.2f}; {all14['wall']:.2f}",
                 f"{ours['bic'] - all14['bic']:+.2f}"]
        if args.four:
            four = mclust_result(*runs[2])
            cells += [four["best"], f"{four['bic']:.2f}", f"{four['seconds']:.2f}; "
                      f"{four['wall']:.2f}"]
        print("| " + " | ".join(cells) + " |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
