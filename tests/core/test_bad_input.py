"""Bad input raises a ValueError subclass whose message says what to fix."""

import subprocess
import sys

import numpy as np
import pytest

from gmm_studio.core import (
    FitConfig,
    GMMStudioError,
    InvalidConfigError,
    InvalidDataError,
    InvalidModelError,
    MixtureModel,
    fit,
)

from .helpers import faithful

X = faithful()


@pytest.mark.parametrize("data, config, weights, pattern", [
    (np.where(np.arange(544).reshape(272, 2) == 5, np.nan, X), {}, None, "NaN.*row 2"),
    (np.where(np.arange(544).reshape(272, 2) == 7, np.inf, X), {}, None, "infinite.*row 3"),
    (X[:5], {"n_components": 6}, None, "K=6 components need at least 6 rows.*5 rows"),
    (X[:1], {"n_components": 1}, None, "1 row"),
    (X[:, 0], {}, None, "2-D"),
    (X[None], {}, None, "2-D"),
    (np.array([["a", "b"]] * 5), {}, None, "numeric"),
    (X, {}, -np.ones(272), "sample_weight must be >= 0"),
    (X, {}, np.zeros(272), "all sample weights are zero"),
    (X, {}, np.ones(3), "one value per row"),
    (X[:, :0], {}, None, "no feature"),
])
def test_bad_data(data, config, weights, pattern):
    with pytest.raises(InvalidDataError, match=pattern):
        fit(data, FitConfig(**config), sample_weight=weights)


@pytest.mark.parametrize("changes, pattern", [
    ({"algorithm": "dbscan"}, "unknown algorithm 'dbscan'; choose one of em, hard_em, kmeans"),
    ({"covariance_type": "banana"}, "unknown covariance_type 'banana'; choose one of EII"),
    ({"init": "magic"}, "unknown init"),
    ({"n_components": 0}, "n_components must be a whole number >= 1"),
    ({"n_init": 0}, "n_init"),
    ({"tol": -1.0}, "tol"),
    ({"variance_floor": 2.0}, "below 1"),
    ({"variance_floor": float("nan")}, "variance_floor"),
    ({"max_iter": 2.5}, "max_iter"),
])
def test_bad_config(changes, pattern):
    with pytest.raises(InvalidConfigError, match=pattern):
        FitConfig(**changes)


def test_every_error_is_a_value_error():
    for cls in (InvalidDataError, InvalidConfigError, InvalidModelError):
        assert issubclass(cls, GMMStudioError) and issubclass(cls, ValueError)


@pytest.mark.parametrize("patch, pattern", [
    ({"weights": [0.5, 0.6]}, "sum to 1"),
    ({"means": [[0.0, 0.0]]}, "weights must have shape"),
    ({"covariances": [[[1.0, 0.0], [0.0, 1.0]]]}, "shape"),
    ({"covariances": [[[1.0, 2.0], [2.0, 1.0]]] * 2}, "not positive definite"),
    ({"means": [[0.0, float("nan")], [1.0, 1.0]]}, "NaN"),
    ({"covariance_type": "weird"}, "unknown covariance_type"),
    ({"covariances": [[[1.0, 0.5], [0.0, 1.0]]] * 2}, "symmetric"),
])
def test_invalid_model_dict(patch, pattern):
    good = {"covariance_type": "full", "weights": [0.5, 0.5], "means": [[0, 0], [1, 1]],
            "covariances": [[[1, 0], [0, 1]]] * 2}
    with pytest.raises(InvalidModelError, match=pattern):
        MixtureModel.from_dict({**good, **patch})


def test_core_imports_no_qt_and_no_dask():
    code = ("import sys, gmm_studio.core, gmm_studio.cli; "
            "import gmm_studio.core.distributed; "  # Dask only once a dask fit runs
            "bad = [m for m in sys.modules if m.split('.')[0] in "
            "('PySide6', 'pyqtgraph', 'PyQt5', 'PyQt6', 'shiboken6', 'dask', 'distributed')]; "
            "print(bad); sys.exit(1 if bad else 0)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
