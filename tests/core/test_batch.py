"""Batched fits and the grouped M-step against the one-fit engine, run by run."""

from pathlib import Path

import numpy as np
import pytest

from gmm_studio.core import FitConfig
from gmm_studio.core.engine import batch
from gmm_studio.core.engine.batch import fit_many
from gmm_studio.core.engine.batch_runs import PACE_WINDOW
from gmm_studio.core.engine.fitting import fit_prepared
from gmm_studio.core.engine.grouped import Segments, general_mstep
from gmm_studio.core.engine.mstep import estimate_parameters
from gmm_studio.core.engine.prepared import prepare
from gmm_studio.core.model.families import MCLUST_NAMES, mclust_name, normalise_covariance_type
from gmm_studio.core.model.gaussian import full_covariances
from gmm_studio.core.model.kernels import Stats

ASSETS = Path(__file__).resolve().parents[2] / "assets"
FAITHFUL = np.loadtxt(ASSETS / "old_faithful.csv", delimiter=",", skiprows=1)
IRIS = np.genfromtxt(ASSETS / "iris.csv", delimiter=",", skip_header=1)[:, :4]
TYPES = [normalise_covariance_type(name) for name in MCLUST_NAMES]


def _same_fit(got, want, rtol=1e-11):
    assert got.n_iter == want.n_iter and got.status == want.status
    np.testing.assert_allclose(got.log_likelihood_history, want.log_likelihood_history,
                               rtol=rtol)
    np.testing.assert_allclose(got.model.weights, want.model.weights, rtol=1e-8, atol=1e-12)
    np.testing.assert_allclose(got.model.means, want.model.means, rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(got.model.covariances, want.model.covariances, rtol=1e-7,
                               atol=1e-10)
    # A batched model takes the factors its last E-step used: they must be its own.
    np.testing.assert_allclose(got.model.precisions_cholesky, want.model.precisions_cholesky,
                               rtol=1e-7, atol=1e-10)
    assert got.warnings == want.warnings
    assert got.best_restart == want.best_restart


@pytest.mark.parametrize("covariance_type", TYPES)
def test_a_batch_of_k_values_equals_each_fit_alone(covariance_type):
    data = prepare(IRIS)
    configs = [FitConfig(n_components=k, covariance_type=covariance_type, init="hierarchical")
               for k in (1, 2, 3, 5)]
    for got, config in zip(fit_many(data, configs), configs, strict=True):
        _same_fit(got, fit_prepared(data, config, with_labels=False))


def test_restarts_weights_and_max_iter_as_alone():
    rng = np.random.default_rng(0)
    weights = rng.integers(1, 4, size=len(FAITHFUL)).astype(float)
    data = prepare(FAITHFUL, weights)
    configs = [FitConfig(n_components=3, covariance_type="VVE", n_init=3, random_state=2),
               FitConfig(n_components=4, covariance_type="VVE", n_init=2, max_iter=7),
               FitConfig(n_components=4, covariance_type="VVE", variance_floor=0.05),
               FitConfig(n_components=2, covariance_type="tied", n_init=3)]
    results = fit_many(data, configs)
    assert results[1].status == "max_iter"
    for got, config in zip(results, configs, strict=True):
        _same_fit(got, fit_prepared(data, config, with_labels=False))


def test_a_fit_that_needs_a_reseed_leaves_the_batch_and_ends_as_alone(monkeypatch):
    # Four components on three tight groups of 40 rows: from this random start
    # one of them loses its rows (found by search; the assertions say so).
    rng = np.random.default_rng(1)
    X = np.vstack([rng.normal(c, 0.05, size=(40, 2)) for c in (0.0, 5.0, 10.0)])
    data = prepare(X)
    configs = [FitConfig(n_components=k, covariance_type="full", init="random", random_state=0)
               for k in (3, 4)]
    left = []
    original = batch._collect
    monkeypatch.setattr(batch, "_collect", lambda data, config, *rest: (
        left.append(config.n_components) or original(data, config, *rest)))
    results = fit_many(data, configs)
    assert left == [3]           # K = 4 was finished by the one-fit loop
    assert any("lost all its points" in w for w in results[1].warnings)
    # A component shrinking onto a group of sd 0.05 amplifies rounding (8e-10 seen).
    for got, config in zip(results, configs, strict=True):
        _same_fit(got, fit_prepared(data, config, with_labels=False), rtol=1e-8)


def test_a_partition_with_an_empty_component_leaves_the_batch_and_ends_as_alone(monkeypatch):
    from gmm_studio.core.engine import batch_starts, em

    rng = np.random.default_rng(2)
    X = np.vstack([rng.normal(c, 0.3, size=(40, 2)) for c in (0.0, 5.0, 10.0)])
    data = prepare(X)

    def three_groups(data, init, k, rng, scale, restart=0):
        return np.repeat(np.arange(3), 40)        # component 3 of K = 4 starts empty
    monkeypatch.setattr(batch_starts, "initial_labels", three_groups)
    monkeypatch.setattr(em, "initial_labels", three_groups)
    configs = [FitConfig(n_components=k, covariance_type=t) for k in (3, 4)
               for t in ("VVV", "VEV", "diag")]
    left = []
    original = batch._collect
    monkeypatch.setattr(batch, "_collect", lambda data, config, *rest: (
        left.append(config.n_components) or original(data, config, *rest)))
    results = fit_many(data, configs)
    assert left == [3, 3, 3]     # the K = 4 starts went to the one-fit loop
    assert all(any("lost all its points" in w for w in r.warnings) for r in results[3:])
    for got, config in zip(results, configs, strict=True):
        _same_fit(got, fit_prepared(data, config, with_labels=False))


def test_a_k_above_the_rows_gives_the_same_error_in_its_place():
    data = prepare(FAITHFUL[:5])
    results = fit_many(data, [FitConfig(n_components=2), FitConfig(n_components=9)])
    assert results[0].n_iter >= 1
    assert "K=9 components need at least 9 rows, but the data has 5 rows" in str(results[1])


def _random_stats(rng, k, d, diagonal):
    resp = rng.dirichlet(np.ones(k), size=200).T          # (K, N)
    x = rng.normal(size=(200, d)) @ rng.normal(size=(d, d))
    nk = resp.sum(axis=1)
    sx = resp @ x
    second = (np.einsum("kn,ni,nj->kij", resp, x, x) if not diagonal
              else resp @ x**2)
    return Stats(nk, sx, second), x


@pytest.mark.parametrize("covariance_type", TYPES)
def test_the_grouped_m_step_equals_estimate_parameters_run_by_run(covariance_type):
    from gmm_studio.core.model.families import covariance_model

    rng = np.random.default_rng(7)
    d = 3
    spec = covariance_model(covariance_type)
    diagonal = spec.kernel in ("diag", "spherical")
    sizes = [1, 2, 4]
    runs = [_random_stats(rng, k, d, diagonal) for k in sizes]
    X = np.vstack([x for _, x in runs])
    data = prepare(X)
    metric = data.floor_metric(covariance_type)
    total_scatter = (X - data.centre).T @ (X - data.centre)
    previous = [np.stack([np.cov(x.T) * (1 + 0.1 * j) for j in range(k)])
                for (_, x), k in zip(runs, sizes, strict=True)]
    want = [estimate_parameters(s, covariance_type, total_weight=float(s.nk.sum()),
                                n_rows=len(X), metric=metric, variance_floor=1e-3,
                                total_scatter=total_scatter, previous=p, in_em=True)
            for (s, _), p in zip(runs, previous, strict=True)]
    # Pooled models divide by the total weight, one per run: equal here by construction.
    totals = {round(float(s.nk.sum()), 9) for s, _ in runs}
    assert len(totals) == 1
    seg = Segments.of(sizes)
    second = np.concatenate([s.second for s, _ in runs])
    weights, means, cov, floored = general_mstep(
        ((spec.name, slice(0, sum(sizes)), seg),), np.concatenate([s.nk for s, _ in runs]),
        np.concatenate([s.sx for s, _ in runs]), second, seg, metric=metric,
        variance_floor=1e-3, previous=np.concatenate(previous),
        total_scatter=total_scatter, total_weight=totals.pop())
    for r, expected in enumerate(want):
        lo, hi = seg.starts[r], seg.starts[r] + sizes[r]
        np.testing.assert_allclose(weights[lo:hi], expected.weights, rtol=1e-12)
        np.testing.assert_allclose(means[lo:hi], expected.means, rtol=1e-12, atol=1e-14)
        # Every model's covariances come as (K, D, D) matrices.
        full = full_covariances(expected.covariances, covariance_type, sizes[r], d)
        np.testing.assert_allclose(cov[lo:hi], full, rtol=1e-10, atol=1e-13)
        assert list(floored[lo:hi]) == list(expected.floored)


def test_a_batch_of_all_fourteen_models_equals_each_fit_alone():
    # The (K, D, D) models share stacks: each must still get its own M-step.
    data = prepare(IRIS)
    configs = [FitConfig(n_components=k, covariance_type=t, init="hierarchical",
                         n_init=2 if k == 3 else 1, random_state=4)
               for t in reversed(TYPES) for k in (1, 3, 4)]
    for got, config in zip(fit_many(data, configs), configs, strict=True):
        _same_fit(got, fit_prepared(data, config, with_labels=False))


@pytest.mark.parametrize("diagonal", [False, True])
def test_one_general_m_step_for_several_models_equals_one_per_model(diagonal):
    from gmm_studio.core.engine.grouped import general_mstep
    from gmm_studio.core.model.families import covariance_model

    rng = np.random.default_rng(11)
    names = [n for n in MCLUST_NAMES if covariance_model(n).layout in ("general", "full")
             and covariance_model(n).diagonal == diagonal]
    sizes = {name: [2, 1, 3][: 1 + i % 3] for i, name in enumerate(names)}
    parts, stats, previous, lo = [], [], [], 0
    for name in names:
        runs = [_random_stats(rng, k, 3, diagonal) for k in sizes[name]]
        stats += [s for s, _ in runs]
        previous += [np.stack([np.cov(x.T) * (1 + 0.1 * j) for j in range(len(s.nk))])
                     for s, x in runs]
        hi = lo + sum(sizes[name])
        parts.append((name, slice(lo, hi), Segments.of(sizes[name])))
        lo = hi
    join = lambda field: np.concatenate([getattr(s, field) for s in stats])  # noqa: E731
    data = prepare(np.vstack([rng.normal(size=(40, 3))]))
    metric = data.floor_metric("VVV" if not diagonal else "EEI")
    seg = Segments.of([k for name in names for k in sizes[name]])
    floor = 0.5 if diagonal else 0.05   # met by some components, not all
    got = general_mstep(tuple(parts), join("nk"), join("sx"), join("second"), seg,
                        metric=metric, variance_floor=floor, previous=np.concatenate(previous))
    for name, part, sub in parts:
        alone = general_mstep(((name, slice(0, part.stop - part.start), sub),),
                              join("nk")[part], join("sx")[part], join("second")[part], sub,
                              metric=metric, variance_floor=floor,
                              previous=np.concatenate(previous)[part])
        for a, b in zip(got, alone, strict=True):
            np.testing.assert_array_equal(a[part], b)
    assert got[3].any() and not got[3].all()   # the floor was met by some, not all


def _obeys(name: str, covs: np.ndarray) -> None:
    """Volume, shape and orientation as mclust's name says (E equal, V free, I axis-aligned)."""
    d = covs.shape[1]
    values, vectors = np.linalg.eigh(covs)
    volumes = np.exp(np.log(values).mean(axis=1))
    shapes = values / volumes[:, None]
    if name[0] == "E":
        np.testing.assert_allclose(volumes, volumes[0], rtol=1e-8)
    if name[1] == "E":
        np.testing.assert_allclose(shapes, shapes[:1].repeat(len(covs), 0), rtol=1e-7)
    if name[2] == "I":
        np.testing.assert_allclose(covs, np.diagonal(covs, axis1=1, axis2=2)[:, :, None]
                                   * np.eye(d), atol=1e-12 * np.abs(covs).max())
    if name[2] == "E":
        for other in covs[1:]:   # one set of axes: the matrices commute
            np.testing.assert_allclose(covs[0] @ other, other @ covs[0],
                                       atol=1e-8 * np.abs(covs[0] @ other).max())


def _accelerated(data, configs):
    from gmm_studio.core.engine.batch import iterate_many

    results = [None] * len(configs)
    for j, result in iterate_many(data, configs, accelerate=True):
        results[j] = result
    return results


def test_accelerated_fits_reach_the_plain_optimum_in_fewer_passes():
    data = prepare(FAITHFUL)
    configs = [FitConfig(n_components=k, covariance_type=t, init="hierarchical", tol=1e-9)
               for t in TYPES for k in (2, 3)]
    plain = fit_many(data, configs)
    fast = _accelerated(data, configs)
    for got, want, config in zip(fast, plain, configs, strict=True):
        assert got.converged, config
        # The same optimum: log L within what the plain fit's tol leaves open.
        assert got.log_likelihood == pytest.approx(want.log_likelihood, abs=1e-4), config
    passes_fast = sum(r.n_iter for r in fast)
    passes_plain = sum(r.n_iter for r in plain)
    assert passes_fast < 0.6 * passes_plain, (passes_fast, passes_plain)


def test_accelerated_histories_never_fall_and_belong_to_the_reported_models():
    data = prepare(IRIS)
    configs = [FitConfig(n_components=k, covariance_type=t, init="hierarchical")
               for t in TYPES for k in (2, 4, 6)]
    checked = 0
    for result, config in zip(_accelerated(data, configs), configs, strict=True):
        model = result.model
        # A reported model is an M-step's, of its covariance model, with its own log L.
        assert model.covariance_type == config.covariance_type
        _obeys(mclust_name(config.covariance_type), full_covariances(
            model.covariances, model.covariance_type, model.n_components, model.n_features))
        assert float(model.score_samples(IRIS).sum()) == pytest.approx(
            result.log_likelihood, rel=1e-12)
        if any("variance floor" in w for w in result.warnings):
            # A component held by the floor makes the constrained M-steps no longer
            # maximise: EM itself need not rise then (seen: -1e-4 on VEV, K = 6).
            continue
        checked += 1
        history = result.log_likelihood_history
        assert np.all(np.diff(history) >= -1e-10 * np.abs(history[1:])), config
        again = fit_prepared(data, config.replace(max_iter=1), initial_model=model,
                             with_labels=False)
        assert again.log_likelihood_history[1] >= result.log_likelihood - 1e-10 * abs(
            result.log_likelihood)
    assert checked >= len(configs) // 2, checked


def test_one_row_gives_the_one_fit_error_for_every_k():
    from gmm_studio.core.analysis.selection import sweep

    rows = list(sweep(FAITHFUL[:1], [1, 2], ["full", "EII"]))
    assert len(rows) == 4
    assert all(r.degenerate and "only 1 row" in r.note for r in rows)


@pytest.mark.parametrize("weighted", [False, True])
def test_a_batched_fit_carries_the_entropy_of_its_own_model(weighted):
    from gmm_studio.core.analysis.metrics import classification_entropy

    rng = np.random.default_rng(4)
    weights = rng.integers(0, 4, size=len(FAITHFUL)).astype(float) if weighted else None
    data = prepare(FAITHFUL, weights)
    configs = [FitConfig(n_components=k, covariance_type=t, n_init=2, init="hierarchical")
               for k in (2, 3) for t in ("full", "VVE", "diag", "tied")]
    for result in fit_many(data, configs):
        want = classification_entropy(result.model, FAITHFUL, weights)
        assert result.entropy == pytest.approx(want, rel=1e-9, abs=1e-9)
        assert want > 0.1                                    # not trivially zero


def test_a_run_given_up_stops_where_it_is_with_its_own_log_likelihood():
    # give_up sees each running run's best case once it has PACE_WINDOW gains:
    # an upper bound on where it could end, at least its present log L.
    data = prepare(IRIS)
    configs = [FitConfig(n_components=k, covariance_type=t, init="hierarchical", tol=1e-12,
                         max_iter=200) for t in ("VVE", "diag") for k in (3, 5)]
    seen: dict[int, list[float]] = {}

    def give_up(jobs, best_case):
        for job, best in zip(jobs, best_case, strict=True):
            seen.setdefault(job, []).append(float(best))
        return np.array([configs[j].covariance_type == "VVE" for j in jobs])

    results = dict(batch.iterate_many(data, configs, accelerate=True, give_up=give_up))
    for j, config in enumerate(configs):
        result = results[j]
        if config.covariance_type == "VVE":
            assert result.status == "screened" and not result.converged
            # judged at its first chance: PACE_WINDOW gains recorded (jumps are not)
            assert len(result.log_likelihood_history) == PACE_WINDOW + 1
            assert result.n_iter >= PACE_WINDOW
            history = result.log_likelihood_history
            pace = max(np.diff(history).max(), 0.0)
            assert seen[j] == [pytest.approx(history[-1] + pace * (200 - result.n_iter),
                                             rel=1e-12)]
            assert history[-1] == result.log_likelihood
            assert any(w.startswith(f"stopped at iteration {result.n_iter}")
                       for w in result.warnings)
        else:
            assert result.status != "screened" and result.n_iter > PACE_WINDOW
        # The reported model is the one whose log L the run recorded.
        assert float(result.model.score_samples(IRIS).sum()) == pytest.approx(
            result.log_likelihood, rel=1e-12)


def test_a_restart_collapsing_onto_a_few_rows_stops_and_its_fit_keeps_another():
    # On Iris, full K = 6 with four restarts: the best log L belongs to a
    # restart with a component on the variance floor (a degenerate fit). With
    # collapse_after, restarts on the floor for that many records stop
    # (status collapsed), and the fit keeps the best restart that ran to the end.
    from gmm_studio.core.analysis.metrics import components_at_floor

    data = prepare(IRIS)
    config = FitConfig(n_components=6, covariance_type="full", init="hierarchical", n_init=4)
    metric = data.floor_metric("full")
    whole = next(batch.iterate_many(data, [config]))[1]
    assert components_at_floor(whole.model, metric, config.variance_floor).any()
    cut = next(batch.iterate_many(data, [config], collapse_after=10))[1]
    assert not components_at_floor(cut.model, metric, config.variance_floor).any()
    # Runs are independent: the restarts not stopped end where they ended
    # (to rounding: the batch's arrays shrink differently).
    ran = np.isclose(cut.restart_log_likelihoods, whole.restart_log_likelihoods, rtol=1e-9,
                     atol=0)
    assert 0 < ran.sum() < 4
    assert ran[cut.best_restart]
    assert cut.best_restart == int(np.nanargmax(np.where(ran, whole.restart_log_likelihoods,
                                                         -np.inf)))
    assert cut.log_likelihood < whole.log_likelihood       # it gave up the spurious optimum
    assert any("stopped collapsing onto a few rows" in w for w in cut.warnings)
    assert cut.status != "collapsed"
    # A fit whose only restart collapses still ends, with that restart.
    alone = config.replace(n_init=1, init="kmeans++", random_state=0)
    only = next(batch.iterate_many(data, [alone], collapse_after=10))[1]
    # stopped once 10 records in a row were on the floor, long before max_iter
    assert only.status == "collapsed" and 10 - 1 <= only.n_iter < 50
    assert len(only.log_likelihood_history) >= 10
    assert components_at_floor(only.model, metric, config.variance_floor).any()
    assert any(w.startswith(f"stopped at iteration {only.n_iter}: a component")
               for w in only.warnings)


def test_a_resumed_first_restart_goes_on_from_the_model_it_is_given():
    # The sweep's refining stage continues each fit's first-stage model in
    # restart 0 instead of repeating its iterations from the same start.
    data = prepare(IRIS)
    loose = FitConfig(n_components=3, covariance_type="VEV", init="hierarchical", tol=1e-4)
    first = next(batch.iterate_many(data, [loose], accelerate=True))[1]
    tight = loose.replace(tol=1e-9)
    fresh = next(batch.iterate_many(data, [tight], accelerate=True))[1]
    went_on = next(batch.iterate_many(data, [tight], accelerate=True, resume={0: first.model}))[1]
    # its first record is the given model's log L, and it ends at the same
    # optimum as from the start, in fewer iterations
    assert went_on.log_likelihood_history[0] == pytest.approx(first.log_likelihood, rel=1e-12)
    assert went_on.log_likelihood == pytest.approx(fresh.log_likelihood, rel=1e-8)
    assert went_on.log_likelihood >= first.log_likelihood
    assert went_on.n_iter < fresh.n_iter - first.n_iter // 2
    # other restarts are untouched
    two = tight.replace(n_init=2)
    both = [next(batch.iterate_many(data, [two], accelerate=True, resume=r))[1]
            for r in (None, {0: first.model})]
    assert both[1].restart_log_likelihoods[1] == pytest.approx(
        both[0].restart_log_likelihoods[1], rel=1e-12)
