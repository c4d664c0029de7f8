"""Many soft-EM fits of small data, advanced together in one array computation.

On a few thousand rows an EM iteration is mostly NumPy call overhead (0.1 to
0.3 ms at N = 272, K = 3), and a model sweep runs some 10^4 of them. A batch
stacks the components of every run (K values, restarts, covariance models)
into C = ΣK components: the E-step is one product coef (C, F) @ feats (F, N)
per feature family (full or diagonal quadratic features of the rows, made
once for all iterations), responsibilities are normalised per run (a
segment of the product's rows), and the M-step statistics are one more
product. The M-step then runs once per stack (``stacked.stack_layout``:
the eight models with full matrices together, the six axis-aligned ones
together, all stored as (K, D, D) matrices): the means, covariances and
floor once for all its runs, and each covariance model's own pooling once
for its runs (``stacked``, ``grouped``), computing what the one-fit loop
(``em.run_em``) computes, to rounding: tests compare them.

A run leaves the batch when it converges or reaches max_iter. Whatever the
batch does not handle (an empty component to re-seed, a covariance that is
not positive definite, noise, hard EM, single precision) sends that fit back
to the ordinary loop, from its start: the same start, so the same result as
``fit``. With ``accelerate`` (the model sweep) runs take SQUAREM cycles
(``squarem``) and reach their optima in fewer passes, by other iterates.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import replace

import numpy as np

from ..config import FitConfig
from ..errors import GMMStudioError
from ..model.gaussian import precision_cholesky
from ..model.kernels import QuadraticKernel, exp_shifted, make_kernel
from ..model.mixture import MixtureModel
from ..results import COLLAPSED, CONVERGED, MAX_ITER, SCREENED, FitResult, Snapshot
from .batch_runs import Group, Run
from .batch_starts import first_stacks, partition_starts
from .em import _as_params, _initial_mstep, _to_model
from .fitting import _collect, check_components, fit_prepared
from .mstep import _EMPTY_FRACTION, MStepResult
from .notes import RunNotes
from .prepared import Cancelled, PreparedData
from .stacked import Stack, family, stack_layout

# Rows x stacked components (and rows x features) a batch holds at most: a
# few arrays of this many float64 (32 MB each). Beyond it, batches are split,
# and a fit too big for one on its own runs the ordinary loop.
MAX_CELLS = 4_000_000


def batchable(data: PreparedData, config: FitConfig) -> bool:
    """Whether ``iterate_many`` batches this fit (else it runs the ordinary loop)."""
    counted = data.n_rows if data.sample_weight is None else int(
        np.count_nonzero(data.sample_weight))
    d = data.n_features
    return (data.n_rows > 1 and config.algorithm == "em" and not config.noise
            and config.dtype == "float64"
            and not data.distributed and not getattr(data.X, "chunked", False)
            and config.n_components <= counted
            and data.n_rows * max(config.n_components * config.n_init,
                                  1 + d + d * (d + 1) // 2) <= MAX_CELLS)


def fit_many(data: PreparedData, configs: list[FitConfig]) -> list[FitResult | GMMStudioError]:
    """``fit_prepared(data, config, with_labels=False)`` for every config, in their order."""
    results: list = [None] * len(configs)
    for j, result in iterate_many(data, configs):
        results[j] = result
    return results


def iterate_many(data: PreparedData, configs: list[FitConfig], *, accelerate: bool = False,
                 give_up: Callable[[list[int], np.ndarray], np.ndarray] | None = None,
                 collapse_after: int | None = None,
                 resume: dict[int, MixtureModel] | None = None
                 ) -> Iterator[tuple[int, FitResult | GMMStudioError]]:
    """(index, fit) of every config as it finishes: ``fit_prepared(..., with_labels=False)``.

    Batchable fits run together, as many per batch as MAX_CELLS allows; the
    others, and fits that left a batch, then run one by one. A fit that cannot
    be made gives its error; a set cancel event raises Cancelled. With
    ``accelerate``, batched fits take SQUAREM cycles (``squarem``): the same
    optima in fewer passes, but not the same iterates as ``fit``.
    ``give_up(jobs, best_case)``, when given, sees each pass the config
    indices (R,) of running batched runs and the log-likelihoods they could
    reach (``Group.best_case``, NaN: not judged) and returns (R,) bool: the
    runs to stop there, with status SCREENED. ``collapse_after``, when
    given, stops a batched run (one restart) whose model has had a component
    on the variance floor for that many records in a row, with status
    COLLAPSED: its fit keeps the best restart that was not (``fitting._collect``).
    ``resume`` maps a config's index to a model its first restart continues
    from instead of its own start (in a batch; a fit that leaves the batch
    starts again): the same config's earlier fit, taken on to a tighter tol.
    """
    pending = [j for j, config in enumerate(configs) if batchable(data, config)]
    batched = set(pending)
    rest = [j for j in range(len(configs)) if j not in batched]
    while pending:
        pack, cells = [], 0
        for j in pending:
            size = data.n_rows * configs[j].n_components * configs[j].n_init
            if pack and cells + size > MAX_CELLS:
                break
            pack.append(j)
            cells += size
        pending = pending[len(pack):]
        left = yield from _run_batch(data, configs, pack, accelerate, give_up, collapse_after,
                                     resume)
        rest.extend(left)
    for j in sorted(rest):  # not batchable, or left the batch: the ordinary loop
        data.check_cancel()
        try:
            check_components(data, configs[j])
            yield j, fit_prepared(data, configs[j], with_labels=False)
        except GMMStudioError as exc:
            yield j, exc


def _run_batch(data: PreparedData, configs: list[FitConfig], jobs: list[int],
               accelerate: bool = False, give_up=None, collapse_after: int | None = None,
               resume: dict[int, MixtureModel] | None = None):
    """Run every restart of ``jobs`` together, yielding (job, FitResult) as each ends.

    ``accelerate``: SQUAREM cycles (``squarem``) instead of plain EM steps;
    ``give_up``, ``collapse_after``, ``resume``: as ``iterate_many``'s.

    Returns the jobs that left the batch (to be fitted one by one).
    """
    resume = resume or {}
    feats = {name: _features(data, name) for name in ("full", "diag")}
    empty = _EMPTY_FRACTION * data.total_weight / data.n_rows
    # A stack holds runs of one layout (stack_layout) and one variance floor.
    # Runs that start from a partition take their first M-step together
    # (batch_starts); random responsibilities are drawn run by run.
    starts: dict[tuple[str, float], list[tuple[Run, MStepResult, np.ndarray]]] = {}
    ejected: set[int] = set()
    partitioned, labels = [], []
    for j in jobs:
        config = configs[j]
        for restart, seed in enumerate(np.random.SeedSequence(config.random_state)
                                       .spawn(config.n_init)):
            rng = np.random.default_rng(seed)
            if restart == 0 and j in resume:
                starts.setdefault((stack_layout(config.covariance_type), config.variance_floor),
                                  []).append(_resumed(data, j, config, resume[j]))
                continue
            if config.init != "random":
                began = time.perf_counter()
                start_labels = partition_starts(data, config, restart, rng)
                if start_labels is None:
                    ejected.add(j)
                else:
                    partitioned.append(Run(j, restart, config, RunNotes(), began))
                    labels.append(start_labels)
                continue
            begun = _start(data, j, restart, config, rng)
            if begun is None:
                ejected.add(j)
            else:
                starts.setdefault((stack_layout(config.covariance_type),
                                   config.variance_floor), []).append(begun)
    made, out = first_stacks(data, partitioned, labels, feats, empty)
    ejected |= out
    groups = []      # (Stack, its runs, Accelerator or None), "full" family first
    for key in starts:
        # each model's runs side by side (sorted is stable: jobs keep their order)
        members = sorted(starts[key], key=lambda b: b[0].config.covariance_type)
        made.append((Stack.of([b[0].config.covariance_type for b in members],
                              [b[1] for b in members], [b[2] for b in members]),
                     [b[0] for b in members]))
    for stack, runs in sorted(made, key=lambda m: family(m[0].covariance_type)):
        alive = np.array([run.job not in ejected for run in runs])
        if alive.any():
            stack.keep(alive)
            groups.append(Group.of(stack, [run for run, a in zip(runs, alive, strict=True)
                                            if a], accelerate))
    started: dict[int, float] = {}
    for group in groups:
        for run in group.runs:
            started[run.job] = min(started.get(run.job, run.started), run.started)
    finals: dict[int, dict[int, Snapshot]] = {}
    histories: dict[int, dict[int, list[float]]] = {}
    entropies: dict[tuple[int, int], float] = {}
    while groups:
        data.check_cancel()
        passes = {}
        # Runs leave when ejected in this pass (earlier ones' jobs are gone by
        # now): the scans below over every run are skipped in the usual pass.
        known = len(ejected)
        for name in ("full", "diag"):
            members = [g for g in groups if family(g.stack.covariance_type) == name]
            if not members:
                continue
            resp, log_l = _e_step(data, [g.stack for g in members], feats[name])
            acc = resp @ feats[name].T
            row = run = 0
            for group in members:
                size, count = int(group.stack.sizes.sum()), len(group.runs)
                passes[id(group)] = (acc[row:row + size], log_l[run:run + count],
                                     resp[row:row + size])
                row, run = row + size, run + count
        kept = []
        for group in groups:
            stack, runs = group.stack, group.runs
            acc, log_l, resp = passes[id(group)]
            converged, out, back = group.record(log_l, data.total_weight)
            going = ~(converged | out)
            stopped = np.zeros_like(going)
            if give_up is not None and going.any():
                best = group.best_case()
                judged = going & ~np.isnan(best)
                stopped[judged] = give_up([runs[r].job for r in np.flatnonzero(judged)],
                                          best[judged])
                going &= ~stopped
            collapsed = np.zeros_like(going)
            if collapse_after is not None and going.any():
                collapsed = going & (group.count_floor(data) >= collapse_after)
                going &= ~collapsed
            for r in np.flatnonzero(~going).tolist():
                run = runs[r]
                status = (CONVERGED if converged[r] else SCREENED if stopped[r]
                          else COLLAPSED if collapsed[r] else MAX_ITER)
                run.iteration = int(group.passes[r])
                params = stack.run_params(r)
                run.notes.floored = params.floored   # the last M-step's, as in em._mstep
                # The E-step just made used these factors: the model need not redo them.
                model = _to_model(params, data, run.config, prec_chol=stack.run_precisions(r))
                finals.setdefault(run.job, {})[run.restart] = Snapshot(
                    run.restart, run.iteration, model, run.history[-1],
                    time.perf_counter() - run.started, status,
                    run.notes.finish(status, run.iteration, run.config))
                histories.setdefault(run.job, {})[run.restart] = run.history
                # This E-step was the final model's own: its entropy comes free.
                lo = int(stack.segments.starts[r])
                entropies[run.job, run.restart] = _entropy(
                    resp[lo:lo + int(stack.sizes[r])], data.sample_weight)
                if len(finals[run.job]) == configs[run.job].n_init and run.job not in ejected:
                    result = _collect(data, configs[run.job], histories[run.job],
                                      finals[run.job], started[run.job], False, ())
                    yield run.job, replace(
                        result, entropy=entropies[run.job, result.best_restart])
            # A component with no rows is re-seeded by the one-fit loop: its run leaves.
            has_empty = np.minimum.reduceat(acc[:, 0], stack.segments.starts) < empty
            ejected.update(runs[r].job for r in np.flatnonzero(going & has_empty & ~back))
            if len(ejected) > known:
                going &= np.array([run.job not in ejected for run in runs])
            if not going.any():
                continue
            rows = np.repeat(going, stack.sizes)
            group.keep(going)
            before = (stack.weights, stack.means, stack.covariances)
            failed = stack.m_step(data, acc[rows], group.runs[0].config.variance_floor)
            if group.accel is not None:
                group.accel.step(stack, before, log_l[going], back[going])
            # A run going back to θ2 drops this M-step's result, failed or not.
            ejected.update(group.runs[r].job for r in np.flatnonzero(failed & ~back[going]))
            group.passes += 1
            kept.append(group)
        if len(ejected) == known:
            groups = kept
            continue
        groups = []
        for group in kept:
            alive = np.array([run.job not in ejected for run in group.runs])
            if alive.any():
                group.keep(alive)
                groups.append(group)
    return [j for j in jobs if j in ejected]


def _start(data, job, restart, config, rng) -> tuple[Run, MStepResult, np.ndarray] | None:
    """A run, its initial parameters and their precision factors, as ``run_em`` makes them.

    None when the start needed a re-seed or failed: the fit leaves the batch.
    """
    started = time.perf_counter()
    notes = RunNotes()
    kernel = make_kernel(data.n_features, config.n_components, config.covariance_type)
    try:
        params = _initial_mstep(data, config, kernel, rng, notes, restart)
        if notes.reseeds or params.empty:
            return None
        prec = precision_cholesky(params.covariances, config.covariance_type)
    except (GMMStudioError, Cancelled):
        return None
    return Run(job, restart, config, notes, started), params, prec


def _resumed(data, job, config, model: MixtureModel) -> tuple[Run, MStepResult, np.ndarray]:
    """Restart 0 of ``job`` from ``model`` (its own config's): a run, its parameters, factors."""
    params = _as_params(model, data)
    return (Run(job, 0, config, RunNotes(), time.perf_counter()), params,
            precision_cholesky(params.covariances, config.covariance_type))


def _entropy(resp: np.ndarray, sample_weight: np.ndarray | None) -> float:
    """-sum_n w_n sum_k r_nk log r_nk from one run's row-weighted responsibilities (K, N)."""
    if sample_weight is not None:
        with np.errstate(divide="ignore", invalid="ignore"):
            unweighted = resp / sample_weight
    else:
        unweighted = resp
    with np.errstate(divide="ignore", invalid="ignore"):
        return float(-np.where(resp > 0, resp * np.log(unweighted), 0.0).sum())


def _features(data: PreparedData, name: str) -> np.ndarray:
    """Quadratic features (F, N) of every centred row, made once for the whole batch."""
    kernel = QuadraticKernel(data.n_features, 1, name)
    xt = data.centred(0, data.n_rows)
    return kernel.features(xt, np.empty((kernel.n_feat, data.n_rows)))


def _e_step(data, stacks: list[Stack], feats) -> tuple[np.ndarray, np.ndarray]:
    """Responsibilities (C, N), weighted by rows, and each run's log-likelihood (R,)."""
    if len(stacks) == 1:    # the usual case: a family's runs are one stack
        sizes, starts = stacks[0].sizes, stacks[0].segments.starts
        params = stacks[0].weights, stacks[0].means, stacks[0].kernel_prec()
    else:
        sizes = np.concatenate([s.sizes for s in stacks])
        starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
        params = (np.concatenate([s.weights for s in stacks]),
                  np.concatenate([s.means for s in stacks]),
                  np.concatenate([s.kernel_prec() for s in stacks]))
    kernel = QuadraticKernel(data.n_features, len(params[0]), family(stacks[0].covariance_type))
    kernel.set_params(*params)
    wlp = kernel.coef @ feats
    # One shift per row for every run (the largest term of any run) instead of
    # each run's own: exp then keeps full precision unless a run's terms all
    # lie ~600 below another run's, and then the run's own shift is taken.
    top = wlp.max(axis=0)
    total = _shifted_sums(wlp, top, starts)
    if total.min() < _SHIFT_TOO_FAR:
        wlp = kernel.coef @ feats
        top = np.maximum.reduceat(wlp, starts, axis=0)          # (R, N)
        total = _shifted_sums(wlp, np.repeat(top, sizes, axis=0), starts)
    wlp /= np.repeat(total, sizes, axis=0)
    log_dens = top + np.log(total)
    if data.sample_weight is None:
        return wlp, log_dens.sum(axis=1)
    wlp *= data.sample_weight
    return wlp, log_dens @ data.sample_weight


# A run's sum of exp-shifted terms below this had its terms ~600 below the shift.
_SHIFT_TOO_FAR = 1e-260


def _shifted_sums(wlp: np.ndarray, top: np.ndarray, starts: np.ndarray) -> np.ndarray:
    """exp(wlp - top) in place (C, N), clamped as the one-fit E-step does; per-run sums (R, N).

    ``top`` is (N,) for all runs or (C, N) per component.
    """
    exp_shifted(wlp, top)
    return np.add.reduceat(wlp, starts, axis=0)
