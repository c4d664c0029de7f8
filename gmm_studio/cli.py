"""The ``gmm-studio`` command: the window, or headless fit / score on files.

    gmm-studio [DATA]              open the window (Old Faithful when no DATA)
    gmm-studio fit DATA [...]      fit a mixture, write labels / model
    gmm-studio score MODEL DATA    apply a saved model to new data
    gmm-studio select DATA [...]   choose K and the covariance type
    gmm-studio --self-test         open the window offscreen, fit the sample, exit

Exit status: 0 on success, 2 on bad usage or bad data (one line on stderr).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import replace
from pathlib import Path

from . import __version__
from .core.analysis.anomalies import DEFAULT_QUANTILE
from .core.analysis.selection import CRITERIA
from .core.analysis.subsample import SUBSAMPLE_ABOVE, big_sweep_note
from .core.config import ALGORITHMS, DEFAULT_VARIANCE_FLOOR, INITS, FitConfig
from .core.errors import GMMStudioError
from .core.text import plural

# pandas and scipy take about 0.25 s each to import, longer than choosing K
# on a small file: the commands import what they use, and `select` on a plain
# numeric CSV needs neither (core.data.numeric_text reads it).

SUBCOMMANDS = ("fit", "score", "select")


class UsageError(Exception):
    """Bad command-line usage: reported in one line, exit 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # one line instead of usage + error
        raise UsageError(f"{message} (see '{self.prog} --help')")


def _columns(text: str | None) -> list[str] | None:
    return [c.strip() for c in text.split(",") if c.strip()] if text else None


def build_parser() -> argparse.ArgumentParser:
    """The argument parser for the headless subcommands."""
    parser = _Parser(prog="gmm-studio", description=__doc__,
                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"gmm-studio {__version__}")
    sub = parser.add_subparsers(dest="command", parser_class=_Parser)
    f = sub.add_parser("fit", help="fit a mixture to a data file")
    f.add_argument("data", help="CSV, TSV, Excel (.xlsx) or Parquet file")
    f.add_argument("--columns", help="comma-separated feature columns (default: all numeric)")
    f.add_argument("--weights", help="column of non-negative row weights (e.g. counts)")
    f.add_argument("--algorithm", choices=ALGORITHMS, default="em")
    f.add_argument("-k", "--components", type=int, default=3, dest="k")
    f.add_argument("--covariance", default="full", metavar="MODEL",
                   help="full, tied, diag, spherical or any of mclust's fourteen names "
                        "(EII ... VVV; E or V for one feature)")
    f.add_argument("--sigma", type=float, metavar="S",
                   help="soft_kmeans: the fixed spread (Σ = S²I); default: the pooled "
                        "spread of the starting partition")
    f.add_argument("--free-weights", action="store_true",
                   help="soft_kmeans: fit the weights instead of keeping 1/K")
    f.add_argument("--noise", action="store_true",
                   help="add a uniform noise component over the data's bounding box (soft "
                        "EM); its rows get cluster 0 in --labels and --anomalies")
    f.add_argument("--noise-volume", type=float, metavar="V",
                   help="the noise component's volume instead of the bounding box's "
                        "(fitted units)")
    f.add_argument("--anomalies-by", choices=("density", "noise"), default="density",
                   help="flag the lowest-density rows (default) or the rows the noise "
                        "component claims (needs --noise)")
    f.add_argument("--init", choices=INITS, default="kmeans++")
    f.add_argument("--n-init", type=int, default=1)
    f.add_argument("--max-iter", type=int, default=FitConfig.max_iter)
    f.add_argument("--tol", type=float, default=FitConfig.tol)
    f.add_argument("--variance-floor", type=float, default=DEFAULT_VARIANCE_FLOOR)
    f.add_argument("--seed", type=int, default=0)
    f.add_argument("--standardize", action="store_true", help="fit z-scores of the columns")
    f.add_argument("--float32", action="store_true",
                   help="compute in single precision: faster, about 1e-5 relative accuracy")
    f.add_argument("--out-of-core", action="store_true",
                   help="stream a file bigger than memory in chunks (soft EM; builds a "
                        "binary cache once, in $GMM_STUDIO_CACHE_DIR or ~/.cache)")
    f.add_argument("--dask", metavar="local|ADDRESS",
                   help="fit on a Dask cluster: 'local' starts one on this machine's cores, "
                        "or a scheduler address such as tcp://host:8786; DATA may then be a "
                        "folder or glob of Parquet or CSV files, and --labels a folder "
                        "(needs the 'dask' extra)")
    f.add_argument("--labels", metavar="OUT.csv", help="write rows with cluster and p_<k>")
    f.add_argument("--model", metavar="OUT.json", help="write the fitted model")
    f.add_argument("--anomalies", metavar="OUT.csv",
                   help="write the lowest-density rows, most anomalous first")
    f.add_argument("--anomaly-quantile", type=float, metavar="Q",
                   help=f"flag the lowest Q fraction (default {DEFAULT_QUANTILE}); "
                        "stored in the model")
    f.add_argument("--json", action="store_true", help="print one JSON object")
    s = sub.add_parser("score", help="apply a saved model to new data")
    s.add_argument("model", help="model JSON written by 'fit --model'")
    s.add_argument("data", help="data file with the model's feature columns")
    s.add_argument("--labels", metavar="OUT.csv")
    s.add_argument("--anomalies", metavar="OUT.csv")
    group = s.add_mutually_exclusive_group()
    group.add_argument("--anomaly-quantile", type=float, metavar="Q",
                       help="threshold from the lowest Q fraction of THIS data")
    group.add_argument("--anomaly-logpdf", type=float, metavar="T",
                       help="flag rows with log p(x) <= T (default: the model's threshold)")
    s.add_argument("--json", action="store_true")
    c = sub.add_parser("select", help="choose K and the covariance type")
    c.add_argument("data")
    c.add_argument("--columns")
    c.add_argument("--weights")
    c.add_argument("-k", "--components", default="1-9", dest="k", help="e.g. 1-9 or 2,3,5")
    c.add_argument("--covariance", default="all",
                   help="all (the fourteen models), sklearn (full, tied, diag, spherical) "
                        "or a comma list of names, e.g. VVV,VEV,EEE")
    c.add_argument("--criterion", choices=CRITERIA, default="bic")
    c.add_argument("--folds", type=int, default=None,
                   help="v-fold cross-validation (default 5 with --criterion cv, else off)")
    c.add_argument("--n-init", type=int, default=4,
                   help="runs per fit (default 4: the hierarchical start, Ward's and 2 k-means++)")
    c.add_argument("--init", choices=INITS, default="hierarchical",
                   help="start of each fit (default: hierarchical; restarts from Ward's tree, "
                        "then k-means++)")
    c.add_argument("--variance-floor", type=float, default=DEFAULT_VARIANCE_FLOOR)
    c.add_argument("--seed", type=int, default=0)
    c.add_argument("--standardize", action="store_true")
    c.add_argument("--out", metavar="TABLE.csv", help="write the table as CSV")
    c.add_argument("--json", action="store_true")
    return parser


class _Progress:
    """Iteration counter on stderr, only for a terminal and only after a moment."""

    def __init__(self) -> None:
        self.start = time.perf_counter()
        self.shown = False
        self.enabled = sys.stderr.isatty()

    def __call__(self, snap) -> None:
        self.line(f"restart {snap.restart + 1}  iteration {snap.iteration}  "
                  f"log L {snap.log_likelihood:.6g}")

    def line(self, text: str) -> None:
        if self.enabled and time.perf_counter() - self.start > 0.5:
            self.shown = True
            print(f"\r{text}   ", end="", file=sys.stderr, flush=True)

    def close(self) -> None:
        if self.shown:
            print(file=sys.stderr)


def _config(args) -> FitConfig:
    return FitConfig(algorithm=args.algorithm, n_components=args.k,
                     covariance_type=args.covariance, init=args.init, n_init=args.n_init,
                     max_iter=args.max_iter, tol=args.tol, variance_floor=args.variance_floor,
                     random_state=args.seed, dtype="float32" if args.float32 else "float64",
                     sigma=args.sigma, equal_weights=not args.free_weights,
                     noise=getattr(args, "noise", False),
                     noise_volume=getattr(args, "noise_volume", None))


def cmd_fit(args) -> dict:
    """Fit, write the requested files, return the summary."""
    from .core.analysis.anomalies import anomaly_frame, threshold_from_quantile
    from .core.analysis.scoring import log_density
    from .core.data.dataset import load_dataset
    from .core.engine.fitting import fit
    from .core.files.atomic import write_csv
    from .core.files.labels import write_labels_csv
    from .core.files.model_file import save_model, saved_from_fit, summarise_fit

    if args.out_of_core or args.dask:  # data bigger than memory: on disk, or on a cluster
        from .cli_big import cmd_fit_dask, cmd_fit_out_of_core

        return cmd_fit_dask(args) if args.dask else cmd_fit_out_of_core(args)
    dataset = load_dataset(args.data, _columns(args.columns), weights=args.weights,
                           standardize=args.standardize)
    config = _config(args)
    if args.anomalies_by == "noise" and not config.noise:
        raise UsageError("--anomalies-by noise needs --noise (a noise component to claim them).")
    _check_outputs(args, dataset.source)
    progress = _Progress()
    try:
        result = fit(dataset.X, config, sample_weight=dataset.weights, callback=progress)
    finally:
        progress.close()
    if args.labels:
        write_labels_csv(args.labels, dataset, result.model)
    saved = saved_from_fit(result, dataset)
    summary = summarise_fit(result, dataset)
    if args.anomalies_by == "noise":
        frame = anomaly_frame(dataset, result.model, None, by_noise=True)
        if args.anomalies:
            write_csv(args.anomalies, frame, protect=[dataset.source])
        summary["anomaly"] = {"by": "noise", "n_flagged": int(len(frame))}
    elif args.anomalies or args.anomaly_quantile is not None:
        q = DEFAULT_QUANTILE if args.anomaly_quantile is None else args.anomaly_quantile
        threshold = threshold_from_quantile(log_density(dataset, result.model), q)
        saved = replace(saved, anomaly=threshold.to_dict())
        summary["anomaly"] = _write_anomalies(args.anomalies, dataset, result.model, threshold)
    if args.model:
        save_model(args.model, saved, protect=[dataset.source])
    return summary


def _write_anomalies(path, dataset, model, threshold) -> dict:
    from .core.analysis.anomalies import anomaly_frame
    from .core.files.atomic import write_csv

    frame = anomaly_frame(dataset, model, threshold)
    if path:
        write_csv(path, frame, protect=[dataset.source])
    return {**threshold.to_dict(), "n_flagged": int(len(frame))}


def cmd_score(args) -> dict:
    """Apply a saved model to a data file by column name."""
    from .core.analysis.anomalies import AnomalyThreshold, threshold_from_quantile
    from .core.analysis.scoring import log_density
    from .core.data.dataset import load_dataset
    from .core.files.labels import write_labels_csv
    from .core.files.model_file import load_model

    saved = load_model(args.model)
    dataset = load_dataset(args.data, list(saved.feature_names),
                           preprocessing=saved.preprocessing)
    _check_outputs(args, dataset.source)
    model = saved.model
    if args.labels:
        write_labels_csv(args.labels, dataset, model)
    dens = log_density(dataset, model)
    labels = model.predict(dataset.X)
    anomaly = None
    if args.anomalies or args.anomaly_quantile is not None or args.anomaly_logpdf is not None:
        if args.anomaly_quantile is not None:
            threshold = threshold_from_quantile(dens, args.anomaly_quantile)
        elif args.anomaly_logpdf is not None:
            threshold = AnomalyThreshold(args.anomaly_logpdf)
        else:
            threshold = AnomalyThreshold.from_dict(saved.anomaly)
            if threshold is None:
                raise UsageError("the model stores no anomaly threshold; pass "
                                 "--anomaly-quantile Q or --anomaly-logpdf T.")
        anomaly = _write_anomalies(args.anomalies, dataset, model, threshold)
    return {
        "n_components": model.n_components, "covariance_type": model.covariance_type,
        "algorithm": saved.fit.get("algorithm"), "log_likelihood": float(dens.sum()),
        "mean_log_density": float(dens.mean()),
        "cluster_sizes": [int((labels == k).sum()) for k in range(model.n_components)],
        **({"noise_rows": int((labels == -1).sum())} if model.has_noise else {}),
        "n_rows_used": dataset.n_rows, "n_rows_dropped": dataset.n_dropped,
        "features": list(saved.feature_names), "warnings": [], "anomaly": anomaly,
    }


def cmd_select(args) -> dict:
    """Sweep K x covariance types; return the table and the choice."""
    from .core.analysis.selection import parse_k_range, select
    from .core.data.numeric_text import load_features
    from .core.model.families import parse_covariance_types

    dataset = load_features(args.data, _columns(args.columns), weights=args.weights,
                            standardize=args.standardize)
    ks = parse_k_range(args.k)
    try:
        types = parse_covariance_types(args.covariance)
    except GMMStudioError as exc:
        raise UsageError(f"--covariance: {exc}") from None
    _check_outputs(args, dataset.source)
    base = FitConfig(n_init=args.n_init, init=args.init, variance_floor=args.variance_floor,
                     random_state=args.seed)
    folds = args.folds if args.folds is not None else (5 if args.criterion == "cv" else 0)
    progress = _Progress()
    rows, best = select(
        dataset.X, ks, types, criterion=args.criterion, base=base, folds=folds,
        sample_weight=dataset.weights, log_jacobian=dataset.preprocessing.log_jacobian(),
        callback=lambda row: progress.line(f"K={row.k} {row.model} done"))
    progress.close()
    table = [row.to_dict() for row in rows]
    if args.out:
        import pandas as pd

        from .core.files.atomic import write_csv

        write_csv(args.out, pd.DataFrame(table), protect=[dataset.source])
    return {"criterion": args.criterion, "folds": folds, "table": table,
            "best": None if best is None else best.to_dict(),
            "n_rows_used": dataset.n_rows, "n_rows_dropped": dataset.n_dropped,
            "features": list(dataset.feature_names)}


def print_selection(summary: dict) -> None:
    """The sweep as a text table and the choice."""
    cols = ["k", "model", "covariance_type", "log_likelihood", "bic", "aic", "icl",
            "degenerate"]
    if summary["folds"]:
        cols[-1:-1] = ["cv_mean", "cv_std"]
    print(text_table(summary["table"], cols))
    best = summary["best"]
    direction = "largest" if summary["criterion"] == "cv" else "smallest"
    if best is None:
        print(f"no non-degenerate model to choose by {summary['criterion']}")
    else:
        print(f"best by {summary['criterion']} ({direction} is better): K={best['k']}, "
              f"{_model_label(best)}")
    # Above SUBSAMPLE_ABOVE rows the rows are scored after a few passes over
    # every row: say so once; a row is listed if its subsample fit did not converge.
    big = summary["n_rows_used"] > SUBSAMPLE_ABOVE
    if big:
        print(big_sweep_note())
    for row in summary["table"]:
        if row["degenerate"]:
            print(f"degenerate: K={row['k']} {_model_label(row)}: {row['note']}")
        elif not row["converged"] and (row["note"] or not big):
            print(f"not converged: K={row['k']} {_model_label(row)}: "
                  f"{row['note'] or 'reached max_iter'}")


def text_table(rows: list[dict], cols: list[str]) -> str:
    """Rows as right-aligned columns under their names; floats to 4 decimals, None as NaN."""
    def cell(value) -> str:
        if value is None:
            return "NaN"
        return f"{value:.4f}" if isinstance(value, float) else str(value)
    cells = [cols] + [[cell(row[c]) for c in cols] for row in rows]
    widths = [max(len(line[i]) for line in cells) for i in range(len(cols))]
    return "\n".join(" ".join(v.rjust(w) for v, w in zip(line, widths, strict=True))
                     for line in cells)


def _model_label(row: dict) -> str:
    """"tied (EEE)" for scikit-learn's four, "VEV" or "E" for the others."""
    kind, name = row["covariance_type"], row["model"]
    return name if kind == name or len(name) == 1 else f"{kind} ({name})"


def _check_outputs(args, source: str | None) -> None:
    """Fail before fitting when an output cannot be written."""
    for option in ("labels", "model", "out", "anomalies"):
        out = getattr(args, option, None)
        if not out:
            continue
        folder = Path(out).parent
        if not folder.is_dir():
            raise UsageError(f"--{option}: folder {folder} does not exist.")
        if source and Path(out).exists() and Path(out).resolve() == Path(source).resolve():
            raise UsageError(f"--{option} would overwrite the input file {out}.")


def print_summary(summary: dict, command: str) -> None:
    """Short human-readable report on stdout."""
    k, cov = summary["n_components"], summary["covariance_type"]
    print(f"{command}: {plural(k, 'component')} ({cov}) on "
          f"{plural(summary['n_rows_used'], 'row')} ({summary['n_rows_dropped']:,} dropped), "
          f"features {', '.join(summary['features'])}")
    if command == "fit":
        state = "converged" if summary["converged"] else summary["status"]
        print(f"log-likelihood {summary['log_likelihood']:.6g}  BIC {summary['bic']:.6g}  "
              f"AIC {summary['aic']:.6g}  iterations {summary['n_iter']} ({state})")
        if "noise_weight" in summary:
            print(f"noise component: weight {summary['noise_weight']:.4g}, "
                  f"{plural(summary['noise_rows'], 'row')} likeliest noise (cluster 0 in files)")
    else:
        print(f"log-likelihood {summary['log_likelihood']:.6g}  "
              f"mean log density {summary['mean_log_density']:.6g}  "
              f"cluster sizes {summary['cluster_sizes']}"
              + (f", noise {summary['noise_rows']}" if "noise_rows" in summary else ""))
    anomaly = summary.get("anomaly")
    if anomaly and anomaly.get("by") == "noise":
        print(f"anomalies: {plural(anomaly['n_flagged'], 'row')} claimed by the noise component")
    elif anomaly:
        print(f"anomalies: {plural(anomaly['n_flagged'], 'row')} with log p(x) <= "
              f"{anomaly['log_density_threshold']:.6g}")
    for warning in summary["warnings"]:
        print(f"warning: {warning}")


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``gmm-studio`` command."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["--self-test"]:
        from .gui.selftest import run_self_test
        return run_self_test()
    if not argv or (argv[0] not in SUBCOMMANDS and not argv[0].startswith("-")):
        from .gui.app import main as gui_main  # Qt only when the window is wanted
        return gui_main(argv)
    try:
        args = build_parser().parse_args(argv)
        if args.command is None:
            build_parser().print_help()
            return 0
        command = {"fit": cmd_fit, "score": cmd_score, "select": cmd_select}[args.command]
        summary = command(args)
    except (UsageError, GMMStudioError) as exc:
        print(f"gmm-studio: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("gmm-studio: interrupted", file=sys.stderr)
        return 130
    if args.json:
        print(json.dumps(summary, allow_nan=False, default=str))
    elif args.command == "select":
        print_selection(summary)
    else:
        print_summary(summary, args.command)
    return 0


if __name__ == "__main__":
    sys.exit(main())
