"""Single E- and M-steps on whole arrays, for teaching and step-by-step mode."""

from __future__ import annotations

import numpy as np

from ..config import ALGORITHMS, DEFAULT_VARIANCE_FLOOR
from ..engine.mstep import (
    candidates_per_block,
    estimate_parameters,
    reseed_empty,
    shared_variance,
    worst_rows,
)
from ..engine.passes import stats_pass
from ..engine.prepared import prepare
from ..errors import InvalidConfigError, InvalidDataError
from ..model.families import normalise_covariance_type
from ..model.kernels import make_kernel
from ..model.mixture import MixtureModel


def e_step(model: MixtureModel, X: np.ndarray) -> tuple[np.ndarray, float]:
    """Responsibilities (N, K) under ``model`` and its total log-likelihood on X."""
    resp, log_dens = model.posterior(X)
    return resp, float(log_dens.sum())


def hard_responsibilities(resp: np.ndarray) -> np.ndarray:
    """One-hot (N, K) of the most probable component of each row."""
    out = np.zeros_like(resp)
    out[np.arange(len(resp)), resp.argmax(axis=1)] = 1.0
    return out


def m_step(
    X: np.ndarray,
    resp: np.ndarray,
    covariance_type: str = "full",
    variance_floor: float = DEFAULT_VARIANCE_FLOOR,
    sample_weight: np.ndarray | None = None,
    *,
    algorithm: str = "em",
    sigma: float | None = None,
    equal_weights: bool = True,
    noise_volume: float = 0.0,
) -> MixtureModel:
    """Maximum-likelihood parameters given responsibilities ``resp`` (N, K).

    ``algorithm="hard_em"`` first makes ``resp`` one-hot; ``"kmeans"`` returns
    the k-means mixture (equal weights, one shared spherical variance);
    ``"soft_kmeans"`` keeps every covariance at ``sigma``² (required) and,
    with ``equal_weights``, the weights at 1/K. ``noise_volume`` > 0 keeps a
    noise component of that volume: its weight is what ``resp`` leaves,
    π_0 = 1 - Σ_n w_n Σ_k resp_nk / Σ_n w_n.
    A component without data is moved to the row it explains least badly.
    """
    if algorithm not in ALGORITHMS:
        raise InvalidConfigError(
            f"unknown algorithm {algorithm!r}; choose one of {', '.join(ALGORITHMS)}.")
    covariance_type = normalise_covariance_type(covariance_type)
    data = prepare(X, sample_weight, min_rows=2)
    resp = np.asarray(resp, dtype=float)
    if resp.ndim != 2 or resp.shape[0] != data.n_rows:
        raise InvalidDataError(
            f"resp must be (N, K) with N={data.n_rows} rows, got shape {resp.shape}.")
    if algorithm == "soft_kmeans" and (sigma is None or not sigma > 0):
        raise InvalidConfigError("soft k-means' M-step needs sigma, the fixed spread (> 0).")
    if algorithm in ("hard_em", "kmeans"):
        resp = hard_responsibilities(resp)
    kind = "spherical" if algorithm in ("kmeans", "soft_kmeans") else covariance_type
    kernel = make_kernel(data.n_features, resp.shape[1], kind)
    acc = stats_pass(data, kernel, lambda a, b, out: np.copyto(out, resp[a:b].T) or out)
    total_weight, total_scatter = data.total_weight, (
        data.total_scatter() if kind == "tied" else None)
    noise_weight = 0.0
    if noise_volume > 0:
        q0 = np.clip(1.0 - resp.sum(axis=1), 0.0, 1.0)
        w0 = q0 if data.sample_weight is None else q0 * data.sample_weight
        noise_weight = float(w0.sum() / data.total_weight)
        total_weight -= float(w0.sum())
        if total_scatter is not None:
            xc = data.X - data.centre
            total_scatter = total_scatter - (xc * w0[:, None]).T @ xc
    params = estimate_parameters(
        kernel.to_stats(acc), kind, total_weight=total_weight, n_rows=data.n_rows,
        metric=data.floor_metric(kind), variance_floor=variance_floor,
        total_scatter=total_scatter)
    reseed_empty(params, kind, _candidates(data, params, kind),
                 lambda i: data.X[i] - data.centre, data.n_rows)
    if algorithm == "kmeans":
        return _kmeans_model(data, params, resp, variance_floor)
    if algorithm == "soft_kmeans":
        k = resp.shape[1]
        weights = np.full(k, 1.0 / k) if equal_weights else params.weights
        return MixtureModel(weights, params.means + data.centre, np.full(k, sigma ** 2),
                            "spherical")
    return MixtureModel(params.weights * (1.0 - noise_weight), params.means + data.centre,
                        params.covariances, kind, noise_weight=noise_weight,
                        noise_volume=noise_volume)


def _candidates(data, params, kind) -> list[tuple[float, int]]:
    """Rows worst explained by the components that kept data (the engine's rule)."""
    if not params.empty:
        return []
    alive = [k for k in range(len(params.weights)) if k not in params.empty]
    if not alive:
        return [(0.0, i) for i in range(data.n_rows)]
    covariances = params.covariances if kind == "tied" else params.covariances[alive]
    others = MixtureModel(params.weights[alive] / params.weights[alive].sum(),
                          params.means[alive] + data.centre, covariances, kind)
    scores = others.score_samples(data.X)
    return worst_rows(scores, 0, candidates_per_block(len(params.weights), data.n_rows,
                                                      data.n_rows))


def _kmeans_model(data, params, resp, variance_floor) -> MixtureModel:
    k = resp.shape[1]
    means = params.means + data.centre
    labels = resp.argmax(axis=1)
    diff = data.X - means[labels]
    sq = np.einsum("nd,nd->n", diff, diff)
    sse = float(sq.sum() if data.sample_weight is None else data.sample_weight @ sq)
    var = shared_variance(sse, data.total_weight, data.n_features, data.scale, variance_floor)
    return MixtureModel(np.full(k, 1.0 / k), means, np.full(k, var), "spherical")
