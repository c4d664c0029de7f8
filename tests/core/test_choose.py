"""Comparing methods and choosing K."""

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import adjusted_rand_score

from gmm_studio.core import FitConfig
from gmm_studio.core.analysis.comparison import compare_methods
from gmm_studio.core.analysis.metrics import adjusted_rand_index, classification_entropy
from gmm_studio.core.analysis.selection import best_row, parse_k_range, select
from gmm_studio.core.data.samples import GENERATED, generate

from .helpers import ASSETS, faithful

MCLUST_EEE3_LOGLIK = -1126.326  # mclust 6.x vignette, densityMclust(faithful)


def test_ari_matches_sklearn():
    rng = np.random.default_rng(0)
    for _ in range(20):
        a, b = rng.integers(0, 4, 200), rng.integers(0, 5, 200)
        b[:120] = a[:120]
        assert adjusted_rand_index(a, b) == pytest.approx(adjusted_rand_score(a, b), abs=1e-12)
    assert adjusted_rand_index([0, 0, 1, 1], [5, 5, 2, 2]) == 1.0


@pytest.mark.parametrize("name, em_at_least, kmeans_at_most", [
    ("anisotropic", 0.99, 0.80),
    ("unequal_variance", 0.93, 0.80),
    ("uneven_sizes", 0.93, 0.50),
])
def test_soft_em_beats_kmeans_where_it_should(name, em_at_least, kmeans_at_most):
    frame = generate(name)
    rows, agreement = compare_methods(frame[["x", "y"]].to_numpy(),
                                      FitConfig(n_components=3, n_init=5, random_state=0),
                                      truth=frame["truth"].to_numpy())
    ari = {r.algorithm: r.ari_truth for r in rows}
    assert ari["em"] >= em_at_least and ari["kmeans"] <= kmeans_at_most
    assert ari["em"] > ari["kmeans"]
    assert agreement.shape == (4, 4) and np.allclose(np.diag(agreement), 1.0)


def test_samples_are_seeded():
    for name in GENERATED:
        a, b = generate(name, seed=3), generate(name, seed=3)
        assert a.equals(b) and not a.equals(generate(name, seed=4))


def test_sweep_is_reproducible_with_a_seed():
    X = faithful()
    kwargs = dict(base=FitConfig(n_init=2, random_state=7), folds=3)
    first, _ = select(X, [1, 2, 3], ["full", "diag"], **kwargs)
    second, _ = select(X, [1, 2, 3], ["full", "diag"], **kwargs)
    assert [r.to_dict() for r in first] == [r.to_dict() for r in second]


def test_old_faithful_bic_choice_is_sound():
    rows, best = select(faithful(), [1, 2, 3, 4], base=FitConfig(n_init=5, random_state=0))
    assert (best.k, best.covariance_type) == (3, "tied")
    assert not best.degenerate
    assert best.log_likelihood >= MCLUST_EEE3_LOGLIK - 1e-6
    assert best.n_parameters == 11


def test_degenerate_rows_are_never_chosen():
    rows, _ = select(faithful(), [8], ["full"], base=FitConfig(variance_floor=0.05))
    assert rows[0].degenerate and "variance floor" in rows[0].note
    assert best_row(rows, "bic") is None


def test_k_range_parsing():
    assert parse_k_range("1-4") == [1, 2, 3, 4]
    assert parse_k_range("2,5, 7-8") == [2, 5, 7, 8]
    with pytest.raises(ValueError, match="K range"):
        parse_k_range("0-3")


def test_the_sweep_refines_its_best_fits_with_restarts_and_keeps_the_better():
    from gmm_studio.core.analysis.selection import REFINE_TOP, latest_rows, sweep, sweep_size

    X = faithful()
    base = FitConfig(n_init=4, init="hierarchical")
    rows = list(sweep(X, [1, 2, 3, 4], ["full", "tied"], base=base))
    assert len(rows) == sweep_size(4, 2, base) == 8 + REFINE_TOP
    first, refined = rows[:8], rows[8:]
    best_first = sorted(first, key=lambda r: r.bic)[:REFINE_TOP]
    # Batched fits end in any order: the same five (K, model), each no worse.
    before = {(r.k, r.covariance_type): r for r in best_first}
    assert sorted((r.k, r.covariance_type) for r in refined) == sorted(before)
    for again in refined:
        assert again.log_likelihood >= before[(again.k, again.covariance_type)].log_likelihood
    kept = latest_rows(rows)
    assert len(kept) == 8 and all(r in kept for r in refined)
    single = list(sweep(X, [1, 2], ["full"], base=FitConfig(n_init=1, init="hierarchical")))
    assert len(single) == 2 == sweep_size(2, 1, FitConfig(n_init=1, init="hierarchical"))


def test_a_big_sweep_fits_a_subsample_then_passes_over_every_row(monkeypatch):
    from gmm_studio.core import fit
    from gmm_studio.core.analysis import selection, subsample

    monkeypatch.setattr(subsample, "SUBSAMPLE_ABOVE", 2000)
    monkeypatch.setattr(subsample, "SUBSAMPLE_ROWS", 600)
    monkeypatch.setattr(subsample, "HELD_OUT_ROWS", 1000)
    # The subsample's fits run batched; unaccelerated, a batch's fits are fit()'s.
    monkeypatch.setattr(selection, "ACCELERATE", False)
    frame = generate("unequal_variance", n=3000)
    X = frame[["x", "y"]].to_numpy()
    base = FitConfig(n_init=1, init="hierarchical", random_state=4)
    rows, best = selection.select(X, [1, 2, 3, 4], ["full", "spherical"], base=base, folds=3)
    # Each row, recomputed by hand: the fit of the same subsample, then two
    # iterations on all rows from it, scored there (ICL too, its entropy
    # summed in the last pass); held-out rows outside it.
    sample = np.sort(np.random.default_rng(4).choice(3000, 600, replace=False))
    for row in rows:
        config = base.replace(n_components=row.k, covariance_type=row.covariance_type)
        on_sample = fit(X[sample], config)
        start = on_sample.model
        # converged is the subsample fit's: two passes over all rows never are
        assert row.converged == on_sample.converged
        assert ("did not converge on the 600-row subsample" in row.note) == (
            not on_sample.converged)
        full = fit(X, config.replace(max_iter=2), initial_model=start)
        assert row.log_likelihood == pytest.approx(full.log_likelihood, rel=1e-12)
        entropy = classification_entropy(full.model, X)
        assert row.icl == pytest.approx(row.bic + 2 * entropy, rel=1e-12)
        outside = np.setdiff1d(np.arange(3000), sample)
        test = np.sort(np.random.default_rng(4).choice(outside, 1000, replace=False))
        dens = start.score_samples(X[test])
        ids = subsample.fold_ids(1000, 3, 4)
        parts = [dens[ids == f].mean() for f in range(3)]
        assert row.cv_mean == pytest.approx(np.mean(parts), rel=1e-12)
    assert (best.k, best.covariance_type) == (3, "spherical")  # three round blobs


def test_batched_cross_validation_equals_one_config_at_a_time():
    # Each fold's fits run as one batch; without acceleration a batch equals
    # fits one by one, so the held-out scores must equal cross_validate's.
    from gmm_studio.core.analysis.held_out import cross_validate, cross_validate_many

    X = faithful()
    weights = np.random.default_rng(3).integers(1, 4, size=len(X)).astype(float)
    configs = [FitConfig(n_components=k, covariance_type=t, init="hierarchical", n_init=n,
                         random_state=5)
               for t, k, n in (("full", 2, 1), ("VEV", 3, 2), ("tied", 4, 1), ("spherical", 1, 1),
                               ("EVE", 2, 1))]
    got = cross_validate_many(X, configs, 4, weights, log_jacobian=-0.25)
    for config, (mean, std, note) in zip(configs, got, strict=True):
        want = cross_validate(X, config, 4, weights, log_jacobian=-0.25)
        assert note == want[2] == ""
        assert mean == pytest.approx(want[0], rel=1e-10) and std == pytest.approx(want[1],
                                                                                  rel=1e-7)
    # a fold it cannot fit gives the same note as one config at a time
    nine = X[:9]
    many = cross_validate_many(nine, [FitConfig(n_components=8, init="hierarchical")], 3)
    alone = cross_validate(nine, FitConfig(n_components=8, init="hierarchical"), 3)
    assert np.isnan(many[0][0]) and many[0][2] == alone[2] != ""


def test_a_sweep_with_cross_validation_scores_every_row_in_batches(monkeypatch):
    from gmm_studio.core.analysis import held_out, selection

    calls = []
    monkeypatch.setattr(held_out, "fit", lambda *a, **k: calls.append(a) or None)
    rows, best = select(faithful(), [1, 2, 3], ["full", "tied"], folds=3)
    assert not calls                                  # no fold was fitted one at a time
    assert len(rows) == 6 and all(np.isfinite(r.cv_mean) and r.cv_std > 0 for r in rows)
    # each row's CV is that of the fit it shows: the screened one or the refined one
    search = selection.DEFAULT_SEARCH
    for row in rows:
        candidates = [search.replace(n_components=row.k, covariance_type=row.covariance_type,
                                     **extra)
                      for extra in ({"n_init": 1, "tol": selection.SCREEN_TOL}, {})]
        scores = held_out.cross_validate_many(faithful(), candidates, 3,
                                              accelerate=selection.ACCELERATE)
        assert any(row.cv_mean == pytest.approx(mean, rel=1e-9) for mean, _, _ in scores)


def test_a_cancel_during_batched_cross_validation_stops_the_sweep_cleanly(monkeypatch):
    import threading

    from gmm_studio.core.analysis import held_out
    from gmm_studio.core.analysis.selection import sweep
    from gmm_studio.core.engine.prepared import Cancelled

    X = faithful()
    cancel = threading.Event()
    cancel.set()
    with pytest.raises(Cancelled):
        held_out.cross_validate_many(X, [FitConfig(n_components=2)], 3, cancel=cancel)
    cancel.clear()
    folds_started = []
    real = held_out.iterate_many

    def first_fold_then_cancel(data, configs, **kwargs):
        folds_started.append(len(configs))
        yield from real(data, configs, **kwargs)
        cancel.set()                      # as if Cancel were pressed after one fold

    monkeypatch.setattr(held_out, "iterate_many", first_fold_then_cancel)
    rows = list(sweep(X, [1, 2, 3], ["full", "tied"], folds=5, cancel=cancel))
    assert folds_started == [6]           # the other folds never started
    assert rows == []                     # and no row was scored without its CV


def test_screening_stops_only_fits_that_could_not_be_refined(monkeypatch):
    # Wine (178 x 13): a few first-stage fits creep on far behind the best five.
    # The sweep refines the same fits as without screening and picks the same
    # best; each stopped row says so, and without screening it would have
    # ended behind the five refined.
    import pandas as pd

    from gmm_studio.core.analysis import screening, selection

    X = pd.read_csv(ASSETS / "wine.csv").select_dtypes("number").to_numpy(float)

    def run():
        return list(selection.sweep(X, list(range(1, 10))))

    raced = run()
    monkeypatch.setattr(screening, "MARGIN", np.inf)
    plain = run()
    first = len(selection.COVARIANCE_TYPES) * 9
    refined = lambda rows: sorted((r.k, r.covariance_type) for r in rows[first:])  # noqa: E731
    assert refined(raced) == refined(plain)
    stopped = [r for r in raced[:first] if not r.converged and "far behind" in r.note]
    assert stopped, "nothing was screened: the test no longer tests screening"
    behind = {(r.k, r.covariance_type): r.bic for r in plain[:first]}
    fifth = sorted(r.bic for r in selection.ranked_rows(plain[:first]))[selection.REFINE_TOP - 1]
    for row in stopped:
        assert behind[(row.k, row.covariance_type)] > fifth
        assert row.bic >= behind[(row.k, row.covariance_type)] - 1e-6 * abs(row.bic)
    best = [selection.best_row(selection.latest_rows(rows)) for rows in (raced, plain)]
    # The same fit; refining continues each first-stage model, whose last
    # digits depend on what else shared its batch.
    assert (best[0].k, best[0].covariance_type) == (best[1].k, best[1].covariance_type)
    for key in ("log_likelihood", "bic", "aic", "icl"):
        assert getattr(best[0], key) == pytest.approx(getattr(best[1], key), rel=1e-10)


def test_a_screen_counts_only_usable_rows_in_the_data_files_units():
    from gmm_studio.core.analysis.screening import MARGIN, Screen
    from gmm_studio.core.model.gaussian import n_parameters

    configs = [FitConfig(n_components=k, covariance_type="VVV") for k in (1, 2, 3)]
    screen = Screen(configs, n_features=2, n_samples=100.0, log_jacobian=-0.5, top=2)
    ll = np.array([-290.0, -300.0, -300.0])
    assert not screen([0, 1, 2], ll).any()           # fewer than two usable rows yet
    screen.add(500.0, degenerate=True)
    screen.add(float("nan"), degenerate=False)
    screen.add(700.0, degenerate=False)
    assert not screen([0, 1, 2], ll).any()
    screen.add(650.0, degenerate=False)              # the second best is now 700
    # best-case BIC = -2 (log L - 0.5 * 100) + p log 100 against 700 + MARGIN
    bic = -2 * (ll - 50.0) + np.array([n_parameters(k, 2, "VVV") for k in (1, 2, 3)]) * np.log(100)
    np.testing.assert_array_equal(screen([0, 1, 2], ll), bic > 700.0 + MARGIN)
    assert screen([0, 1, 2], ll).tolist() == [False, True, True]
    np.testing.assert_array_equal(screen([2], ll[:1]), [True])


@pytest.mark.parametrize("collapse_after", [None, 50])
def test_a_refined_fit_never_turns_a_usable_row_degenerate(monkeypatch, collapse_after):
    # Wine, VVE with K = 7: of the refining stage's four restarts, the best
    # by log L collapses onto a few rows. Stopped as collapsed (or, without
    # that rule, rejected at the end), it cannot replace the first stage's
    # usable row: the row stays usable and no worse.
    from gmm_studio.core.analysis import selection

    monkeypatch.setattr(selection, "COLLAPSE_AFTER", collapse_after)
    X = pd.read_csv(ASSETS / "wine.csv").select_dtypes("number").to_numpy(float)
    rows = list(selection.sweep(X, [7], ["VVE"]))
    first, refined = rows
    assert not first.degenerate and not refined.degenerate
    assert refined.log_likelihood >= first.log_likelihood
