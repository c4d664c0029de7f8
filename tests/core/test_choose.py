"""Comparing methods and choosing K."""

import numpy as np
import pytest
from sklearn.metrics import adjusted_rand_score

from gmm_studio.core import FitConfig
from gmm_studio.core.analysis.comparison import compare_methods
from gmm_studio.core.analysis.metrics import adjusted_rand_index
from gmm_studio.core.analysis.selection import best_row, parse_k_range, select
from gmm_studio.core.data.samples import GENERATED, generate

from .helpers import faithful

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
    from gmm_studio.core.analysis import selection

    monkeypatch.setattr(selection, "SUBSAMPLE_ABOVE", 2000)
    monkeypatch.setattr(selection, "SUBSAMPLE_ROWS", 600)
    monkeypatch.setattr(selection, "HELD_OUT_ROWS", 1000)
    frame = generate("unequal_variance", n=3000)
    X = frame[["x", "y"]].to_numpy()
    base = FitConfig(n_init=1, init="hierarchical", random_state=4)
    rows, best = selection.select(X, [1, 2, 3, 4], ["full", "spherical"], base=base, folds=3)
    # Each row, recomputed by hand: the fit of the same subsample, then two
    # iterations on all rows from it, scored there; held-out rows outside it.
    sample = np.sort(np.random.default_rng(4).choice(3000, 600, replace=False))
    for row in rows:
        config = base.replace(n_components=row.k, covariance_type=row.covariance_type)
        start = fit(X[sample], config).model
        full = fit(X, config.replace(max_iter=2), initial_model=start)
        assert row.log_likelihood == pytest.approx(full.log_likelihood, rel=1e-12)
        outside = np.setdiff1d(np.arange(3000), sample)
        test = np.sort(np.random.default_rng(4).choice(outside, 1000, replace=False))
        dens = start.score_samples(X[test])
        ids = selection.fold_ids(1000, 3, 4)
        parts = [dens[ids == f].mean() for f in range(3)]
        assert row.cv_mean == pytest.approx(np.mean(parts), rel=1e-12)
    assert (best.k, best.covariance_type) == (3, "spherical")  # three round blobs
