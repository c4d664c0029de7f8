"""A batch's stacked parameters and run bookkeeping, piece by piece.

The batched E-step's shift, each stack's precision factors (marked, refreshed,
a partial stack's tied-factor map) and a group's pace of gains, each against
its definition; ``test_batch`` checks whole batched fits against one-fit ones.
"""

from pathlib import Path

import numpy as np
import pytest

from gmm_studio.core import FitConfig
from gmm_studio.core.engine import batch
from gmm_studio.core.engine.batch_runs import PACE_WINDOW
from gmm_studio.core.engine.prepared import prepare

FAITHFUL = np.loadtxt(Path(__file__).resolve().parents[2] / "assets" / "old_faithful.csv",
                      delimiter=",", skiprows=1)


@pytest.mark.parametrize("far", [False, True])
def test_the_batched_e_step_keeps_runs_far_below_the_others_exact(far):
    # One shift serves every run unless a run lies far below another; then
    # that run's own shift must be used, or its responsibilities are lost.
    from scipy.special import logsumexp
    from scipy.stats import multivariate_normal

    from gmm_studio.core.engine.mstep import MStepResult
    from gmm_studio.core.engine.stacked import Stack
    from gmm_studio.core.model.gaussian import precision_cholesky

    data = prepare(FAITHFUL)
    centred = FAITHFUL - data.centre
    runs = [(np.array([0.4, 0.6]), centred[[0, 1]], np.array([np.cov(centred.T)] * 2)),
            # far: thin components away from every row, log densities ~1e5 below the others
            (np.array([0.5, 0.5]), centred[[2, 3]] + (300.0 if far else 0.0),
             np.array([np.eye(2) * 1e-2, np.eye(2) * 2e-2]) if far
             else np.array([np.cov(centred.T) * 2] * 2)),
            (np.array([1.0]), centred[[4]], np.array([np.cov(centred.T)]))]
    starts = [MStepResult(w, m, c, np.zeros(len(w), bool), []) for w, m, c in runs]
    stack = Stack.of(["full"] * 3, starts, [precision_cholesky(s.covariances, "full")
                                             for s in starts])
    resp, log_l = batch._e_step(data, [stack], batch._features(data, "full"))
    lo = 0
    for r, (w, m, c) in enumerate(runs):
        dens = np.array([np.log(wk) + multivariate_normal(mk, ck).logpdf(centred)
                         for wk, mk, ck in zip(w, m, c, strict=True)])
        np.testing.assert_allclose(log_l[r], logsumexp(dens, axis=0).sum(), rtol=1e-10)
        np.testing.assert_allclose(resp[lo:lo + len(w)], np.exp(dens - logsumexp(dens, axis=0)),
                                   atol=1e-10)
        lo += len(w)


@pytest.mark.parametrize("kind", ["full", "VEV", "diag", "tied"])
def test_a_run_without_precision_factors_is_marked_and_the_others_keep_theirs(kind):
    from gmm_studio.core.engine.stacked import Stack
    from gmm_studio.core.model.gaussian import precision_cholesky

    rng = np.random.default_rng(3)
    a = rng.standard_normal((5, 3, 3))
    cov = a @ np.swapaxes(a, 1, 2) + np.eye(3)                     # 3 runs: 2 + 2 + 1
    if kind == "diag":
        cov = np.diagonal(cov, axis1=1, axis2=2)[:, :, None] * np.eye(3)
        cov[2, 1, 1] = -1.0
    elif kind == "tied":
        cov[1], cov[3] = cov[0], cov[2]                           # one matrix per run
        cov[[2, 3]] = -np.eye(3)
    else:
        cov[2] = -np.eye(3)                                    # run 1's first component
    sizes = np.array([2, 2, 1])
    stack = Stack(kind, np.array([kind] * 3, dtype=object), sizes, np.zeros(5),
                  np.zeros((5, 3)), cov, np.zeros_like(cov), np.zeros(5, dtype=bool))
    bad = np.zeros(3, dtype=bool)
    prec = stack._precisions(cov, bad)
    assert list(bad) == [False, True, False]
    keep = [0, 1, 4]
    np.testing.assert_allclose(prec[keep], precision_cholesky(cov[keep], "full"), rtol=1e-12)
    np.testing.assert_array_equal(prec[[2, 3]], np.broadcast_to(np.eye(3), (2, 3, 3)))


@pytest.mark.parametrize("kind", ["full", "tied"])
def test_refreshing_some_runs_factorises_theirs_and_leaves_the_others_as_they_were(kind):
    from gmm_studio.core.engine.stacked import Stack
    from gmm_studio.core.model.gaussian import precision_cholesky

    rng = np.random.default_rng(4)
    a = rng.standard_normal((7, 3, 3))
    cov = a @ np.swapaxes(a, 1, 2) + np.eye(3)                    # runs of 2, 3 and 2
    sizes = np.array([2, 3, 2])
    if kind == "tied":
        cov[1], cov[3], cov[4], cov[6] = cov[0], cov[2], cov[2], cov[5]
    cov[5:] = -np.eye(3)                                       # run 2 has no factor
    old = rng.standard_normal((7, 3, 3))                       # stand-ins: kept as they are
    stack = Stack(kind, np.array([kind] * 3, dtype=object), sizes, np.zeros(7),
                  np.zeros((7, 3)), cov, old.copy(), np.zeros(7, dtype=bool))
    bad = stack.refresh_precisions(np.array([False, True, True]))
    assert list(bad) == [False, False, True]
    np.testing.assert_array_equal(stack.prec_chol[:2], old[:2])
    np.testing.assert_array_equal(stack.prec_chol[2:5], precision_cholesky(cov[2:5], "full"))
    np.testing.assert_array_equal(stack.prec_chol[5:], np.broadcast_to(np.eye(3), (2, 3, 3)))
    assert not stack.refresh_precisions(np.zeros(3, dtype=bool)).any()
    np.testing.assert_array_equal(stack.prec_chol[:2], old[:2])


def test_a_partial_stack_takes_its_tied_factor_map_from_the_whole_stack():
    # _factored_part against the map a partial stack builds from its own models,
    # for every choice of runs from a stack of full, tied and full runs.
    from dataclasses import replace
    from itertools import product

    from gmm_studio.core.engine.stacked import Stack

    kinds = np.array(["full", "tied", "tied", "VEV"], dtype=object)
    sizes = np.array([2, 3, 1, 2])
    cov = np.broadcast_to(np.eye(2), (8, 2, 2)).copy()
    stack = Stack("full", kinds, sizes, np.zeros(8), np.zeros((8, 2)), cov, cov.copy(),
                  np.zeros(8, dtype=bool))
    compared = 0
    for choice in product([False, True], repeat=4):
        runs = np.array(choice)
        if not runs.any():
            continue
        parts = np.repeat(runs, sizes)
        own = replace(stack, kinds=kinds[runs], sizes=sizes[runs], weights=stack.weights[parts],
                      means=stack.means[parts], covariances=cov[parts],
                      prec_chol=cov[parts], floored=stack.floored[parts], _segments=None,
                      _models=None, _share=None, _factored=None).factored
        got = stack._factored_part(parts)
        # Whose matrix each component's factor is (None: every one its own).
        everyone = np.arange(parts.sum())
        want = everyone if own is None else own[0][own[1]]
        np.testing.assert_array_equal(everyone if got[0] is None else got[0][got[1]], want)
        compared += int(not np.array_equal(want, everyone))
    assert compared == 8         # every choice with the three-component tied run


def test_best_case_is_the_last_value_plus_the_largest_recent_gain_per_pass_left():
    # The ring of gains against the definition, on each run's whole history:
    # past PACE_WINDOW records (the ring wraps), and after a run leaves.
    from types import SimpleNamespace

    from gmm_studio.core.engine.batch_runs import Group, Run
    from gmm_studio.core.engine.notes import RunNotes

    rng = np.random.default_rng(0)
    runs = [Run(j, 0, FitConfig(max_iter=60), RunNotes(), 0.0) for j in range(3)]
    stack = SimpleNamespace(keep=lambda runs: None)   # record and best_case never read it
    group = Group.of(stack, runs, accelerate=False)
    log_l = rng.normal(size=3) * 100
    checked = 0
    for step in range(3 * PACE_WINDOW):
        if step == PACE_WINDOW + 3:
            group.keep(np.array([True, False, True]))
            log_l = log_l[[0, 2]]
        # Gains that mostly shrink but sometimes jump or fall, as EM's may.
        log_l = log_l + rng.exponential(1.0, len(log_l)) * rng.choice([0.1, 1, 5, -0.5],
                                                                      len(log_l))
        group.record(log_l, 1.0)
        group.passes += 1
        best = group.best_case()
        for r, run in enumerate(group.runs):
            history = run.history
            if len(history) <= PACE_WINDOW:
                assert np.isnan(best[r])
                continue
            pace = max(np.diff(history[-PACE_WINDOW - 1:]).max(), 0.0)
            assert best[r] == pytest.approx(history[-1] + pace * (60 - group.passes[r]),
                                            rel=1e-12)
            checked += 1
    assert checked > 2 * PACE_WINDOW
