"""The engine against R's mclust (test-only oracle, called through Rscript).

mclust names the covariance models by volume, shape and orientation; four of
the fourteen are scikit-learn's: VVV (full), EEE (tied), VVI (diag) and VII
(spherical). For each model: the number of free parameters equals
nMclustParams, the M-step from the same data and responsibilities equals
mclust's mstep(), and log-densities equal dens(); in one dimension the same
for E and V. R and mclust install from Debian
(r-base-core r-cran-mclust); .ci/run installs them, so these run in CI.
"""

import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from gmm_studio.core import m_step
from gmm_studio.core.model.families import MCLUST_NAMES
from gmm_studio.core.model.gaussian import full_covariances

ASSETS = Path(__file__).resolve().parents[2] / "assets"

pytestmark = pytest.mark.skipif(
    shutil.which("Rscript") is None,
    reason="R's mclust oracle needs Rscript (apt-get install r-base-core r-cran-mclust; "
           ".ci/run installs it)")


def rscript(code: str) -> list[list[float]]:
    """Run R code that cat()s lines of numbers; returns them as rows of floats."""
    done = subprocess.run(["Rscript", "-e", "suppressMessages(library(mclust))", "-e", code],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return [[float(v) for v in line.split()] for line in done.stdout.splitlines() if line.strip()]


def test_parameter_counts_equal_nmclustparams():
    from gmm_studio.core.model.gaussian import n_parameters

    grid = [(m, d, k) for m in MCLUST_NAMES for d in (2, 5) for k in (1, 3, 5)]
    grid += [(m, 1, k) for m in ("E", "V") for k in (1, 3, 5)]
    code = "; ".join(f'cat(nMclustParams("{m}", {d}, {k}), "\\n")' for m, d, k in grid)
    for (m, d, k), (expected,) in zip(grid, rscript(code), strict=True):
        assert n_parameters(k, d, m) == int(expected), (m, d, k)


@pytest.fixture(scope="module")
def data_and_resp(tmp_path_factory):
    """Iris (4-D) with soft responsibilities for 3 components, written for R."""
    X = np.loadtxt(ASSETS / "iris.csv", delimiter=",", skiprows=1, usecols=range(4))
    rng = np.random.default_rng(0)
    resp = rng.dirichlet(np.ones(3), size=len(X)) * 0.3
    resp[np.arange(len(X)), np.repeat([0, 1, 2], 50)] += 0.7
    folder = tmp_path_factory.mktemp("mclust")
    np.savetxt(folder / "X.txt", X)
    np.savetxt(folder / "z.txt", resp)
    np.savetxt(folder / "x1.txt", X[:, 2])
    return X, resp, folder


def _mclust_mstep(name: str, data: str, folder) -> list[np.ndarray]:
    rows = rscript(f'''
        X <- as.matrix(read.table("{folder / data}"))
        z <- as.matrix(read.table("{folder / "z.txt"}"))
        ms <- mstep(modelName = "{name}", data = X, z = z,
                    control = emControl(tol = c(1e-5, 1e-14)))
        p <- ms$parameters
        cat(sprintf("%.17g", p$pro), "\\n")
        cat(sprintf("%.17g", as.vector(p$mean)), "\\n")
        s <- if ("{name}" %in% c("E", "V")) p$variance$sigmasq else p$variance$sigma
        cat(sprintf("%.17g", as.vector(s)), "\\n")
        cat(sprintf("%.17g", dens(modelName = "{name}", data = X, parameters = p,
                                  logarithm = TRUE)), "\\n")''')
    return [np.array(r) for r in rows]


def _expected_minus2_loglik(X, resp, means, covariances) -> float:
    """Σ_k [n_k log|Σ_k| + tr(Σ_k⁻¹ W_k)]: what an M-step minimises over Σ."""
    total = 0.0
    for k in range(resp.shape[1]):
        diff = X - means[k]
        scatter = (resp[:, k, None] * diff).T @ diff
        total += resp[:, k].sum() * np.linalg.slogdet(covariances[k])[1]
        total += np.trace(np.linalg.solve(covariances[k], scatter))
    return float(total)


@pytest.mark.parametrize("name", MCLUST_NAMES)
def test_m_step_and_densities_equal_mclust(name, data_and_resp):
    """Every model's M-step equals mclust's, run to a tight inner tolerance.

    mclust's default inner tolerance, sqrt(eps), stops VEE 4e-6 short of its
    optimum, hence tol = 1e-14. For VVE mclust stops at a point that is not
    stationary (our rotations started from its answer move on); there ours
    must be strictly better and the rest still agree.
    """
    X, resp, folder = data_and_resp
    pro, mean, sigma, log_dens = _mclust_mstep(name, "X.txt", folder)
    d, k = X.shape[1], resp.shape[1]
    ours = m_step(X, resp, name, variance_floor=0.0)
    np.testing.assert_allclose(ours.weights, pro, rtol=1e-6)
    np.testing.assert_allclose(ours.means, mean.reshape(k, d), rtol=1e-6)    # R: d x G
    sigma = sigma.reshape(k, d, d)                                            # R: d x d x G
    full = full_covariances(ours.covariances, ours.covariance_type, k, d)
    theirs_obj = _expected_minus2_loglik(X, resp, ours.means, sigma)
    ours_obj = _expected_minus2_loglik(X, resp, ours.means, full)
    assert ours_obj <= theirs_obj + 1e-10 * abs(theirs_obj)
    if name == "VVE":
        assert ours_obj < theirs_obj - 0.1
        axes = np.linalg.eigh(full[0])[1]
        for cov in full:    # one orientation shared by every component
            rotated = axes.T @ cov @ axes
            assert np.abs(rotated - np.diag(np.diag(rotated))).max() < 1e-9 * np.abs(cov).max()
        return
    np.testing.assert_allclose(full, sigma, rtol=1e-6, atol=1e-10)
    np.testing.assert_allclose(ours.score_samples(X), log_dens, rtol=1e-6)


@pytest.mark.parametrize("name", ["E", "V"])
def test_one_dimensional_models_equal_mclust(name, data_and_resp):
    X, resp, folder = data_and_resp
    pro, mean, sigmasq, log_dens = _mclust_mstep(name, "x1.txt", folder)
    ours = m_step(X[:, 2:3], resp, name, variance_floor=0.0)
    assert ours.mclust_name == name
    np.testing.assert_allclose(ours.weights, pro, rtol=1e-6)
    np.testing.assert_allclose(ours.means[:, 0], mean, rtol=1e-6)
    var = full_covariances(ours.covariances, ours.covariance_type, 3, 1)[:, 0, 0]
    np.testing.assert_allclose(var, np.broadcast_to(sigmasq, (3,)), rtol=1e-6)
    np.testing.assert_allclose(ours.score_samples(X[:, 2:3]), log_dens, rtol=1e-6)


@pytest.fixture(scope="module")
def diabetes(tmp_path_factory):
    """mclust's diabetes data (glucose, insulin, sspg), exported from R."""
    path = tmp_path_factory.mktemp("mclust") / "diabetes.csv"
    rscript(f'data(diabetes); write.csv(diabetes[, -1], "{path}", row.names = FALSE)')
    return np.loadtxt(path, delimiter=",", skiprows=1), path


@pytest.mark.parametrize("k", [2, 3, 5])
def test_wards_start_merges_as_mclusts_eii_hierarchy(k, diabetes):
    from gmm_studio.core.analysis.metrics import adjusted_rand_index
    from gmm_studio.core.engine.prepared import prepare
    from gmm_studio.core.engine.starts import hierarchical_labels

    X, path = diabetes
    ours = hierarchical_labels(prepare(X), k, np.random.default_rng(0), "ward")
    theirs = np.array(rscript(f'''
        X <- as.matrix(read.csv("{path}"))
        cat(hclass(hc(X, modelName = "EII", use = "STD"), {k}), "\\n")''')[0])
    assert adjusted_rand_index(ours, theirs) == pytest.approx(1.0)


def test_a_hierarchical_start_reaches_mclusts_optimum_where_restarts_did_not(diabetes):
    from gmm_studio.core import FitConfig, fit

    X, path = diabetes
    (mclust_ll,), = rscript(f'''
        X <- as.matrix(read.csv("{path}"))
        cat(sprintf("%.10f", Mclust(X, G = 3, modelNames = "VVV", verbose = FALSE)$loglik))''')
    three_kmeans = fit(X, FitConfig(n_components=3, n_init=3))
    hierarchical = fit(X, FitConfig(n_components=3, init="hierarchical", n_init=3))
    assert three_kmeans.log_likelihood < mclust_ll - 10          # the issue's -2324.8
    assert hierarchical.log_likelihood >= mclust_ll - 1e-3       # mclust: -2303.50
    assert hierarchical.best_restart == 0                        # the hierarchical run won


@pytest.fixture(scope="module")
def breast_cancer(tmp_path_factory):
    """scikit-learn's breast cancer data (569 x 30), written as CSV for R."""
    from sklearn.datasets import load_breast_cancer

    X = load_breast_cancer().data
    path = tmp_path_factory.mktemp("bc") / "bc.csv"
    np.savetxt(path, X, delimiter=",", header=",".join(f"x{j}" for j in range(30)),
               comments="", fmt="%.10g")
    return np.loadtxt(path, delimiter=",", skiprows=1), path


def test_the_model_based_start_reaches_mclusts_optimum_in_thirty_columns(breast_cancer):
    """VVV with 3 components on 569 x 30: Ward's start and 20 k-means++ starts fall short."""
    from gmm_studio.core import FitConfig, fit

    X, path = breast_cancer
    (mclust_ll,), = rscript(f'''
        X <- as.matrix(read.csv("{path}"))
        cat(sprintf("%.6f", Mclust(X, G = 3, modelNames = "VVV", verbose = FALSE)$loglik))''')
    from gmm_studio.core.analysis.metrics import components_at_floor
    from gmm_studio.core.engine.prepared import prepare

    config = FitConfig(n_components=3, init="hierarchical")
    ours = fit(X, config)
    assert ours.log_likelihood >= mclust_ll                      # 24,905.9 against 24,864.0
    assert mclust_ll > 24_800.0                                  # the optimum Ward's start missed
    floored = components_at_floor(ours.model, prepare(X).floor_metric("full"),
                                  config.variance_floor)
    assert not floored.any()                                     # a real optimum, not the floor's


def test_a_four_model_sweep_in_thirty_columns_is_never_worse_than_mclusts(breast_cancer):
    from gmm_studio.core.analysis.selection import select

    X, path = breast_cancer
    (best_name, best_bic), = [line for line in _rscript_text(f'''
        X <- as.matrix(read.csv("{path}"))
        b <- mclustBIC(X, G = 1:9, modelNames = c("VVV", "EEE", "VVI", "VII"), verbose = FALSE)
        cat(names(pickBIC(b, 1)), sprintf("%.6f", -max(b, na.rm = TRUE)), "\\n")''')]
    rows, best = select(X, list(range(1, 10)), ["full", "tied", "diag", "spherical"])
    assert best.bic <= float(best_bic) + 5e-3, (best.model, best.k, best_name, best_bic)


MCLUST_DATA = ("faithful", "iris", "diabetes", "banknote", "thyroid", "chevron", "wreath",
               "acidity")


@pytest.mark.parametrize("name", MCLUST_DATA)
def test_the_default_sweep_is_never_worse_than_mclust(name, tmp_path):
    """select's default search over the fourteen models, K = 1..9, against mclustBIC.

    BIC in GMM Studio's sign (smaller is better); equal optima agree to a
    few 1e-3, the tolerance allowed for the two convergence rules.
    """
    from gmm_studio.core import COVARIANCE_TYPES
    from gmm_studio.core.analysis.selection import select

    path = tmp_path / f"{name}.csv"
    (best_name, best_bic), = [line for line in _rscript_text(f'''
        data(list = "{name}"); d <- Filter(is.numeric, as.data.frame(get("{name}")))
        write.csv(d, "{path}", row.names = FALSE)
        b <- mclustBIC(as.matrix(d), G = 1:9, verbose = FALSE)
        cat(names(pickBIC(b, 1)), sprintf("%.6f", -max(b, na.rm = TRUE)), "\\n")''')]
    X = np.loadtxt(path, delimiter=",", skiprows=1, ndmin=2)
    rows, best = select(X, list(range(1, 10)), COVARIANCE_TYPES)
    assert best.bic <= float(best_bic) + 5e-3, (best.model, best.k, best_name, best_bic)
    assert len(rows) == 9 * (2 if X.shape[1] == 1 else 14)


def test_the_default_sweep_on_wine_is_never_worse_than_mclust():
    """The bundled UCI wine data (178 x 13): mclust's best is VVE,3 at 6849.39."""
    import pandas as pd

    from gmm_studio.core import COVARIANCE_TYPES
    from gmm_studio.core.analysis.selection import select

    path = ASSETS / "wine.csv"
    (best_name, best_bic), = [line for line in _rscript_text(f'''
        X <- as.matrix(Filter(is.numeric, read.csv("{path}")))
        b <- mclustBIC(X, G = 1:9, verbose = FALSE)
        cat(names(pickBIC(b, 1)), sprintf("%.6f", -max(b, na.rm = TRUE)), "\\n")''')]
    X = pd.read_csv(path).select_dtypes("number").to_numpy(float)
    rows, best = select(X, list(range(1, 10)), COVARIANCE_TYPES)
    assert best.bic <= float(best_bic) + 5e-3, (best.model, best.k, best_name, best_bic)


def _rscript_text(code: str) -> list[list[str]]:
    done = subprocess.run(["Rscript", "-e", "suppressMessages(library(mclust))", "-e", code],
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    return [line.split() for line in done.stdout.splitlines() if line.strip()]


def test_noise_component_counts_and_e_step_equal_mclust(tmp_path):
    """nMclustParams(noise = TRUE) and estep() with Vinv: the noise's count and posteriors."""
    from gmm_studio.core import MixtureModel

    code = "; ".join(f'cat(nMclustParams("{m}", 2, 3, noise = TRUE), "\\n")'
                     for m in ("VVV", "EEE", "VEV"))
    counts = [int(r[0]) for r in rscript(code)]
    rng = np.random.default_rng(0)
    X = np.vstack([rng.normal(0, 1, (60, 2)), rng.normal(4, 0.7, (60, 2)),
                   rng.uniform(-8, 10, (15, 2))])
    volume = float(np.prod(np.ptp(X, axis=0)))
    cov = np.array([[[1.0, 0.2], [0.2, 1.5]], [[0.6, -0.1], [-0.1, 0.5]]])
    model = MixtureModel(np.array([0.45, 0.45]), np.array([[0.0, 0.1], [4.0, 3.8]]), cov,
                         "full", noise_weight=0.1, noise_volume=volume)
    for name, expected in zip(("VVV", "EEE", "VEV"), counts, strict=True):
        m = MixtureModel(np.full(3, 0.3), np.zeros((3, 2)),
                         np.stack([np.eye(2)] * 3) if name != "EEE" else np.eye(2),
                         {"VVV": "full", "EEE": "tied", "VEV": "VEV"}[name],
                         noise_weight=0.1, noise_volume=1.0)
        assert m.n_parameters == expected, name
    np.savetxt(tmp_path / "X.txt", X)
    rows = rscript(f'''
        X <- as.matrix(read.table("{tmp_path / "X.txt"}"))
        sigma <- array(c({", ".join(map(str, cov[0].ravel().tolist()))},
                         {", ".join(map(str, cov[1].ravel().tolist()))}), dim = c(2, 2, 2))
        p <- list(pro = c(0.45, 0.45, 0.1), mean = matrix(c(0, 0.1, 4, 3.8), 2),
                  variance = list(modelName = "VVV", d = 2, G = 2, sigma = sigma,
                                  cholsigma = array(c(chol(sigma[, , 1]),
                                                      chol(sigma[, , 2])), dim = c(2, 2, 2))),
                  Vinv = {1.0 / volume!r})
        e <- estep(modelName = "VVV", data = X, parameters = p)
        cat(sprintf("%.17g", e$loglik), "\\n")
        cat(sprintf("%.17g", e$z[, 3]), "\\n")''')
    assert model.log_likelihood(X) == pytest.approx(rows[0][0], rel=1e-12)
    np.testing.assert_allclose(model.noise_posterior(X), rows[1], rtol=1e-10, atol=1e-14)
