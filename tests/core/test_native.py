"""The compiled loops (core/_native.c) against their NumPy twins, and that they are built.

The project's install compiles them (pyproject's ext-modules); an install
without a compiler falls back to NumPy, so a missing module would only slow
things down silently -- here it fails.
"""

from __future__ import annotations

import numpy as np
import pytest

from gmm_studio.core._native_loops import native
from gmm_studio.core.engine import parsimonious
from gmm_studio.core.model import gaussian


def test_the_compiled_module_is_built():
    assert native is not None, "gmm_studio.core._native was not built: reinstall with a C compiler"


def _runs(rng, d: int, sizes: list[int]):
    """Scatter (C, D, D), 1/eigenvalues (C, D), axes (R, D, D) and run ids (C,)."""
    c = sum(sizes)
    a = rng.normal(size=(c, d, d + 2))
    scatter = a @ np.swapaxes(a, 1, 2)
    inv_eig = 1.0 / rng.uniform(0.05, 4.0, size=(c, d))
    orient = np.linalg.qr(rng.normal(size=(len(sizes), d, d)))[0].copy()
    return scatter, inv_eig, orient, np.repeat(np.arange(len(sizes)), sizes)


@pytest.mark.parametrize("d", [1, 2, 3, 7, 30])
def test_sweep_turns_the_planes_numpy_turns(d):
    rng = np.random.default_rng(d)
    sizes = [3, 1, 6, 2]
    scatter, inv_eig, orient, run = _runs(rng, d, sizes)
    active = np.array([True, True, False, True])
    starts = np.r_[0, np.cumsum(sizes)[:-1]]

    def run_sum(values):
        return np.add.reduceat(values, starts, axis=0)

    by_numpy, compiled = orient.copy(), orient.copy()
    for _ in range(3):     # sweeps compound: a wrong angle would drift
        parsimonious._sweep_rounds(scatter, inv_eig, by_numpy, run_sum, run, active)
        parsimonious.compiled_sweep(scatter, inv_eig, compiled, run, active)
    np.testing.assert_allclose(compiled, by_numpy, rtol=0, atol=1e-11)
    np.testing.assert_array_equal(compiled[2], orient[2])       # inactive: untouched
    # Still orthonormal axes, and the objective Σ_k tr(Oᵀ W_k O Λ_k) went down.
    eye = np.eye(d)
    np.testing.assert_allclose(np.swapaxes(compiled, 1, 2) @ compiled,
                               np.broadcast_to(eye, compiled.shape), atol=1e-12)

    def objective(axes):
        per = axes[run]
        return np.einsum("kji,kjl,kli,ki->", per, scatter, per, inv_eig)

    if d > 1:
        assert objective(compiled) < objective(orient)


def test_sweep_falls_back_to_numpy_for_runs_out_of_order():
    rng = np.random.default_rng(5)
    scatter, inv_eig, orient, _ = _runs(rng, 4, [2, 2])
    run = np.array([1, 0, 1, 0])        # not adjacent: the compiled sweep cannot take it

    def run_sum(values):
        return np.stack([values[run == r].sum(axis=0) for r in range(2)])

    expected, got = orient.copy(), orient.copy()
    parsimonious._sweep_rounds(scatter, inv_eig, expected, run_sum, run, np.ones(2, bool))
    parsimonious.sweep_planes(scatter, inv_eig, got, run_sum, run, np.ones(2, bool))
    np.testing.assert_allclose(got, expected, atol=1e-13)


@pytest.mark.parametrize("d", [1, 2, 5, 30])
def test_inverse_lower_matches_numpy(d):
    rng = np.random.default_rng(d)
    a = rng.normal(size=(9, d, d + 3))
    chol = np.linalg.cholesky(a @ np.swapaxes(a, 1, 2))
    got = gaussian.inverse_lower(chol)
    np.testing.assert_allclose(got, gaussian._inverse_lower_rows(chol), rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(got @ chol, np.broadcast_to(np.eye(d), chol.shape), atol=1e-10)
    assert np.all(np.triu(got, 1) == 0.0)


def test_not_positive_definite_marks_what_numpy_marks():
    rng = np.random.default_rng(2)
    a = rng.normal(size=(12, 6, 8))
    stack = a @ np.swapaxes(a, 1, 2)
    stack[3] = -stack[3]                          # negative definite
    stack[5, 2, 2] = -1.0                         # an indefinite diagonal
    stack[7] = np.outer(np.arange(6.0), np.arange(6.0))    # rank one: a zero pivot
    stack[9, 4, 4] = np.nan
    got = gaussian.not_positive_definite(stack)
    np.testing.assert_array_equal(got, gaussian._not_positive_definite_columns(stack))
    assert got.tolist() == [i in (3, 5, 7, 9) for i in range(12)]
