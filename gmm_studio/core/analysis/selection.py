"""Choosing K and the covariance type: BIC, AIC, ICL and held-out likelihood."""

from __future__ import annotations

import dataclasses
import math
import threading
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from functools import partial

import numpy as np

from ..config import COVARIANCE_TYPES, FitConfig
from ..engine.batch import iterate_many
from ..engine.fitting import fit, is_dask
from ..engine.parallel import interleaved
from ..engine.prepared import Cancelled, PreparedData, prepare
from ..errors import GMMStudioError, InvalidConfigError
from ..model.families import distinct_types, mclust_name, normalise_covariance_type
from ..model.mixture import MixtureModel
from ..results import SCREENED, FitResult
from ..text import plural
from . import subsample as big_sweeps
from .held_out import cross_validate, cross_validate_many
from .metrics import classification_entropy, components_at_floor, icl
from .parts import stage_parts
from .screening import Screen
from .subsample import Subsample

CRITERIA = ("bic", "aic", "icl", "cv")


@dataclass(frozen=True)
class SelectionRow:
    """One (K, covariance type) fit of a sweep; criteria in the data's units.

    converged: EM met its tol (on more than SUBSAMPLE_ABOVE rows: on the
    subsample, before its FULL_PASSES over every row, ``subsample.big_sweep_note``).

    bic, aic, icl: smaller is better. cv_mean / cv_std: held-out mean
    log-likelihood per row over the folds (larger is better; NaN without CV).
    degenerate: a component collapsed (it sits on the variance floor), or
    the fit failed; ``note`` says which and why. ``model`` is mclust's name
    of the covariance model (E / V for one feature).
    """

    k: int
    covariance_type: str
    log_likelihood: float
    n_parameters: int
    bic: float
    aic: float
    icl: float
    cv_mean: float
    cv_std: float
    converged: bool
    degenerate: bool
    note: str = ""
    model: str = ""

    def to_dict(self) -> dict:
        """JSON-safe dict (NaN becomes None)."""
        return {k: (None if isinstance(v, float) and not math.isfinite(v) else v)
                for k, v in asdict(self).items()}


def parse_k_range(text: str) -> list[int]:
    """'1-9' or '2,3,5' or '4' into a sorted list of K values."""
    values: set[int] = set()
    try:
        for part in text.split(","):
            lo, _, hi = part.strip().partition("-")
            values.update(range(int(lo), int(hi or lo) + 1))
    except ValueError:
        raise InvalidConfigError(
            f"cannot read K range {text!r}; write e.g. 1-9 or 2,3,5.") from None
    if not values or min(values) < 1:
        raise InvalidConfigError(f"K range {text!r} must hold whole numbers >= 1.")
    return sorted(values)


# select's default search: the hierarchical start plus 3 restarts (Ward's tree, 2 k-means++).
DEFAULT_SEARCH = FitConfig(n_init=4, init="hierarchical")
# Fits a sweep refines with the base's extra restarts: the best few by BIC.
REFINE_TOP = 5
# The first stage's fits stop at this change of log L per row (or the base's
# tol, if looser); the refined ones run to the base's tol. mclust stops every
# fit at a relative change of 1e-5, which is 4e-5 per row on Old Faithful and
# 1.6e-4 on diabetes; 3e-5 here dropped Old Faithful's EEE,4 from the top
# three (and, before acceleration, changed the choice on chevron).
SCREEN_TOL = 1e-5
# In the refining stage a restart with a component on the variance floor
# for this many records in a row stops (status COLLAPSED), and its fit keeps
# its best other restart. On 569 x 30 (Wisconsin breast cancer) restarts of
# VVE at K = 7 to 9 whose start held a 2-row cluster sat on the floor from
# their first iteration to their 500th and ended degenerate, taking their
# fit's row with them; one that recovered had been on it for 10 to 30.
COLLAPSE_AFTER = 50
# Batched sweep fits take SQUAREM cycles (engine.squarem): fewer passes to the
# optima plain EM reaches (or, rarely, to others).
ACCELERATE = True


def sweep_size(n_ks: int, n_types: int, base: FitConfig | None = None) -> int:
    """How many rows ``sweep`` yields at most: one per fit, plus the refined ones again.

    Fewer when fits are degenerate (they are not refined) or cancelled.
    """
    base = base or DEFAULT_SEARCH
    extra = min(REFINE_TOP, n_ks * n_types) if _two_stage(base) else 0
    return n_ks * n_types + extra


def _two_stage(base: FitConfig) -> bool:
    return base.init == "hierarchical" and base.n_init > 1


def sweep(
    X: np.ndarray,
    ks: list[int],
    covariance_types: list[str] | tuple[str, ...] = COVARIANCE_TYPES,
    *,
    base: FitConfig | None = None,
    folds: int = 0,
    sample_weight: np.ndarray | None = None,
    log_jacobian: float = 0.0,
    cancel: threading.Event | None = None,
) -> Iterator[SelectionRow]:
    """Fit every (K, covariance type) with soft EM and yield its row as it completes.

    ``base`` carries start, restarts, seed, floor and tolerances (default: a
    hierarchical start plus three restarts, Ward's tree and two k-means++
    seeds, best kept); ``folds`` >= 2 adds v-fold cross-validation;
    ``log_jacobian`` (per row) converts likelihoods of standardised data back
    to the file's units.

    With a hierarchical start and restarts, the search runs in two stages:
    every fit from the hierarchical start alone (mclust's single start, which
    already reaches its optima) to SCREEN_TOL, then the REFINE_TOP best by BIC
    again with all of ``base``'s restarts and its tol, where restarts can
    still find better optima. On small data in memory a stage's fits run
    together (``engine.batch``, accelerated), and their rows come in the
    order the fits end.
    A refined fit is yielded a second time, for the same (K, type): callers
    keep the last row of each (``select`` does). Restarts are thus spent
    where they can change the choice, not on models far behind.
    """
    base = (base or DEFAULT_SEARCH).replace(algorithm="em")
    if folds == 1 or folds < 0:
        raise InvalidConfigError("folds must be 0 (no cross-validation) or at least 2.")
    if is_dask(X):  # rows on a cluster: prepared (and persisted) there once for all fits
        from ..distributed import prepare_dask

        if folds:
            raise InvalidConfigError("cross-validation of data on a Dask cluster is not "
                                     "available; choose K by BIC, AIC or ICL.")
        X = data = prepare_dask(X, sample_weight, cancel=cancel)
        sample_weight = None  # carried by the prepared data
    else:
        data = prepare(X, sample_weight)
    big = (Subsample.of(X, sample_weight, data, base.random_state)
           if not is_dask(X) and data.n_rows > big_sweeps.SUBSAMPLE_ABOVE else None)
    first = (base.replace(n_init=1, tol=max(base.tol, SCREEN_TOL)) if _two_stage(base)
             else base)
    # Small data in memory, or a big one's subsample: a stage's fits run in
    # batches, and on small data so do each fold's fits for cross-validation
    # (before the stage's own, per stage).
    batched = not is_dask(X)
    fitted_on = data if big is None else big.sample
    rows = []
    configs = [first.replace(n_components=k, covariance_type=t)
               for t in _distinct(covariance_types, data.n_features) for k in ks]
    held = _held_out(X, configs, folds, sample_weight, log_jacobian, cancel,
                     batched and big is None)
    metric = data.floor_metric

    def stage(part: list[FitConfig], stop, screened: bool, collapse_after=None,
              resume=None) -> Iterator[tuple[FitConfig, FitResult | None, SelectionRow]]:
        """(config, fit, row) of the configs of ``part`` as their fits end."""
        # Screening races a part's first-stage fits (a subsample's BICs are not the rows').
        screen = (Screen(part, data.n_features, data.total_weight, log_jacobian, REFINE_TOP)
                  if screened else None)
        for config, fitted in _fits(fitted_on, part, batched, stop, screen, collapse_after,
                                    resume):
            row = _row(X, config, folds, sample_weight, log_jacobian,
                       metric(config.covariance_type), stop, big, fitted, held.get(id(config)))
            if screen is not None:
                screen.add(row.bic, row.degenerate)
            yield config, fitted, row

    screened = _two_stage(base) and big is None
    first_fits = {}   # (K, type) -> the first stage's model, which refining continues
    parts = stage_parts(configs, data, batched and big is None)
    for config, fitted, row in interleaved(
            [partial(stage, part, screened=screened) for part in parts], cancel):
        if isinstance(fitted, FitResult):
            first_fits[config.n_components, config.covariance_type] = fitted.model
        rows.append(row)
        yield row
    if not _two_stage(base) or (cancel is not None and cancel.is_set()):
        return
    # Ranked in the configs' order, not the order fits ended: ties go the same way always.
    place = {(c.n_components, c.covariance_type): j for j, c in enumerate(configs)}
    rows.sort(key=lambda r: place[r.k, r.covariance_type])
    best = {(r.k, r.covariance_type): r for r in ranked_rows(rows, "bic")[:REFINE_TOP]}
    configs = [base.replace(n_components=k, covariance_type=t) for k, t in best]
    held = _held_out(X, configs, folds, sample_weight, log_jacobian, cancel,
                     batched and big is None)
    # Restart 0 is the hierarchical start again: it goes on from the first
    # stage's fit to the base's tol instead of repeating its iterations.
    sources = []
    for part in stage_parts(configs, data, batched and big is None):
        resume = {i: first_fits[c.n_components, c.covariance_type] for i, c in enumerate(part)
                  if (c.n_components, c.covariance_type) in first_fits}
        sources.append(partial(stage, part, screened=False, collapse_after=COLLAPSE_AFTER,
                               resume=resume))
    for config, _, again in interleaved(sources, cancel):
        row = best[(config.n_components, config.covariance_type)]
        # Restarts can only help: a refined fit that is worse, or degenerate
        # (every first row refined is usable), leaves the first row as it was.
        better = again.log_likelihood >= row.log_likelihood and not again.degenerate
        yield again if better else row


def _held_out(X, configs: list[FitConfig], folds: int, sample_weight, log_jacobian: float,
              cancel, batched: bool) -> dict[int, tuple[float, float, str]]:
    """Each config's cross-validation (by id), the folds' fits batched; {} if not batched.

    Empty when cancelled: the stage's fits then stop too.
    """
    if folds < 2 or not batched or (cancel is not None and cancel.is_set()):
        return {}
    try:
        held = cross_validate_many(X, configs, folds, sample_weight, log_jacobian, cancel,
                                   accelerate=ACCELERATE)
    except Cancelled:
        return {}
    return {id(config): cv for config, cv in zip(configs, held, strict=True)}


def _distinct(covariance_types, n_features: int) -> list[str]:
    """The covariance types a sweep fits: canonical names, one per distinct model."""
    return distinct_types([normalise_covariance_type(t) for t in covariance_types], n_features)


def _fits(data: PreparedData, configs: list[FitConfig], batched: bool, cancel,
          screen: Screen | None = None, collapse_after: int | None = None,
          resume: dict[int, MixtureModel] | None = None
          ) -> Iterator[tuple[FitConfig, FitResult | GMMStudioError | None]]:
    """(config, its fit) for ``_row``: from batches as fits end, or None (fit one by one).

    Batched fits come in the order they finish, raced by ``screen`` if given,
    collapsing restarts stopped after ``collapse_after`` records, first
    restarts continuing ``resume``'s models (``iterate_many``).
    Stops early when ``cancel`` is set.
    """
    if not batched:
        for config in configs:
            if cancel is not None and cancel.is_set():
                return
            yield config, None
        return
    try:
        for j, fitted in iterate_many(dataclasses.replace(data, cancel=cancel), configs,
                                      accelerate=ACCELERATE, give_up=screen,
                                      collapse_after=collapse_after, resume=resume):
            yield configs[j], fitted
    except Cancelled:
        return


def latest_rows(rows: list[SelectionRow]) -> list[SelectionRow]:
    """The last row of each (K, covariance type), in first-seen order."""
    last: dict[tuple[int, str], SelectionRow] = {}
    for row in rows:
        last[(row.k, row.covariance_type)] = row
    return list(last.values())


def _row(X, config, folds, sample_weight, log_jacobian, metric, cancel,
         subsample: Subsample | None = None,
         fitted: FitResult | GMMStudioError | None = None,
         held: tuple[float, float, str] | None = None) -> SelectionRow:
    """One sweep row: fit ``config`` (unless ``fitted`` is its fit, or its error) and score it.

    With a ``subsample``, ``fitted`` is the fit on it, refined here on every row.
    ``held``: its cross-validation when already computed (mean, std, note).
    """
    nan = float("nan")
    try:
        if isinstance(fitted, GMMStudioError):
            raise fitted
        if subsample is not None:       # a stage's fits on it are always batched
            sample_model, result = subsample.refine(config, fitted, cancel)
        elif fitted is not None:
            result = fitted
        else:
            result = fit(X, config, sample_weight=sample_weight, cancel=cancel)
    except GMMStudioError as exc:  # e.g. every restart collapsed, or K above the rows
        return SelectionRow(config.n_components, config.covariance_type, nan, 0, nan, nan, nan,
                            nan, nan, False, True, f"fit failed: {exc}",
                            mclust_name(config.covariance_type, X.shape[1]))
    ll, bic, aic = result.criteria(log_jacobian)
    if is_dask(X):  # rows on a cluster: entropy and sizes computed there, chunk by chunk
        from .. import distributed

        entropy = distributed.classification_entropy(result.model, X)
        counts = lambda: distributed.label_counts(result.model, X)  # noqa: E731
    else:
        entropy = (result.entropy if result.entropy is not None
                   else classification_entropy(result.model, X, sample_weight))
        counts = lambda: label_sizes(result.model, X)  # noqa: E731
    floored = components_at_floor(result.model, metric, config.variance_floor)
    cv_mean = cv_std = nan
    cv_note = ""
    if held is not None:
        cv_mean, cv_std, cv_note = held
    elif folds >= 2 and subsample is not None:
        cv_mean, cv_std, cv_note = subsample.held_out(sample_model, folds,
                                                      config.random_state, log_jacobian)
    elif folds >= 2 and not (cancel is not None and cancel.is_set()):
        cv_mean, cv_std, cv_note = cross_validate(X, config, folds, sample_weight,
                                                  log_jacobian, cancel)
    notes = [cv_note] if cv_note else []
    converged = result.converged
    if subsample is not None:
        # Its FULL_PASSES over every row never converge by design: whether the
        # fit converged is the subsample's.
        converged = fitted.converged
        if not converged:
            notes.append(f"did not converge on the {big_sweeps.SUBSAMPLE_ROWS:,}-row subsample")
    if result.status == SCREENED:
        notes.append(f"stopped at iteration {result.n_iter}, far behind the fits refined")
    if floored.any():
        notes.insert(0, collapse_note(floored, counts()))
    note = "; ".join(notes)
    return SelectionRow(config.n_components, config.covariance_type, ll, result.n_parameters,
                        bic, aic, icl(bic, entropy), cv_mean, cv_std, converged,
                        bool(floored.any()), note,
                        mclust_name(config.covariance_type, X.shape[1]))


def label_sizes(model, X: np.ndarray) -> np.ndarray:
    """Rows per most probable component (K,) of X (N, D); a noise component's not counted."""
    labels = model.predict(X)
    return np.bincount(labels[labels >= 0], minlength=model.n_components)


def collapse_note(floored: np.ndarray, sizes: np.ndarray) -> str:
    """Why a fit counts as degenerate, in words: which components collapsed, onto what.

    ``floored`` (K,) marks the components held by the variance floor and
    ``sizes`` (K,) counts each one's rows, so "2 rows" or "15 rows" says
    whether it is a few points or a repeated value.
    """
    parts = [f"component {k}: {plural(int(sizes[k]), 'row')}"
             for k in np.flatnonzero(floored)]
    return (f"collapsed onto repeated values or a few rows ({'; '.join(parts)}), held by "
            "the variance floor; not chosen")


def ranked_rows(rows: list[SelectionRow], criterion: str = "bic") -> list[SelectionRow]:
    """Non-degenerate rows with a finite value, best first (cv: largest mean first)."""
    if criterion not in CRITERIA:
        raise InvalidConfigError(f"unknown criterion {criterion!r}; choose {', '.join(CRITERIA)}.")
    key = "cv_mean" if criterion == "cv" else criterion
    usable = [r for r in rows if not r.degenerate and math.isfinite(getattr(r, key))]
    # A stable sort: among equal values the first row stays first.
    return sorted(usable, key=lambda r: -r.cv_mean if criterion == "cv" else getattr(r, key))


def best_row(rows: list[SelectionRow], criterion: str = "bic") -> SelectionRow | None:
    """The best non-degenerate row by ``criterion`` (cv: largest mean)."""
    ranked = ranked_rows(rows, criterion)
    return ranked[0] if ranked else None


def select(X, ks, covariance_types=COVARIANCE_TYPES, *, criterion: str = "bic",
           callback: Callable[[SelectionRow], None] | None = None, **options):
    """Run the whole sweep: (rows, best row)."""
    if criterion == "cv" and options.get("folds", 0) == 0:
        options["folds"] = 5
    if criterion == "cv" and options["folds"] < 2:
        raise InvalidConfigError(
            f"cross-validation needs at least 2 folds, got {options['folds']}; "
            "use --folds 2 or more (5 is usual).")
    rows = []
    for row in sweep(X, ks, covariance_types, **options):
        rows.append(row)
        if callback is not None:
            callback(row)
    rows = in_sweep_order(latest_rows(rows), covariance_types, np.shape(X)[1])
    return rows, best_row(rows, criterion)


def in_sweep_order(rows: list[SelectionRow], covariance_types, n_features: int
                   ) -> list[SelectionRow]:
    """Rows by covariance model (in the order asked) and then K; batches end in any order."""
    rank = {t: i for i, t in enumerate(_distinct(covariance_types, n_features))}
    return sorted(rows, key=lambda r: (rank.get(r.covariance_type, len(rank)), r.k))
