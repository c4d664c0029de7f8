"""The ``gmm-studio`` command: the window, or headless fit / score on files.

    gmm-studio [DATA]              open the window (Old Faithful when no DATA)
    gmm-studio fit DATA [...]      fit a mixture, write labels / model
    gmm-studio score MODEL DATA    apply a saved model to new data

Exit status: 0 on success, 2 on bad usage or bad data (one line on stderr).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from . import __version__
from .core import FitConfig, GMMStudioError
from .core.config import ALGORITHMS, COVARIANCE_TYPES, DEFAULT_VARIANCE_FLOOR, INITS
from .core.dataset import load_dataset
from .core.engine import fit
from .core.export import log_density, write_labels_csv
from .core.modelio import load_model, save_model, saved_from_fit, summarise_fit

SUBCOMMANDS = ("fit", "score")


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
    f.add_argument("--covariance", choices=COVARIANCE_TYPES, default="full")
    f.add_argument("--init", choices=INITS, default="kmeans++")
    f.add_argument("--n-init", type=int, default=1)
    f.add_argument("--max-iter", type=int, default=FitConfig.max_iter)
    f.add_argument("--tol", type=float, default=FitConfig.tol)
    f.add_argument("--variance-floor", type=float, default=DEFAULT_VARIANCE_FLOOR)
    f.add_argument("--seed", type=int, default=0)
    f.add_argument("--standardize", action="store_true", help="fit z-scores of the columns")
    f.add_argument("--labels", metavar="OUT.csv", help="write rows with cluster and p_<k>")
    f.add_argument("--model", metavar="OUT.json", help="write the fitted model")
    f.add_argument("--json", action="store_true", help="print one JSON object")
    s = sub.add_parser("score", help="apply a saved model to new data")
    s.add_argument("model", help="model JSON written by 'fit --model'")
    s.add_argument("data", help="data file with the model's feature columns")
    s.add_argument("--labels", metavar="OUT.csv")
    s.add_argument("--json", action="store_true")
    return parser


class _Progress:
    """Iteration counter on stderr, only for a terminal and only after a moment."""

    def __init__(self) -> None:
        self.start = time.perf_counter()
        self.shown = False
        self.enabled = sys.stderr.isatty()

    def __call__(self, snap) -> None:
        if self.enabled and time.perf_counter() - self.start > 0.5:
            self.shown = True
            print(f"\rrestart {snap.restart + 1}  iteration {snap.iteration}  "
                  f"log L {snap.log_likelihood:.6g}   ", end="", file=sys.stderr, flush=True)

    def close(self) -> None:
        if self.shown:
            print(file=sys.stderr)


def cmd_fit(args) -> dict:
    """Fit, write the requested files, return the summary."""
    dataset = load_dataset(args.data, _columns(args.columns), weights=args.weights,
                           standardize=args.standardize)
    config = FitConfig(algorithm=args.algorithm, n_components=args.k,
                       covariance_type=args.covariance, init=args.init, n_init=args.n_init,
                       max_iter=args.max_iter, tol=args.tol,
                       variance_floor=args.variance_floor, random_state=args.seed)
    _check_outputs(args, dataset.source)
    progress = _Progress()
    try:
        result = fit(dataset.X, config, sample_weight=dataset.weights, callback=progress)
    finally:
        progress.close()
    if args.labels:
        write_labels_csv(args.labels, dataset, result.model)
    if args.model:
        save_model(args.model, saved_from_fit(result, dataset), protect=[dataset.source])
    return summarise_fit(result, dataset)


def cmd_score(args) -> dict:
    """Apply a saved model to a data file by column name."""
    saved = load_model(args.model)
    dataset = load_dataset(args.data, list(saved.feature_names),
                           preprocessing=saved.preprocessing)
    _check_outputs(args, dataset.source)
    model = saved.model
    if args.labels:
        write_labels_csv(args.labels, dataset, model)
    dens = log_density(dataset, model)
    labels = model.predict(dataset.X)
    return {
        "n_components": model.n_components, "covariance_type": model.covariance_type,
        "algorithm": saved.fit.get("algorithm"), "log_likelihood": float(dens.sum()),
        "mean_log_density": float(dens.mean()),
        "cluster_sizes": [int((labels == k).sum()) for k in range(model.n_components)],
        "n_rows_used": dataset.n_rows, "n_rows_dropped": dataset.n_dropped,
        "features": list(saved.feature_names), "warnings": [],
    }


def _check_outputs(args, source: str | None) -> None:
    """Fail before fitting when an output cannot be written."""
    for option in ("labels", "model"):
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
    print(f"{command}: {k} components ({cov}) on {summary['n_rows_used']} rows "
          f"({summary['n_rows_dropped']} dropped), features {', '.join(summary['features'])}")
    if command == "fit":
        state = "converged" if summary["converged"] else summary["status"]
        print(f"log-likelihood {summary['log_likelihood']:.6g}  BIC {summary['bic']:.6g}  "
              f"AIC {summary['aic']:.6g}  iterations {summary['n_iter']} ({state})")
    else:
        print(f"log-likelihood {summary['log_likelihood']:.6g}  "
              f"mean log density {summary['mean_log_density']:.6g}  "
              f"cluster sizes {summary['cluster_sizes']}")
    for warning in summary["warnings"]:
        print(f"warning: {warning}")


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``gmm-studio`` command."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or (argv[0] not in SUBCOMMANDS and not argv[0].startswith("-")):
        from .gui.app import main as gui_main  # Qt only when the window is wanted
        return gui_main(argv)
    try:
        args = build_parser().parse_args(argv)
        if args.command is None:
            build_parser().print_help()
            return 0
        summary = cmd_fit(args) if args.command == "fit" else cmd_score(args)
    except (UsageError, GMMStudioError) as exc:
        print(f"gmm-studio: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("gmm-studio: interrupted", file=sys.stderr)
        return 130
    if args.json:
        print(json.dumps(summary, allow_nan=False, default=str))
    else:
        print_summary(summary, args.command)
    return 0


if __name__ == "__main__":
    sys.exit(main())
